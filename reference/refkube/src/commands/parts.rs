//! Several agents in one process (`refkube node`: the kubelet, kube-proxy and the node
//! routes), started together and stopped together: when one ends, on its own or with an
//! error, the others are stopped too, so the process exits and its supervisor (Docker's
//! restart policy, say) starts the whole node again, as a node whose agent died would be.
//! Entry point: [`Parts`].

use std::pin::Pin;

use anyhow::Context;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

type Part = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// The agents to run, not started until [`Parts::run`].
#[derive(Default)]
pub struct Parts {
    stop: CancellationToken,
    parts: Vec<(&'static str, Part)>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.parts.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Parts").field("parts", &names).finish()
    }
}

impl Parts {
    pub fn new() -> Self {
        Self::default()
    }

    /// What a part waits on to shut down.
    pub fn stopped(&self) -> WaitForCancellationFutureOwned {
        self.stop.clone().cancelled_owned()
    }

    /// Adds a part, which must end soon after [`Parts::stopped`] resolves.
    pub fn add(
        &mut self,
        name: &'static str,
        part: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        self.parts.push((name, Box::pin(part)));
    }

    /// Runs every part until `shutdown` resolves or one of them ends; returns the first
    /// error.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let mut set = tokio::task::JoinSet::new();
        for (name, part) in self.parts {
            let stop = self.stop.clone();
            set.spawn(async move {
                let result = part.await;
                if !stop.is_cancelled() {
                    tracing::warn!(part = name, "ended; stopping the others");
                    stop.cancel();
                }
                result.with_context(|| format!("{name} failed"))
            });
        }
        tokio::select! {
            _ = shutdown => self.stop.cancel(),
            _ = self.stop.cancelled() => {}
        }
        let mut first = Ok(());
        while let Some(joined) = set.join_next().await {
            let result = joined.context("a part panicked").and_then(|r| r);
            match (result, &first) {
                (Err(e), Ok(())) => first = Err(e),
                (Err(e), Err(_)) => tracing::error!(error = format!("{e:#}"), "also failed"),
                (Ok(()), _) => {}
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_stops_every_part() {
        let mut parts = Parts::new();
        for name in ["a", "b"] {
            let stop = parts.stopped();
            parts.add(name, async move {
                stop.await;
                Ok(())
            });
        }
        parts.run(std::future::ready(())).await.unwrap();
    }

    #[tokio::test]
    async fn one_part_failing_stops_the_others_and_its_error_is_returned() {
        let mut parts = Parts::new();
        let stop = parts.stopped();
        parts.add("waits", async move {
            stop.await;
            Ok(())
        });
        parts.add("fails", async { anyhow::bail!("no route to host") });
        let err = parts.run(std::future::pending()).await.unwrap_err();
        assert_eq!(format!("{err:#}"), "fails failed: no route to host");
    }
}
