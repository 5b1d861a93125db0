//! The controller runtime: shared informers, rate-limited work queues, expectations,
//! the worker loop and the event sink every controller driver uses.

pub mod claim;
pub mod context;
pub mod credentials;
pub mod events;
pub mod expectations;
pub mod history;
pub mod informers;
pub mod podcontrol;
pub mod queue;
pub mod worker;
