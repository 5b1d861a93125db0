//! Set-up shared by the pod worker tests (`worker.rs`, `images.rs`): a worker's
//! dependencies without an API server, statuses captured by `MemoryPodApi`, events by
//! `MemoryEvents`, and waiting for a status.
// Each test binary compiles its own copy and uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use refkube_kubelet::config::Timings;
use refkube_kubelet::events::MemoryEvents;
use refkube_kubelet::ipam::IpAllocator;
use refkube_kubelet::logs::LogStore;
use refkube_kubelet::podapi::MemoryPodApi;
use refkube_kubelet::runtime::Runtime;
use refkube_kubelet::runtime::process::ProcessRuntime;
use refkube_kubelet::worker::{PodWorker, WorkerDeps};

pub struct Harness {
    pub api: MemoryPodApi,
    pub events: MemoryEvents,
    pub logs: Arc<LogStore>,
    pub deps: Arc<WorkerDeps>,
}

/// Back-offs and resyncs short enough for a test to see several of them.
fn timings() -> Timings {
    Timings {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        spec_second: Duration::from_millis(50),
        pod_resync: Duration::from_millis(50),
        ..Timings::default()
    }
}

/// Worker dependencies over `runtime`, pod IPs from `cidr` (a distinct one per test, so
/// that tests running at the same time do not share addresses).
pub fn harness(runtime: Arc<dyn Runtime>, cidr: &str) -> Harness {
    let api = MemoryPodApi::new();
    let events = MemoryEvents::new();
    let logs = Arc::new(LogStore::new(1000));
    let deps = Arc::new(WorkerDeps {
        runtime,
        ipam: Arc::new(Mutex::new(IpAllocator::new(cidr.parse().unwrap()))),
        logs: logs.clone(),
        events: Arc::new(events.clone()),
        api: Arc::new(api.clone()),
        timings: timings(),
        node_ip: "127.0.1.1".parse().unwrap(),
        volumes: None,
        services: refkube_kubelet::services::Services::none(),
    });
    Harness {
        api,
        events,
        logs,
        deps,
    }
}

/// A harness over the process runtime, with the test build's `agnhost`.
pub fn process(cidr: &str) -> Harness {
    let agnhost = PathBuf::from(env!("CARGO_BIN_EXE_agnhost"));
    harness(Arc::new(ProcessRuntime::new(vec![agnhost])), cidr)
}

pub fn pod(yaml: &str) -> Pod {
    serde_yaml::from_str(yaml).unwrap()
}

pub fn phase(s: &PodStatus) -> &str {
    s.phase.as_deref().unwrap_or_default()
}

/// Marks `p` deleted with the default 30 s grace period, as the API server does, and
/// waits for its worker to finish.
pub async fn delete_and_join(w: PodWorker, mut p: Pod) {
    p.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
    p.metadata.deletion_grace_period_seconds = Some(30);
    w.update(p);
    tokio::time::timeout(Duration::from_secs(10), w.join())
        .await
        .unwrap();
}

impl Harness {
    /// Waits until the latest written status satisfies `pred`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&PodStatus) -> bool) -> PodStatus {
        let mut rx = self.api.subscribe();
        let waited = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(s) = rx.borrow_and_update().clone().filter(|s| pred(s)) {
                    return s;
                }
                rx.changed().await.unwrap();
            }
        })
        .await;
        match waited {
            Ok(s) => s,
            Err(_) => panic!(
                "timed out waiting for {what}; last status: {:#?}",
                self.api.statuses().last()
            ),
        }
    }

    pub fn event_messages(&self, reason: &str) -> Vec<String> {
        self.events
            .events()
            .into_iter()
            .filter(|e| e.reason == reason)
            .map(|e| e.message)
            .collect()
    }

    /// The lines a container has written so far.
    pub fn log(&self, pod: &str, container: &str) -> Vec<String> {
        let log = self.logs.get("default", pod, container, false).unwrap();
        log.read_from(0).lines.into_iter().map(|l| l.text).collect()
    }
}
