//! Resource-semantics benchmarks (refkube-resources, no I/O): strict decoding of a
//! Deployment manifest (JSON as kubectl sends it, and YAML), a strategic merge patch of
//! a pod, and Table rendering of 1000 pods (what `kubectl get pods` asks for).
//!
//! Run: `cargo bench -p kubeproof-benches --bench resources`; see benches/README.md.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubeproof_benches::objects::{deployment_manifest, pod};
use refkube_resources::decode::{FieldValidation, Format, decode};
use refkube_resources::patch::{PatchKind, apply_patch};
use refkube_resources::registry::lookup;
use refkube_resources::table::{IncludeObject, to_table};
use serde_json::{Value, json};

fn strict_decode(c: &mut Criterion) {
    let info = lookup("apps", "v1", "deployments").expect("deployments are registered");
    let body = deployment_manifest();
    let value: Value = serde_json::from_slice(&body).expect("fixture is JSON");
    let yaml = serde_yaml_body(&value);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("deployment_strict_json", |b| {
        b.iter(|| {
            let d = decode(info, &body, Format::Json, FieldValidation::Strict)
                .expect("the manifest is valid");
            assert!(d.warnings.is_empty());
            d
        })
    });
    group.throughput(Throughput::Bytes(yaml.len() as u64));
    group.bench_function("deployment_strict_yaml", |b| {
        b.iter(|| {
            decode(info, &yaml, Format::Yaml, FieldValidation::Strict)
                .expect("the manifest is valid")
        })
    });
    group.finish();
}

/// The same manifest as block-style YAML, as a user writes it for `kubectl apply -f`.
fn serde_yaml_body(v: &Value) -> Vec<u8> {
    serde_yaml::to_string(v)
        .expect("a Value serialises")
        .into_bytes()
}

fn strategic_merge(c: &mut Criterion) {
    let info = lookup("", "v1", "pods").expect("pods are registered");
    let original = pod("default", 7);
    // What `kubectl set image`, `kubectl label` and an env change send, merged: a
    // label, a container image (merged by name), an env var and a toleration.
    let patch = json!({
        "metadata": {"labels": {"release": "canary"}},
        "spec": {
            "containers": [{"name": "app", "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
                            "env": [{"name": "MODE", "value": "canary"}]}],
            "tolerations": [{"key": "dedicated", "operator": "Exists"}]
        }
    })
    .to_string()
    .into_bytes();
    let mut group = c.benchmark_group("patch");
    group.bench_function("pod_strategic_merge", |b| {
        b.iter(|| {
            let out = apply_patch(info, PatchKind::StrategicMerge, &original, &patch)
                .expect("the patch applies");
            assert_eq!(out["spec"]["containers"].as_array().map(Vec::len), Some(2));
            out
        })
    });
    group.finish();
}

fn table(c: &mut Criterion) {
    let info = lookup("", "v1", "pods").expect("pods are registered");
    let pods: Vec<Value> = (0..1000).map(|i| pod("default", i)).collect();
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("table");
    group.throughput(Throughput::Elements(pods.len() as u64));
    group.bench_function("pods_1000", |b| {
        b.iter(|| {
            let t = to_table(info, &pods, IncludeObject::Metadata, now);
            assert_eq!(t["rows"].as_array().map(Vec::len), Some(1000));
            t
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = strict_decode, strategic_merge, table
}
criterion_main!(benches);
