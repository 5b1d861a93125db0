//! refkube-controllers: the reference kube-controller-manager. Every controller watches
//! through shared informers, queues keys, and reconciles with a pure decision module and a
//! thin driver. Entry point: [`run`] with a [`ControllerManagerConfig`].

pub mod clusterroleaggregation;
pub mod config;
pub mod cronjob;
pub mod csrapproving;
pub mod csrsigning;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
pub mod garbagecollector;
pub mod inventory;
pub mod job;
pub mod manager;
pub mod namespace;
pub mod nodelifecycle;
pub mod podgc;
pub mod replicaset;
pub mod replication;
pub mod rootcacertpublisher;
pub mod runtime;
pub mod serviceaccount;
pub mod statefulset;
pub mod tainteviction;
pub mod ttlafterfinished;
pub mod util;
pub mod volume;

pub use config::ControllerManagerConfig;
pub use manager::{ControllerError, run};
