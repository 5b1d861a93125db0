//! Pod volumes the kubelet fills: the projected volumes, above all the service account
//! volume (`kube-api-access-*`) the API server's admission gives every pod, with
//! `token`, `ca.crt` and `namespace` for in-cluster clients.
//!
//! Modules: [`projected`] (what a pod's volumes hold and where they are mounted; pure),
//! [`refresh`] (when a token is renewed; pure), [`writer`] (atomic file writes),
//! [`api`] (the API reads, behind a trait), [`manager`] (the driver). Entry point:
//! [`manager::VolumeManager`].
//!
//! How the files reach a container depends on the pod network (see the crate docs):
//! with `netns` each pod has a mount namespace in which the volume's directory is bound
//! read-only at its mount path; with `loopback` there is no mount namespace, so nothing
//! is mounted and the files stay in the pod's directory only.

pub mod api;
pub mod manager;
pub mod projected;
pub mod refresh;
pub mod writer;

pub use api::{KubeVolumeApi, VolumeApi};
pub use manager::{PodVolumes, VolumeError, VolumeManager};
