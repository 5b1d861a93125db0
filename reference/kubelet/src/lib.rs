//! refkube-kubelet: the reference node agent.

pub mod agnhost;
pub mod backoff;
pub mod config;
pub mod events;
pub mod ipam;
pub mod logs;
pub mod podapi;
pub mod probe;
pub mod prober;
pub mod runtime;
pub mod status;
pub mod static_pods;
pub mod worker;
