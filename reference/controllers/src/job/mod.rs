//! The Job controller: runs pods to completion (completions, parallelism, backoffLimit,
//! activeDeadlineSeconds, suspend). `plan` decides, `driver` writes.
//! Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
