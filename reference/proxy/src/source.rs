//! Where the driver gets models from: [`ModelSource`], implemented by the API-server
//! [`Tracker`] and by [`ModelFeed`], a hand-fed source that lets the
//! whole proxy (sync timing included) run without an API server.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::config::IpFamily;
use crate::model::ProxyModel;
use crate::tracker::{NotSynced, Tracker};

/// A source of proxy models and change notifications.
pub trait ModelSource: Send + Sync {
    /// Resolves once the first complete state is known.
    fn wait_synced(&self) -> impl Future<Output = Result<(), NotSynced>> + Send;
    /// Resolves when something changed since the last call.
    fn changed(&self) -> impl Future<Output = ()> + Send;
    /// The current model for `node_name` / `family`.
    fn snapshot(&self, node_name: &str, family: IpFamily) -> ProxyModel;
}

impl ModelSource for Tracker {
    fn wait_synced(&self) -> impl Future<Output = Result<(), NotSynced>> + Send {
        Tracker::wait_synced(self)
    }
    fn changed(&self) -> impl Future<Output = ()> + Send {
        Tracker::changed(self)
    }
    fn snapshot(&self, node_name: &str, family: IpFamily) -> ProxyModel {
        Tracker::snapshot(self, node_name, family)
    }
}

/// A model source fed by hand: each [`ModelFeed::set`] replaces the model and wakes the
/// driver. The model is used as is (node name and family are already applied).
#[derive(Debug, Default)]
pub struct ModelFeed {
    model: Mutex<ProxyModel>,
    changed: Notify,
}

impl ModelFeed {
    /// A feed starting with `model`.
    pub fn new(model: ProxyModel) -> Self {
        Self {
            model: Mutex::new(model),
            changed: Notify::new(),
        }
    }

    /// Replace the model.
    pub fn set(&self, model: ProxyModel) {
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = model;
        self.changed.notify_one();
    }
}

impl ModelSource for ModelFeed {
    async fn wait_synced(&self) -> Result<(), NotSynced> {
        Ok(())
    }
    async fn changed(&self) {
        self.changed.notified().await;
    }
    fn snapshot(&self, _node_name: &str, _family: IpFamily) -> ProxyModel {
        self.model.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
