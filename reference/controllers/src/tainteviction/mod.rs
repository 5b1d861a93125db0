//! The taint eviction controller (`pkg/controller/tainteviction`): deletes pods that do
//! not tolerate their node's NoExecute taints, at once or after the shortest matching
//! `tolerationSeconds`. `plan` decides, `driver` acts. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
