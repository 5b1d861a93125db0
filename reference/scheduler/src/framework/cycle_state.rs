//! Per-scheduling-cycle plugin state (upstream `framework.CycleState`): PreFilter/PreScore
//! results that Filter/Score read back, plus which plugins asked to be skipped.
//! Entry point: [`CycleState`].

use std::any::Any;
use std::collections::{HashMap, HashSet};

/// Typed storage keyed by plugin name; lives for one pod's scheduling attempt.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Box<dyn Any + Send + Sync>>,
    /// Plugins whose PreFilter returned Skip: their Filter does not run.
    pub skip_filter: HashSet<&'static str>,
    /// Plugins whose PreScore returned Skip: their Score does not run.
    pub skip_score: HashSet<&'static str>,
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("skip_filter", &self.skip_filter)
            .field("skip_score", &self.skip_score)
            .finish()
    }
}

impl CycleState {
    /// Stores `value` under `key` (usually the plugin's name plus a stage suffix).
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Box::new(value));
    }

    /// Reads back what was stored under `key`, if it has that type.
    pub fn read<T: Any + Send + Sync>(&self, key: &'static str) -> Option<&T> {
        self.data.get(key).and_then(|v| v.downcast_ref::<T>())
    }
}
