//! The allocators over a memory store: what a Service gets, what is given back, and
//! that two allocators on one store (two API servers) never hand out the same value.

use std::sync::Arc;

use refkube_store::{MemoryStore, Store};
use serde_json::json;

use super::*;

async fn alloc_on(store: Arc<dyn Store>) -> Allocators {
    let a = Allocators::new("10.0.0.0/29".parse().unwrap(), (30000, 30001), store);
    a.repair_once().await.unwrap();
    a
}

async fn alloc() -> Allocators {
    alloc_on(Arc::new(MemoryStore::new())).await
}

async fn ip_of(a: &Allocators, svc: serde_json::Value) -> Result<String, AllocError> {
    let mut svc = svc;
    a.admit_service(&mut svc, None, false).await?;
    Ok(svc["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test]
async fn allocation_skips_the_kubernetes_address_and_fills_the_range() {
    let a = alloc().await;
    let mut got = vec![];
    for _ in 0..5 {
        got.push(ip_of(&a, json!({"spec": {}})).await.unwrap());
    }
    assert_eq!(
        got,
        ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    );
    let Err(AllocError::Invalid(c)) = ip_of(&a, json!({"spec": {}})).await else {
        panic!("the range should be full")
    };
    assert!(c[0].message.ends_with("range is full"), "{c:?}");
}

#[tokio::test]
async fn requested_addresses_are_checked_and_released_on_delete() {
    let a = alloc().await;
    let mut s = json!({"spec": {"clusterIP": "10.0.0.3"}});
    a.admit_service(&mut s, None, false).await.unwrap();
    let Err(AllocError::Invalid(err)) = ip_of(&a, json!({"spec": {"clusterIP": "10.0.0.3"}})).await
    else {
        panic!("a taken address must be refused")
    };
    assert!(
        err[0].message.ends_with("provided IP is already allocated"),
        "{err:?}"
    );
    a.release_service(&s).await;
    ip_of(&a, json!({"spec": {"clusterIP": "10.0.0.3"}}))
        .await
        .unwrap();
}

#[tokio::test]
async fn node_port_failures_give_back_the_address_taken_before() {
    let a = alloc().await;
    let mut s = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}});
    a.admit_service(&mut s, None, false).await.unwrap();
    assert_eq!(node_ports(&s), vec![30000, 30001]);
    let mut t = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    assert!(a.admit_service(&mut t, None, false).await.is_err());
    let (_, ips) = a.ips.read().await.unwrap().unwrap();
    assert_eq!(ips.count(), 1, "only the first Service's address is held");
}

#[tokio::test]
async fn a_dry_run_stores_nothing() {
    let a = alloc().await;
    let mut s = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    let got = a.admit_service(&mut s, None, true).await.unwrap();
    assert_eq!(got, Allocated::default());
    assert_eq!(s["spec"]["clusterIP"], "10.0.0.2");
    let (_, ips) = a.ips.read().await.unwrap().unwrap();
    assert_eq!(ips.count(), 0);
}

#[tokio::test]
async fn an_update_that_drops_a_node_port_gives_it_back() {
    let a = alloc().await;
    let mut old = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    a.admit_service(&mut old, None, false).await.unwrap();
    let mut new = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
    a.admit_service(&mut new, Some(&old), false).await.unwrap();
    assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
    a.release_dropped(&old, &new).await;
    let (_, ports) = a.ports.read().await.unwrap().unwrap();
    assert_eq!(ports.count(), 0);
}

#[tokio::test]
async fn two_allocators_on_one_store_never_hand_out_the_same_address() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (a, b) = (alloc_on(store.clone()).await, alloc_on(store).await);
    let mut got = vec![];
    for _ in 0..2 {
        got.push(ip_of(&a, json!({"spec": {}})).await.unwrap());
        got.push(ip_of(&b, json!({"spec": {}})).await.unwrap());
    }
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 4, "{got:?}");
}

#[tokio::test]
async fn nothing_is_allocated_before_the_first_repair_pass() {
    let a = Allocators::new(
        "10.0.0.0/29".parse().unwrap(),
        (30000, 30001),
        Arc::new(MemoryStore::new()),
    );
    let Err(AllocError::Range { source, .. }) = ip_of(&a, json!({"spec": {}})).await else {
        panic!("must refuse")
    };
    assert_eq!(
        source.to_string(),
        "cannot allocate resources of type serviceipallocations at this time"
    );
}

fn service_key(name: &str) -> String {
    format!("/registry/services/specs/default/{name}")
}

async fn held_ips(a: &Allocators) -> Vec<usize> {
    let (_, ips) = a.ips.read().await.unwrap().unwrap();
    ips.iter().collect()
}

#[tokio::test]
async fn the_first_pass_builds_the_ranges_from_stored_services() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let svc = json!({"metadata": {"namespace": "default", "name": "old"},
                     "spec": {"type": "NodePort", "clusterIP": "10.0.0.4", "ports": [{"nodePort": 30001}]}});
    store
        .create(&service_key("old"), svc.to_string().into())
        .await
        .unwrap();
    let a = alloc_on(store).await;
    assert_eq!(held_ips(&a).await, [3]);
    let (_, ports) = a.ports.read().await.unwrap().unwrap();
    assert_eq!(ports.iter().collect::<Vec<_>>(), [1]);
}

#[tokio::test]
async fn a_leaked_address_is_freed_on_the_third_pass_and_a_late_service_keeps_its_own() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = alloc_on(store.clone()).await;
    // Two allocations whose Services are not stored yet: one API server crashed, the
    // other is slow to write its Service.
    let crashed = ip_of(&a, json!({"spec": {}})).await.unwrap();
    let slow = ip_of(&a, json!({"spec": {}})).await.unwrap();
    assert_eq!((crashed.as_str(), slow.as_str()), ("10.0.0.2", "10.0.0.3"));
    a.repair_once().await.unwrap();
    a.repair_once().await.unwrap();
    let svc = json!({"metadata": {"namespace": "default", "name": "slow"},
                     "spec": {"clusterIP": slow, "clusterIPs": [slow]}});
    store
        .create(&service_key("slow"), svc.to_string().into())
        .await
        .unwrap();
    assert_eq!(held_ips(&a).await, [1, 2], "kept through two passes");
    a.repair_once().await.unwrap();
    assert_eq!(
        held_ips(&a).await,
        [2],
        "freed on the third, the Service's kept"
    );
    for _ in 0..3 {
        a.repair_once().await.unwrap();
    }
    assert_eq!(held_ips(&a).await, [2]);
}

#[tokio::test]
async fn a_reconfigured_range_is_rebuilt_and_checked_on_allocation() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let old = alloc_on(store.clone()).await;
    ip_of(&old, json!({"spec": {}})).await.unwrap();
    let wider = Allocators::new("10.0.0.0/28".parse().unwrap(), (30000, 30001), store);
    // Before the repair pass, the stored range is for the other configuration.
    let Err(AllocError::Range { source, .. }) = ip_of(&wider, json!({"spec": {}})).await else {
        panic!("a mismatched range must be refused")
    };
    assert!(source.to_string().contains("does not match"), "{source}");
    wider.repair_once().await.unwrap();
    assert_eq!(
        ip_of(&wider, json!({"spec": {}})).await.unwrap(),
        "10.0.0.2"
    );
    assert!(ip_of(&old, json!({"spec": {}})).await.is_err());
}
