//! The CronJob controller (upstream `pkg/controller/cronjob`, the v2 controller): creates
//! a Job at each schedule time, named `<cronjob>-<minutes since the epoch>`, under the
//! concurrency policy and starting deadline, and keeps the history limits. `schedule`
//! and `plan` decide as pure functions of (CronJob, Jobs, now); `driver` writes; `clock`
//! is the injectable time.
//! Entry point: [`driver::start`].

pub mod clock;
pub mod driver;
pub mod plan;
pub mod schedule;
