//! End-to-end tests of the scheduler driver against a live API server — any API server:
//! the reference (`refkube apiserver --kubeconfig /tmp/kc`) or a real cluster. They are
//! `#[ignore]`d because plain `cargo test` must not need one; run them with
//!
//! ```text
//! KUBECONFIG=/tmp/kc cargo test -p refkube-scheduler --test live_cluster -- --ignored --test-threads=1
//! ```
//!
//! Each test uses its own scheduler name, lease and node label, so it never touches pods
//! of other schedulers, and it deletes what it created.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use refkube_common::leader_election::LeaderElectionConfig;
use refkube_scheduler::{SchedulerConfig, run};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const NS: &str = "default";

struct Run {
    id: String,
    client: Client,
}

impl Run {
    async fn new() -> Run {
        let client = Client::try_default()
            .await
            .expect("KUBECONFIG must point at a live API server");
        Run {
            id: uuid_ish(),
            client,
        }
    }

    fn scheduler_name(&self) -> String {
        format!("e2e-{}", self.id)
    }

    fn config(&self, identity: &str) -> SchedulerConfig {
        SchedulerConfig::default()
            .scheduler_name(self.scheduler_name())
            .backoff(Duration::from_millis(100), Duration::from_millis(500))
            .leader_election(
                LeaderElectionConfig::default()
                    .lease(NS, format!("lease-{}", self.id))
                    .identity(identity)
                    .lease_duration(Duration::from_secs(2))
                    .renew_deadline(Duration::from_millis(1500))
                    .retry_period(Duration::from_millis(200)),
            )
            .secondary_cache_sync_timeout(Duration::from_secs(2))
    }

    fn start(&self, identity: &str) -> (CancellationToken, JoinHandle<()>) {
        let stop = CancellationToken::new();
        let (config, client, s) = (self.config(identity), self.client.clone(), stop.clone());
        let handle = tokio::spawn(async move {
            run(config, client, s.cancelled_owned()).await.unwrap();
        });
        (stop, handle)
    }

    async fn node(&self, name: &str, cpu: &str, memory: &str) {
        let api: Api<Node> = Api::all(self.client.clone());
        let node: Node = serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name, "e2e-run": self.id}}}))
        .unwrap();
        api.create(&PostParams::default(), &node).await.unwrap();
        let status = json!({"status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }

    async fn pod(&self, name: &str, cpu: &str) -> Pod {
        self.pod_with(name, cpu, json!({}), json!({})).await
    }

    async fn pod_with(
        &self,
        name: &str,
        cpu: &str,
        labels: serde_json::Value,
        affinity: serde_json::Value,
    ) -> Pod {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
            "spec": {"schedulerName": self.scheduler_name(), "nodeSelector": {"e2e-run": self.id},
                "affinity": affinity,
                "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}}))
        .unwrap();
        api.create(&PostParams::default(), &pod).await.unwrap()
    }

    async fn cleanup(&self, nodes: &[&str], pods: &[&str]) {
        let na: Api<Node> = Api::all(self.client.clone());
        for n in nodes {
            let _ = na.delete(n, &DeleteParams::default()).await;
        }
        let pa: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        for p in pods {
            let _ = pa.delete(p, &DeleteParams::default().grace_period(0)).await;
        }
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), NS);
        let _ = leases
            .delete(&format!("lease-{}", self.id), &DeleteParams::default())
            .await;
    }

    async fn node_of(&self, pod: &str) -> Option<String> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        api.get(pod).await.ok()?.spec?.node_name
    }

    async fn events_for(&self, pod: &str, reason: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), NS);
        let list = api.list(&ListParams::default()).await.unwrap();
        list.items
            .into_iter()
            .filter(|e| {
                e.involved_object.name.as_deref() == Some(pod)
                    && e.reason.as_deref() == Some(reason)
            })
            .collect()
    }
}

fn uuid_ish() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}", nanos % 0xffff_ffff)
}

/// Polls `check` every 50 ms until it returns Some, or panics after `within`.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs a live API server (KUBECONFIG); see the file header"]
async fn pods_are_bound_to_the_emptier_node_with_a_scheduled_event() {
    let r = Run::new().await;
    let (busy, empty) = (format!("busy-{}", r.id), format!("empty-{}", r.id));
    r.node(&busy, "2", "4Gi").await;
    r.node(&empty, "2", "4Gi").await;
    let (stop, handle) = r.start("a");
    let first = format!("first-{}", r.id);
    r.pod(&first, "1500m").await;
    let node = eventually(Duration::from_secs(10), "first pod bound", || {
        r.node_of(&first)
    })
    .await;
    let second = format!("second-{}", r.id);
    r.pod(&second, "100m").await;
    let node2 = eventually(Duration::from_secs(10), "second pod bound", || {
        r.node_of(&second)
    })
    .await;
    assert_ne!(node, node2, "the second pod should go to the emptier node");
    let events = eventually(Duration::from_secs(5), "Scheduled event", || async {
        let e = r.events_for(&second, "Scheduled").await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(
        events[0].message.as_deref(),
        Some(format!("Successfully assigned {NS}/{second} to {node2}").as_str())
    );
    stop.cancel();
    handle.await.unwrap();
    r.cleanup(&[&busy, &empty], &[&first, &second]).await;
}

#[tokio::test]
#[ignore = "needs a live API server (KUBECONFIG); see the file header"]
async fn an_unfitting_pod_gets_the_fit_error_condition_and_event_then_fits_when_a_node_appears() {
    let r = Run::new().await;
    let small = format!("small-{}", r.id);
    r.node(&small, "1", "1Gi").await;
    let (stop, handle) = r.start("a");
    let big = format!("big-{}", r.id);
    r.pod(&big, "2").await;
    let pods: Api<Pod> = Api::namespaced(r.client.clone(), NS);
    let message = eventually(Duration::from_secs(10), "PodScheduled=False", || async {
        let pod = pods.get(&big).await.ok()?;
        let cond = pod
            .status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "PodScheduled")?;
        (cond.status == "False" && cond.reason.as_deref() == Some("Unschedulable"))
            .then_some(cond.message?)
    })
    .await;
    assert!(message.starts_with("0/"), "{message}");
    assert!(message.contains("1 Insufficient cpu"), "{message}");
    assert!(message.contains("preemption: 0/"), "{message}");
    let events = r.events_for(&big, "FailedScheduling").await;
    assert!(
        events
            .iter()
            .any(|e| e.message.as_deref() == Some(message.as_str())
                && e.type_.as_deref() == Some("Warning"))
    );

    // A new node is a cluster event: the pod leaves the unschedulable set and binds.
    let large = format!("large-{}", r.id);
    r.node(&large, "4", "8Gi").await;
    let node = eventually(Duration::from_secs(10), "big pod bound", || r.node_of(&big)).await;
    assert_eq!(node, large);
    stop.cancel();
    handle.await.unwrap();
    r.cleanup(&[&small, &large], &[&big]).await;
}

#[tokio::test]
#[ignore = "needs a live API server (KUBECONFIG); see the file header"]
async fn a_standby_takes_over_when_the_leader_stops_and_no_pod_is_bound_twice() {
    let r = Run::new().await;
    let n = format!("node-{}", r.id);
    r.node(&n, "8", "16Gi").await;
    let (stop_a, handle_a) = r.start("replica-a");
    let leases: Api<Lease> = Api::namespaced(r.client.clone(), NS);
    let lease_name = format!("lease-{}", r.id);
    let holder = |leases: Api<Lease>, name: String| async move {
        leases
            .get(&name)
            .await
            .ok()?
            .spec?
            .holder_identity
            .filter(|h| !h.is_empty())
    };
    let first = eventually(Duration::from_secs(10), "a leader", || {
        holder(leases.clone(), lease_name.clone())
    })
    .await;
    assert_eq!(first, "replica-a");
    let (stop_b, handle_b) = r.start("replica-b");

    let mut names = Vec::new();
    for i in 0..5 {
        let name = format!("p{i}-{}", r.id);
        r.pod(&name, "10m").await;
        names.push(name);
    }
    for name in &names {
        eventually(Duration::from_secs(10), "pod bound by the leader", || {
            r.node_of(name)
        })
        .await;
    }

    // Stop the leader: it releases the lease; the standby acquires it and schedules.
    stop_a.cancel();
    handle_a.await.unwrap();
    let second = eventually(
        Duration::from_secs(2 + 1),
        "the standby to lead",
        || async {
            holder(leases.clone(), lease_name.clone())
                .await
                .filter(|h| h == "replica-b")
        },
    )
    .await;
    assert_eq!(second, "replica-b");
    let late = format!("late-{}", r.id);
    r.pod(&late, "10m").await;
    eventually(
        Duration::from_secs(10),
        "pod bound by the new leader",
        || r.node_of(&late),
    )
    .await;
    names.push(late);

    for name in &names {
        let scheduled = r.events_for(name, "Scheduled").await;
        assert_eq!(
            scheduled.len(),
            1,
            "{name} was bound {} times",
            scheduled.len()
        );
    }
    let lease = leases.get(&lease_name).await.unwrap().spec.unwrap();
    assert_eq!(lease.lease_transitions, Some(1));
    stop_b.cancel();
    handle_b.await.unwrap();
    let pods: Vec<&str> = names.iter().map(String::as_str).collect();
    r.cleanup(&[&n], &pods).await;
}

#[tokio::test]
#[ignore = "needs a live API server (KUBECONFIG); see the file header"]
async fn a_pod_waiting_for_affinity_is_scheduled_once_its_partner_is_bound() {
    let r = Run::new().await;
    let n = format!("node-{}", r.id);
    r.node(&n, "4", "8Gi").await;
    let (stop, handle) = r.start("a");
    let app = format!("db-{}", r.id);
    let web = format!("web-{}", r.id);
    r.pod_with(&web, "10m", json!({}), json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}]}}))
        .await;
    let pods: Api<Pod> = Api::namespaced(r.client.clone(), NS);
    let message = eventually(
        Duration::from_secs(10),
        "web to be unschedulable",
        || async {
            let cond = pods
                .get(&web)
                .await
                .ok()?
                .status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "PodScheduled")?;
            (cond.status == "False").then_some(cond.message?)
        },
    )
    .await;
    assert!(
        message.contains("node(s) didn't match pod affinity rules"),
        "{message}"
    );
    let db = format!("db-{}", r.id);
    r.pod_with(&db, "10m", json!({"app": app}), json!({})).await;
    let db_node = eventually(Duration::from_secs(10), "db bound", || r.node_of(&db)).await;
    let web_node = eventually(Duration::from_secs(10), "web bound after db", || {
        r.node_of(&web)
    })
    .await;
    assert_eq!(web_node, db_node);
    stop.cancel();
    handle.await.unwrap();
    r.cleanup(&[&n], &[&web, &db]).await;
}
