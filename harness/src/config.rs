//! Run configuration: which features, which target, which reports, and every deadline.
//!
//! Entry points: [`RunConfig`] (built by `kubeproof run` or by tests), [`Timings`].

use std::path::PathBuf;
use std::time::Duration;

/// Deadlines the steps wait with. Waiting is always by watch with a deadline; these are
/// the deadlines. Defaults suit a real cluster; tests shorten them.
#[derive(Clone, Debug)]
pub struct Timings {
    /// How long an expectation about an object (a status, a count, a condition) may take.
    pub expect: Duration,
    /// How long a whole chain (Deployment → running pods) may take.
    pub chain: Duration,
    /// How long to watch to be sure something does *not* happen.
    pub quiet: Duration,
    /// How long a failover (leader election, node loss) may take.
    pub failover: Duration,
    /// How often fake nodes the harness registers post status and renew their Lease
    /// (upstream kubelet: 10 s).
    pub heartbeat: Duration,
    /// How long one minute of a CronJob schedule takes on the target: a minute on a real
    /// cluster, a second on the embedded reference, whose CronJob clock runs 60 times
    /// faster (`cronjob_clock_rate`) unless it runs at upstream's timings.
    pub schedule_minute: Duration,
}

impl Default for Timings {
    /// Upstream-scale deadlines: leader failover needs a lease duration (15 s) plus
    /// retries; node loss needs the node monitor grace period (50 s) plus eviction.
    fn default() -> Self {
        Self {
            expect: Duration::from_secs(30),
            chain: Duration::from_secs(120),
            quiet: Duration::from_secs(5),
            failover: Duration::from_secs(120),
            heartbeat: Duration::from_secs(10),
            schedule_minute: Duration::from_secs(60),
        }
    }
}

impl Timings {
    /// Short deadlines for the in-process reference under `cargo test`.
    pub fn fast() -> Self {
        Self {
            expect: Duration::from_secs(10),
            chain: Duration::from_secs(30),
            quiet: Duration::from_secs(1),
            failover: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            schedule_minute: Duration::from_secs(1),
        }
    }

    /// Multiplies every deadline (for slow machines).
    pub fn scaled(mut self, factor: f64) -> Self {
        let f = |d: Duration| d.mul_f64(factor.max(0.01));
        self.expect = f(self.expect);
        self.chain = f(self.chain);
        self.quiet = f(self.quiet);
        self.failover = f(self.failover);
        self
    }
}

/// Everything one run needs besides the target.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Directory holding `<area>/<behaviour>.feature` files.
    pub features: PathBuf,
    /// A Gherkin tag expression; only matching scenarios are considered.
    pub tags: Option<String>,
    /// A regex on scenario names; only matching scenarios are considered.
    pub name: Option<String>,
    /// Include `@slow` scenarios (otherwise they are reported as skipped).
    pub include_slow: bool,
    /// Deadlines.
    pub timings: Timings,
    /// How many scenarios run at once.
    pub concurrency: usize,
    /// JUnit XML report path.
    pub junit: Option<PathBuf>,
    /// Cucumber JSON report path.
    pub json: Option<PathBuf>,
    /// HTML report path.
    pub html: Option<PathBuf>,
    /// Print progress and the results table on stdout.
    pub print: bool,
    /// Multiplies the sizes `@performance` scenarios state (Pods, calls, watchers...);
    /// never below one of each.
    pub perf_scale: f64,
    /// Where to write the measurements as a performance file (`kubeproof.io/perf/v1`).
    pub perf_json: Option<PathBuf>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            features: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../features")),
            tags: None,
            name: None,
            include_slow: true,
            timings: Timings::default(),
            concurrency: 4,
            junit: None,
            json: None,
            html: None,
            print: true,
            perf_scale: 1.0,
            perf_json: None,
        }
    }
}

impl RunConfig {
    /// Sets the features directory.
    pub fn features(mut self, dir: impl Into<PathBuf>) -> Self {
        self.features = dir.into();
        self
    }

    /// Sets the tag expression.
    pub fn tags(mut self, expr: impl Into<String>) -> Self {
        self.tags = Some(expr.into());
        self
    }

    /// Sets the scenario-name regex.
    pub fn name(mut self, regex: impl Into<String>) -> Self {
        self.name = Some(regex.into());
        self
    }

    /// Sets the deadlines.
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Whether progress and the table are printed.
    pub fn print(mut self, print: bool) -> Self {
        self.print = print;
        self
    }

    /// Sets the factor the `@performance` scenarios' sizes are multiplied by.
    pub fn perf_scale(mut self, factor: f64) -> Self {
        self.perf_scale = factor;
        self
    }

    /// Whether `@slow` scenarios run.
    pub fn include_slow(mut self, include: bool) -> Self {
        self.include_slow = include;
        self
    }
}
