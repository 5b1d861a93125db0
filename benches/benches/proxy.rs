//! kube-proxy benchmarks: rendering the iptables-restore input (`refkube_proxy::render`)
//! for 100 and 1000 Services with 10 endpoints each, and building the proxy model from
//! Services and EndpointSlices (`build_model`), which the proxy does on every sync.
//!
//! Run: `cargo bench -p kubeproof-benches --bench proxy`; see benches/README.md.

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use kubeproof_benches::proxying::{services, slices};
use refkube_proxy::{IpFamily, ProxyConfig, build_model, render};

const SERVICES: [usize; 2] = [100, 1000];
const ENDPOINTS_PER_SERVICE: usize = 10;

fn proxy_config() -> ProxyConfig {
    ProxyConfig::new("node-0").cluster_cidr("10.244.0.0/16".parse().expect("literal CIDR"))
}

fn iptables_render(c: &mut Criterion) {
    let config = proxy_config();
    let mut group = c.benchmark_group("iptables_render");
    // Rendering 1000 services takes seconds (see README): one iteration per sample
    // keeps the group short.
    group.sampling_mode(SamplingMode::Flat);
    for n in SERVICES {
        let model = build_model(
            &services(n).expect("services"),
            &slices(n, ENDPOINTS_PER_SERVICE).expect("slices"),
            &config.node_name,
            IpFamily::V4,
        );
        assert_eq!(model.total_endpoints(), n * ENDPOINTS_PER_SERVICE);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("services", n), &model, |b, model| {
            b.iter(|| render(model, &config))
        });
    }
    group.finish();
}

fn model_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_model");
    for n in SERVICES {
        let svcs = services(n).expect("services");
        let eps = slices(n, ENDPOINTS_PER_SERVICE).expect("slices");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("services", n), |b| {
            b.iter(|| build_model(&svcs, &eps, "node-0", IpFamily::V4))
        });
    }
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
    targets = iptables_render, model_build
}
criterion_main!(benches);
