//! refkube-common: client-side code shared by the reference components (scheduler,
//! controller manager, kubelet, proxy). Everything here is an ordinary Kubernetes API
//! client (`kube`), never a shortcut into the API server.
//!
//! - [`leader_election`]: upstream client-go leader election over a `coordination.k8s.io/v1`
//!   Lease ([`leader_election::LeaderElector`]).
//! - [`events`]: a small core/v1 Event recorder ([`events::EventRecorder`]).

pub mod events;
pub mod leader_election;
