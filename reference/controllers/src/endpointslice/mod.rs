//! The EndpointSlice controller (§6): a selector service's pods as discovery.k8s.io/v1
//! EndpointSlices of at most `--max-endpoints-per-slice` endpoints. `plan` decides,
//! `driver` writes. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
