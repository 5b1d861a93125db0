//! Background jobs a scenario starts (a steady writer, a Lease recorder) and the state
//! they share with the scenario's later steps.
//!
//! Entry points: [`spawn`] starts a job beside its state, [`state`] finds the state again
//! from a later step. The job's task goes into `world.tasks`, so the scenario's teardown
//! aborts it whether the scenario passed or failed. The registry keeps only a *weak*
//! reference to the state: the job owns it, so the state dies with the job and nothing a
//! scenario started outlives it.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use anyhow::anyhow;

use crate::world::KubeWorld;

type Shared = Arc<dyn Any + Send + Sync>;

/// Weak references to the states of running jobs, keyed by (namespace, job name): the
/// namespace is unique to one scenario, so concurrent scenarios never see each other's.
#[derive(Default)]
pub struct Registry {
    states: Mutex<HashMap<(String, String), Weak<dyn Any + Send + Sync>>>,
}

impl Registry {
    /// Remembers `state` under `key`, forgetting states whose job has ended.
    pub fn insert(&self, key: (String, String), state: &Shared) {
        if let Ok(mut states) = self.states.lock() {
            states.retain(|_, w| w.strong_count() > 0);
            states.insert(key, Arc::downgrade(state));
        }
    }

    /// The state under `key`, while its job still runs.
    pub fn get<S: Any + Send + Sync>(&self, key: &(String, String)) -> Option<Arc<S>> {
        let shared = self.states.lock().ok()?.get(key)?.upgrade()?;
        shared.downcast::<S>().ok()
    }
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

fn key(world: &KubeWorld, name: &str) -> (String, String) {
    (world.namespace.clone(), name.to_string())
}

/// Runs `job` in the background as the scenario's job `name`, owning `state` until it
/// ends or the scenario is torn down. A job already running under that name is stopped.
pub fn spawn<S, F>(world: &mut KubeWorld, name: &str, state: Arc<S>, job: F)
where
    S: Any + Send + Sync,
    F: Future<Output = ()> + Send + 'static,
{
    let shared: Shared = state;
    REGISTRY.insert(key(world, name), &shared);
    let task = tokio::spawn(async move {
        let _owned = shared;
        job.await;
    });
    if let Some(old) = world.tasks.insert(name.to_string(), task) {
        old.abort();
    }
}

/// The state of the scenario's running job `name`.
pub fn state<S: Any + Send + Sync>(world: &KubeWorld, name: &str) -> anyhow::Result<Arc<S>> {
    REGISTRY
        .get::<S>(&key(world, name))
        .ok_or_else(|| anyhow!("no background job {name:?} runs in this scenario"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_found_while_its_owner_lives_and_forgotten_after() {
        let registry = Registry::default();
        let k = ("ns".to_string(), "writer".to_string());
        let owner: Shared = Arc::new(7_u32);
        registry.insert(k.clone(), &owner);
        assert_eq!(registry.get::<u32>(&k).as_deref(), Some(&7));
        assert!(registry.get::<String>(&k).is_none(), "wrong type");
        assert!(
            registry
                .get::<u32>(&("other".into(), "writer".into()))
                .is_none()
        );
        drop(owner);
        assert!(registry.get::<u32>(&k).is_none());
    }
}
