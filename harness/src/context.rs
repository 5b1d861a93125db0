//! What one run shares between its hooks, its steps and its writers.
//!
//! Entry point: [`RunContext`]: the target, the deadlines, and the traces (observation
//! logs) each finished scenario leaves for the report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::config::Timings;
use crate::observe::Observation;
use crate::perf::PerfStore;
use crate::plan::{ScenarioKey, SkipReasons};
use crate::targets::Target;

/// What a finished scenario leaves behind for the report.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// The scenario's namespace.
    pub namespace: String,
    /// Every watch event it saw.
    pub observations: Vec<Observation>,
    /// Notes from the recorder (kinds that could not be watched...).
    pub notes: Vec<String>,
}

/// Shared by one run.
pub struct RunContext {
    /// Where scenarios run.
    pub target: Arc<dyn Target>,
    /// Deadlines for steps.
    pub timings: Timings,
    /// Traces of finished scenarios.
    pub traces: Mutex<BTreeMap<ScenarioKey, Trace>>,
    /// Skip reasons decided by the plan.
    pub skips: SkipReasons,
    /// The `--perf-scale` factor and the measurements scenarios take.
    pub perf: Arc<PerfStore>,
}

impl RunContext {
    /// A context for `target`.
    pub fn new(
        target: Arc<dyn Target>,
        timings: Timings,
        skips: SkipReasons,
        perf: Arc<PerfStore>,
    ) -> Arc<Self> {
        Arc::new(Self {
            target,
            timings,
            traces: Mutex::default(),
            skips,
            perf,
        })
    }

    /// Stores a finished scenario's trace.
    pub fn keep_trace(&self, key: ScenarioKey, trace: Trace) {
        if let Ok(mut traces) = self.traces.lock() {
            traces.insert(key, trace);
        }
    }

    /// Takes a finished scenario's trace (the report calls this once per scenario).
    pub fn take_trace(&self, key: &ScenarioKey) -> Option<Trace> {
        self.traces.lock().ok().and_then(|mut t| t.remove(key))
    }

    /// The plan's skip reason for a scenario.
    pub fn skip_reason(&self, key: &ScenarioKey) -> Option<String> {
        self.skips.lock().ok().and_then(|s| s.get(key).cloned())
    }
}
