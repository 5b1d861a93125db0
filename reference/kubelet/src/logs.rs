//! Container logs kept by the kubelet: a bounded in-memory ring per container instance,
//! the current and the previous instance per container (what `kubectl logs` and
//! `kubectl logs --previous` read). Entry points: [`LogStore`], [`ContainerLog`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;

/// One logged line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the runtime read it.
    pub time: Timestamp,
    /// The line, without its newline.
    pub text: String,
}

#[derive(Debug, Default)]
struct Ring {
    lines: VecDeque<LogLine>,
    /// Sequence number of `lines[0]`.
    first_seq: u64,
    closed: bool,
}

/// The log of one container instance. Writers push lines; readers take snapshots from
/// a sequence number and wait for more through [`ContainerLog::subscribe`].
#[derive(Debug)]
pub struct ContainerLog {
    ring: Mutex<Ring>,
    capacity: usize,
    version: watch::Sender<u64>,
}

/// Lines from a read, and where to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    /// The lines.
    pub lines: Vec<LogLine>,
    /// The sequence number to read from next.
    pub next: u64,
    /// Whether the instance has exited (no more lines will come).
    pub closed: bool,
}

impl ContainerLog {
    /// An empty log keeping at most `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        ContainerLog {
            ring: Mutex::new(Ring::default()),
            capacity: capacity.max(1),
            version: watch::channel(0).0,
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a line.
    pub fn push(&self, text: impl Into<String>) {
        let mut ring = self.ring();
        ring.lines.push_back(LogLine {
            time: Timestamp::now(),
            text: text.into(),
        });
        while ring.lines.len() > self.capacity {
            ring.lines.pop_front();
            ring.first_seq += 1;
        }
        drop(ring);
        self.version.send_modify(|v| *v += 1);
    }

    /// Marks the instance as exited; followers stop after the last line.
    pub fn close(&self) {
        self.ring().closed = true;
        self.version.send_modify(|v| *v += 1);
    }

    /// Lines from sequence `from` on (older, dropped lines are skipped).
    pub fn read_from(&self, from: u64) -> LogChunk {
        let ring = self.ring();
        let start = from.saturating_sub(ring.first_seq) as usize;
        let lines: Vec<LogLine> = ring.lines.iter().skip(start).cloned().collect();
        LogChunk {
            next: ring.first_seq + ring.lines.len() as u64,
            lines,
            closed: ring.closed,
        }
    }

    /// The sequence number `tail` lines before the end (`tailLines`).
    pub fn tail_start(&self, tail: usize) -> u64 {
        let ring = self.ring();
        let end = ring.first_seq + ring.lines.len() as u64;
        end.saturating_sub(tail as u64).max(ring.first_seq)
    }

    /// A receiver that changes whenever a line is pushed or the log closes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

#[derive(Debug, Clone)]
struct Entry {
    uid: String,
    current: Arc<ContainerLog>,
    previous: Option<Arc<ContainerLog>>,
}

/// All container logs on the node, by namespace, pod name and container name.
#[derive(Debug)]
pub struct LogStore {
    entries: Mutex<HashMap<(String, String, String), Entry>>,
    capacity: usize,
}

impl LogStore {
    /// A store keeping `capacity` lines per instance.
    pub fn new(capacity: usize) -> Self {
        LogStore {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Opens the log of a new instance of a container; the current one becomes the
    /// previous one. A pod of the same name with a new UID starts over.
    pub fn new_instance(
        &self,
        namespace: &str,
        pod: &str,
        uid: &str,
        container: &str,
    ) -> Arc<ContainerLog> {
        let log = Arc::new(ContainerLog::new(self.capacity));
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = entries
            .get(&key)
            .filter(|e| e.uid == uid)
            .map(|e| e.current.clone());
        entries.insert(
            key,
            Entry {
                uid: uid.to_string(),
                current: log.clone(),
                previous,
            },
        );
        log
    }

    /// The current (or previous) instance's log.
    pub fn get(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Option<Arc<ContainerLog>> {
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(&key)?;
        if previous {
            entry.previous.clone()
        } else {
            Some(entry.current.clone())
        }
    }

    /// Whether any container of the pod has logs.
    pub fn has_pod(&self, namespace: &str, pod: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.keys().any(|(ns, p, _)| ns == namespace && p == pod)
    }

    /// Drops the logs of a pod that is gone.
    pub fn remove_pod(&self, namespace: &str, pod: &str, uid: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|(ns, p, _), e| !(ns == namespace && p == pod && e.uid == uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_lines_and_reads_continue_by_sequence() {
        let log = ContainerLog::new(3);
        for i in 0..5 {
            log.push(format!("line {i}"));
        }
        let chunk = log.read_from(0);
        let texts: Vec<&str> = chunk.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["line 2", "line 3", "line 4"]);
        assert_eq!(chunk.next, 5);
        log.push("line 5");
        assert_eq!(log.read_from(chunk.next).lines[0].text, "line 5");
        assert_eq!(log.tail_start(2), 4);
    }

    #[test]
    fn a_new_instance_turns_the_current_log_into_the_previous_one() {
        let store = LogStore::new(10);
        let first = store.new_instance("ns", "p", "u1", "c");
        first.push("from the first run");
        let second = store.new_instance("ns", "p", "u1", "c");
        second.push("from the second run");
        let prev = store.get("ns", "p", "c", true).unwrap();
        assert_eq!(prev.read_from(0).lines[0].text, "from the first run");
        assert_eq!(
            store.get("ns", "p", "c", false).unwrap().read_from(0).lines[0].text,
            "from the second run"
        );
    }

    #[test]
    fn a_recreated_pod_with_a_new_uid_has_no_previous_log() {
        let store = LogStore::new(10);
        store.new_instance("ns", "p", "u1", "c");
        store.new_instance("ns", "p", "u2", "c");
        assert!(store.get("ns", "p", "c", true).is_none());
        store.remove_pod("ns", "p", "u2");
        assert!(!store.has_pod("ns", "p"));
    }
}
