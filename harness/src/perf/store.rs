//! Where one run keeps its measurements while scenarios run.
//!
//! Entry point: [`PerfStore`]: steps record by the scenario's namespace (unique to one
//! scenario), the run's after-hook files them under the scenario's key when it ends, and
//! the report takes them from there. It also holds the run's `--perf-scale` factor.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Measurement;
use crate::plan::ScenarioKey;

/// One run's measurements and size factor.
#[derive(Debug)]
pub struct PerfStore {
    scale: f64,
    open: Mutex<BTreeMap<String, Vec<Measurement>>>,
    finished: Mutex<BTreeMap<ScenarioKey, Vec<Measurement>>>,
}

impl Default for PerfStore {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl PerfStore {
    /// A store for a run whose sizes are multiplied by `scale` (clamped to be positive).
    pub fn new(scale: f64) -> Self {
        Self {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
            open: Mutex::default(),
            finished: Mutex::default(),
        }
    }

    /// The `--perf-scale` factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// A size a feature states, scaled: never below 1.
    pub fn size(&self, stated: usize) -> usize {
        ((stated as f64 * self.scale).round() as usize).max(1)
    }

    /// Records a measurement of the scenario running in `namespace`.
    pub fn record(&self, namespace: &str, m: Measurement) {
        if let Ok(mut open) = self.open.lock() {
            open.entry(namespace.to_string()).or_default().push(m);
        }
    }

    /// Runs `f` on the measurements the scenario in `namespace` recorded so far.
    pub fn update<R>(&self, namespace: &str, f: impl FnOnce(&mut Vec<Measurement>) -> R) -> R {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        f(open.entry(namespace.to_string()).or_default())
    }

    /// Files the measurements of the scenario in `namespace` under its key.
    pub fn finish(&self, namespace: &str, key: ScenarioKey) {
        let taken = self
            .open
            .lock()
            .ok()
            .and_then(|mut o| o.remove(namespace))
            .unwrap_or_default();
        if !taken.is_empty()
            && let Ok(mut finished) = self.finished.lock()
        {
            finished.entry(key).or_default().extend(taken);
        }
    }

    /// Takes a finished scenario's measurements (the report calls this once).
    pub fn take(&self, key: &ScenarioKey) -> Vec<Measurement> {
        self.finished
            .lock()
            .ok()
            .and_then(|mut f| f.remove(key))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_scale_but_never_reach_zero() {
        let s = PerfStore::new(0.1);
        assert_eq!((s.size(20), s.size(3)), (2, 1));
        assert_eq!(PerfStore::new(3.0).size(10), 30);
        assert_eq!(PerfStore::new(-1.0).scale(), 1.0);
    }

    #[test]
    fn measurements_move_from_the_namespace_to_the_scenario_key() {
        let s = PerfStore::default();
        s.record("kp-a", Measurement::latency("x", vec![1.0]));
        s.update("kp-a", |ms| ms[0].name = "y".into());
        let key = ScenarioKey {
            path: "f".into(),
            line: 3,
        };
        s.finish("kp-a", key.clone());
        let taken = s.take(&key);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].name, "y");
        assert!(s.take(&key).is_empty());
    }
}
