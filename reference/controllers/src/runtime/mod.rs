//! The controller runtime: shared informers, rate-limited work queues, expectations,
//! the worker loop and the event sink every controller driver uses.

pub mod claim;
pub mod context;
pub mod credentials;
pub mod events;
pub mod expectations;
pub mod history;
/// The shared informers live in `refkube-common`; re-exported so drivers keep their paths.
pub use refkube_common::informers;
pub mod owned;
pub mod podcontrol;
pub mod queue;
pub mod worker;
