//! refkube-apiserver: the reference Kubernetes API server.
//!
//! Entry point: [`ApiServer::bind`] (or [`run`]) with an [`ApiServerConfig`] and a
//! `refkube_store::Store`. It serves the Kubernetes REST API (discovery, CRUD, patch,
//! watch, subresources, Status errors) so that kubectl, kube-rs and the official Python
//! client work against it; resource semantics come from refkube-resources.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod bootstrap_rbac;
pub mod cached;
pub mod certificates;
pub mod client_cert;
pub mod compactor;
pub mod componentstatus;
pub mod config;
pub mod conversion;
pub mod crd;
pub mod discovery;
pub mod encryption;
pub mod handlers;
pub mod ipalloc;
pub mod keys;
pub mod kubelet_client;
pub mod lease_endpoints;
pub mod lease_reconciler;
pub mod logs;
pub mod negotiate;
pub mod nodeproxy;
pub mod options;
pub mod protobuf;
pub mod proxy;
pub mod request;
pub mod router;
pub mod secret_data;
pub mod selfreview;
pub mod server;
pub mod serviceaccount;
pub mod state;
pub mod status;
pub mod streaming;
pub mod tls;
pub mod watch;
pub mod watchcache;

pub use config::ApiServerConfig;
pub use server::{ApiServer, ServerError, run};
pub use status::ApiError;
