//! refkube-common: client-side code shared by the reference components (scheduler,
//! controller manager, kubelet, proxy). Everything here is an ordinary Kubernetes API
//! client (`kube`), never a shortcut into the API server.
//!
//! - [`leader_election`]: upstream client-go leader election over a `coordination.k8s.io/v1`
//!   Lease ([`leader_election::LeaderElector`]).
//! - [`events`]: a small core/v1 Event recorder ([`events::EventRecorder`]).
//! - [`informers`]: how a component sees the cluster: watch streams, informers (store +
//!   change feed) and the shared informer registry, all on kube-runtime's watcher.

pub mod events;
pub mod informers;
pub mod leader_election;
