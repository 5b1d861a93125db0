//! Per-scheduling-cycle plugin state (upstream `framework.CycleState`): PreFilter/PreScore
//! results that Filter/Score read back, plus which plugins asked to be skipped.
//! Entry point: [`CycleState`].

use std::any::Any;

/// Typed storage keyed by plugin name; lives for one pod's scheduling attempt.
///
/// A handful of entries, read once per plugin per node: a linear scan over short keys
/// costs less than hashing them, and these reads are in the per-node loops.
#[derive(Default)]
pub struct CycleState {
    data: Vec<(&'static str, Box<dyn Any + Send + Sync>)>,
    /// Plugins whose PreFilter returned Skip: their Filter does not run.
    pub skip_filter: Vec<&'static str>,
    /// Plugins whose PreScore returned Skip: their Score does not run.
    pub skip_score: Vec<&'static str>,
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState")
            .field(
                "keys",
                &self.data.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("skip_filter", &self.skip_filter)
            .field("skip_score", &self.skip_score)
            .finish()
    }
}

impl CycleState {
    /// Stores `value` under `key` (usually the plugin's name plus a stage suffix).
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        let value: Box<dyn Any + Send + Sync> = Box::new(value);
        match self.data.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.data.push((key, value)),
        }
    }

    /// What PreScore stored under `key`, or `compute`'s value when it stored nothing (a
    /// Score called without its PreScore, as upstream's plugins allow).
    pub fn read_or<T: Any + Send + Sync + Clone>(
        &self,
        key: &'static str,
        compute: impl FnOnce() -> T,
    ) -> std::borrow::Cow<'_, T> {
        match self.read::<T>(key) {
            Some(v) => std::borrow::Cow::Borrowed(v),
            None => std::borrow::Cow::Owned(compute()),
        }
    }

    /// Reads back what was stored under `key`, if it has that type.
    pub fn read<T: Any + Send + Sync>(&self, key: &'static str) -> Option<&T> {
        self.data
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.downcast_ref::<T>())
    }

    /// Marks a plugin's Filter as skipped for this cycle.
    pub fn skip_filter_of(&mut self, plugin: &'static str) {
        if !self.skip_filter.contains(&plugin) {
            self.skip_filter.push(plugin);
        }
    }

    /// Marks a plugin's Score as skipped for this cycle.
    pub fn skip_score_of(&mut self, plugin: &'static str) {
        if !self.skip_score.contains(&plugin) {
            self.skip_score.push(plugin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_value_under_its_key_and_reads_check_the_type() {
        let mut state = CycleState::default();
        state.write("a", 1u32);
        state.write("b", "x");
        state.write("a", 2u32);
        assert_eq!(state.read::<u32>("a"), Some(&2));
        assert_eq!(state.read::<&str>("b"), Some(&"x"));
        assert_eq!(state.read::<u64>("a"), None);
        assert_eq!(state.read::<u32>("c"), None);
        state.skip_filter_of("P");
        state.skip_filter_of("P");
        assert_eq!(state.skip_filter, vec!["P"]);
    }
}
