//! The pod worker's side of volumes and service variables: fill the pod's volumes
//! before its sandbox, fill them again when a token is due, remove them with the pod,
//! and the service variables of its containers.

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use super::Worker;
use super::env::EnvError;
use super::service_env::service_env;
use crate::events::reason;
use crate::runtime::Mount;

impl Worker {
    /// Fills the pod's volumes: the sandbox's mounts and masked directories, or None
    /// (after a `FailedMount` event) while one cannot be filled.
    pub(super) async fn set_up_volumes(&mut self) -> Option<(Vec<Mount>, Vec<PathBuf>)> {
        let Some(manager) = self.deps.volumes.clone() else {
            return Some((Vec::new(), Vec::new()));
        };
        match manager.set_up(&self.pod).await {
            Ok(v) => {
                self.volumes_due = v.refresh_after.map(|d| Instant::now() + d);
                Some((v.mounts, vec![manager.pods_dir()]))
            }
            Err(e) => {
                let message = e.to_string();
                self.event(None, "Warning", reason::FAILED_MOUNT, &message)
                    .await;
                None
            }
        }
    }

    /// Fills the volumes again once a token is due (their directories are bound into
    /// the running pod, so the containers see the new files); when to look again.
    pub(super) async fn refresh_volumes(&mut self) -> Option<Duration> {
        let due = self.volumes_due?;
        if self.sandbox.is_some() && Instant::now() >= due {
            let before = self.volumes_due.take();
            if self.set_up_volumes().await.is_none() {
                // Keep the old files and try again after the usual back-off.
                self.volumes_due = before.map(|_| Instant::now() + self.deps.timings.backoff_base);
            }
        }
        self.volumes_due
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Removes the pod's volume directories.
    pub(super) fn tear_down_volumes(&mut self) {
        self.volumes_due = None;
        if let Some(manager) = &self.deps.volumes {
            manager.tear_down(self.uid());
        }
    }

    /// The service variables of the pod's containers.
    pub(super) fn service_vars(&self) -> Result<Vec<(String, String)>, EnvError> {
        let services = self
            .deps
            .services
            .list(self.is_static())
            .map_err(|m| EnvError::Services(m.to_string()))?;
        let services: Vec<_> = services.iter().map(|s| s.as_ref().clone()).collect();
        let enable_links = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.enable_service_links)
            .unwrap_or(true);
        Ok(service_env(self.namespace(), enable_links, &services))
    }
}
