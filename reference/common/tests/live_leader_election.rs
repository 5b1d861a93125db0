//! Leader election against a live API server (the reference or a real cluster). Ignored
//! by default; run with
//!
//! ```text
//! KUBECONFIG=/tmp/kc cargo test -p refkube-common --test live_leader_election -- --ignored
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Event;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use refkube_common::leader_election::{LeaderElectionConfig, LeaderElector, RunOutcome};
use tokio_util::sync::CancellationToken;

fn config(lease: &str, identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig::default()
        .lease("default", lease)
        .identity(identity)
        .lease_duration(Duration::from_secs(2))
        .renew_deadline(Duration::from_millis(1500))
        .retry_period(Duration::from_millis(200))
}

#[tokio::test]
#[ignore = "needs a live API server (KUBECONFIG); see the file header"]
async fn one_leader_at_a_time_and_the_standby_takes_over_on_release() {
    let client = Client::try_default()
        .await
        .expect("KUBECONFIG must point at a live API server");
    let lease = format!("le-test-{}", std::process::id());
    let leading = Arc::new(AtomicUsize::new(0));
    let max_leading = Arc::new(AtomicUsize::new(0));
    let mut stops = Vec::new();
    let mut handles = Vec::new();
    let mut electors = Vec::new();
    for id in ["a", "b"] {
        let elector = Arc::new(LeaderElector::new(client.clone(), config(&lease, id)).unwrap());
        let stop = CancellationToken::new();
        let (e, s, l, m) = (
            elector.clone(),
            stop.clone(),
            leading.clone(),
            max_leading.clone(),
        );
        handles.push(tokio::spawn(async move {
            e.run(
                move |token| async move {
                    let now = l.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    token.cancelled().await;
                    l.fetch_sub(1, Ordering::SeqCst);
                },
                s.cancelled_owned(),
            )
            .await
        }));
        stops.push(stop);
        electors.push(elector);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut a_leads = electors[0].subscribe();
    a_leads.wait_for(|l| *l).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !*electors[1].subscribe().borrow(),
        "the standby must not lead while a renews"
    );

    stops[0].cancel();
    assert_eq!(handles.remove(0).await.unwrap(), RunOutcome::Shutdown);
    let mut b_leads = electors[1].subscribe();
    tokio::time::timeout(Duration::from_secs(3), b_leads.wait_for(|l| *l))
        .await
        .expect("b takes over within lease duration + retry")
        .unwrap();
    assert_eq!(
        max_leading.load(Ordering::SeqCst),
        1,
        "never two leaders at once"
    );

    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let spec = leases.get(&lease).await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(2));

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let messages: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(lease.as_str()))
        .filter(|e| e.reason.as_deref() == Some("LeaderElection"))
        .filter_map(|e| e.message)
        .collect();
    for m in ["a became leader", "a stopped leading", "b became leader"] {
        assert!(
            messages.iter().any(|x| x == m),
            "missing event {m:?} in {messages:?}"
        );
    }

    stops[1].cancel();
    assert_eq!(handles.remove(0).await.unwrap(), RunOutcome::Shutdown);
    let released = leases.get(&lease).await.unwrap().spec.unwrap();
    assert_eq!(released.holder_identity.as_deref(), Some(""));
    assert_eq!(released.lease_duration_seconds, Some(1));
    let _ = leases.delete(&lease, &DeleteParams::default()).await;
}

#[tokio::test]
#[ignore = "needs a live API server (KUBECONFIG); see the file header"]
async fn a_leader_that_vanishes_without_releasing_is_replaced_only_after_the_lease_expires() {
    let client = Client::try_default()
        .await
        .expect("KUBECONFIG must point at a live API server");
    let lease = format!("le-crash-{}", std::process::id());
    let a = Arc::new(
        LeaderElector::new(client.clone(), config(&lease, "a").release_on_cancel(false)).unwrap(),
    );
    let stop_a = CancellationToken::new();
    let run_a = {
        let (a, s) = (a.clone(), stop_a.clone());
        tokio::spawn(async move {
            a.run(|t| async move { t.cancelled().await }, s.cancelled_owned())
                .await
        })
    };
    a.subscribe().wait_for(|l| *l).await.unwrap();
    let b = Arc::new(LeaderElector::new(client.clone(), config(&lease, "b")).unwrap());
    let stop_b = CancellationToken::new();
    let run_b = {
        let (b, s) = (b.clone(), stop_b.clone());
        tokio::spawn(async move {
            b.run(|t| async move { t.cancelled().await }, s.cancelled_owned())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // "Crash": a stops renewing and does not release.
    stop_a.cancel();
    run_a.await.unwrap();
    let stopped = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(4), b.subscribe().wait_for(|l| *l))
        .await
        .expect("b takes over within lease duration + jittered retry")
        .unwrap();
    let waited = stopped.elapsed();
    // b last saw a renew at most one retry period before a stopped, so it must wait for
    // most of the 2 s lease duration.
    assert!(
        waited >= Duration::from_millis(1500),
        "took over too early: {waited:?}"
    );
    stop_b.cancel();
    run_b.await.unwrap();
    let leases: Api<Lease> = Api::namespaced(client, "default");
    let _ = leases.delete(&lease, &DeleteParams::default()).await;
}
