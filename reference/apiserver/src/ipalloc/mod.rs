//! ClusterIP and NodePort allocation for Services, coordinated through the store so that
//! several API servers on one store never hand out the same address or port.
//!
//! Entry points: [`Allocators::new`], [`Allocators::admit_service`], the `release*`
//! methods, [`Allocators::repair_once`] and [`Allocators::spawn_repair`].
//!
//! Design: upstream's. Each range is one `RangeAllocation` object, a bitmap at
//! `/registry/ranges/serviceips` and `/registry/ranges/servicenodeports`, changed only
//! by compare-and-swap on its revision and retried on conflict ([`range`]). One key per
//! allocated value (create-if-absent, like upstream's newer `IPAddress` objects) was
//! the alternative: it spreads writers over many keys, but picking *any* free value
//! then needs a listing of every taken one (or blind guesses that fail ever more often
//! as the range fills), "range is full" needs a full scan, node ports have no upstream
//! counterpart, and the repair needs the same listing anyway. The bitmap gives a
//! complete, consistent view in one read and one atomic write, keeps upstream's keys
//! and format, and costs only that allocations in one range serialise on one key,
//! which is fine at the rate Services are created (a /24 is 32 bytes, a /12 128 KiB).
//!
//! An allocation is stored before its Service and a release after its Service is gone,
//! so a crash in between can only leak, never hand out twice; [`repair`] finds leaks.
//! What to take is decided on bitmaps by the pure functions of [`plan`].

pub mod bitmap;
pub mod plan;
pub mod range;
pub mod repair;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ipnet::Ipv4Net;
use refkube_resources::validation::Cause;
use refkube_store::Store;
use serde_json::Value;
use tokio::sync::watch;

use plan::Ranges;
use range::{NODE_PORTS_KEY, RangeError, RangeStore, SERVICE_IPS_KEY};
use repair::{Kind, Repair};

/// What one admission allocated, so a failed write can give it back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocated {
    pub ips: Vec<Ipv4Addr>,
    pub ports: Vec<u16>,
}

/// Why a Service could not get its address or ports.
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    /// The Service asks for what it cannot have (taken, out of range, range full): 422.
    #[error("invalid allocation request")]
    Invalid(Vec<Cause>),
    /// The range could not be read or changed: 500, with upstream's wording.
    #[error("failed to allocate {what}: {source}")]
    Range {
        what: &'static str,
        source: RangeError,
    },
}

/// The ClusterIP and NodePort ranges of the cluster, as stored.
#[derive(Debug)]
pub struct Allocators {
    ranges: Ranges,
    ips: Arc<RangeStore>,
    ports: Arc<RangeStore>,
    /// Where this server's next search for a free value starts: just after its last
    /// pick, so a value freed a moment ago is not handed out again at once.
    ip_cursor: AtomicUsize,
    port_cursor: AtomicUsize,
    repairs: [Arc<Repair>; 2],
}

impl Allocators {
    pub fn new(net: Ipv4Net, port_range: (u16, u16), store: Arc<dyn Store>) -> Self {
        let ranges = Ranges::new(net, port_range);
        let ips = Arc::new(RangeStore::new(
            store.clone(),
            SERVICE_IPS_KEY,
            "serviceipallocations",
            ranges.ip_range_text(),
            ranges.ip_size(),
        ));
        let ports = Arc::new(RangeStore::new(
            store.clone(),
            NODE_PORTS_KEY,
            "servicenodeportallocations",
            ranges.port_range_text(),
            ranges.port_size(),
        ));
        let services = refkube_resources::registry::lookup("", "v1", "services")
            .map(|i| crate::keys::prefix(i, None))
            .unwrap_or_else(|| "/registry/services/specs/".into());
        let repair = |range: &Arc<RangeStore>, kind| {
            Arc::new(Repair::new(
                store.clone(),
                range.clone(),
                ranges.clone(),
                kind,
                services.clone(),
            ))
        };
        let repairs = [
            repair(&ips, Kind::ClusterIps),
            repair(&ports, Kind::NodePorts),
        ];
        Self {
            ranges,
            ips,
            ports,
            ip_cursor: AtomicUsize::new(1),
            port_cursor: AtomicUsize::new(0),
            repairs,
        }
    }

    /// The first usable address of the range: the `kubernetes` Service's ClusterIP.
    pub fn first_ip(&self) -> Ipv4Addr {
        self.ranges.first_ip()
    }

    /// Allocates (or reserves the requested) ClusterIP and NodePorts of a Service being
    /// created, or, with `old`, updated (ClusterIP and existing NodePorts carry over).
    /// A dry run checks against the stored ranges and stores nothing.
    pub async fn admit_service(
        &self,
        svc: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> Result<Allocated, AllocError> {
        let needs = plan::needs(&self.ranges, svc, old).map_err(AllocError::Invalid)?;
        let write = !dry_run;
        let mut got = Allocated::default();
        let mut ip = None;
        if let Some(need) = needs.ip {
            let cursor = self.ip_cursor.load(Ordering::Relaxed);
            let off = self
                .ips
                .modify(write, |bm| plan::take_ip(&self.ranges, bm, need, cursor))
                .await
                .map_err(|source| AllocError::Range {
                    what: "a serviceIP",
                    source,
                })?
                .map_err(|c| AllocError::Invalid(vec![c]))?;
            self.ip_cursor.store(off + 1, Ordering::Relaxed);
            ip = Some(self.ranges.ip_at(off));
            got.ips.extend(ip.filter(|_| write));
        }
        let mut ports = Vec::new();
        if !needs.ports.is_empty() {
            let cursor = self.port_cursor.load(Ordering::Relaxed);
            let taken = self
                .ports
                .modify(write, |bm| {
                    plan::take_ports(&self.ranges, bm, &needs.ports, cursor)
                })
                .await
                .map_err(|source| AllocError::Range {
                    what: "a nodePort",
                    source,
                })
                .and_then(|r| r.map_err(|c| AllocError::Invalid(vec![c])));
            ports = match taken {
                Ok(t) => t,
                Err(e) => {
                    self.release(&got).await;
                    return Err(e);
                }
            };
            if let Some(off) = ports.last().and_then(|(_, p)| self.ranges.port_offset(*p)) {
                self.port_cursor.store(off + 1, Ordering::Relaxed);
            }
            if write {
                got.ports.extend(ports.iter().map(|(_, p)| *p));
            }
        }
        plan::fill(svc, ip, &ports);
        Ok(got)
    }

    /// Gives values back. A failure is only logged: the value stays marked, and the
    /// repair pass frees it once it has seen it unused on enough passes.
    pub async fn release(&self, a: &Allocated) {
        let ips: Vec<usize> = a
            .ips
            .iter()
            .filter_map(|ip| self.ranges.ip_offset(*ip))
            .collect();
        let ports: Vec<usize> = a
            .ports
            .iter()
            .filter_map(|p| self.ranges.port_offset(*p))
            .collect();
        for (range, offsets) in [(&self.ips, ips), (&self.ports, ports)] {
            if offsets.is_empty() {
                continue;
            }
            let cleared = range
                .modify(true, |bm| {
                    offsets.iter().for_each(|o| bm.clear(*o));
                    Ok::<_, std::convert::Infallible>(())
                })
                .await;
            if let Err(e) = cleared {
                tracing::warn!(range = range.key(), error = %e, "release failed; the repair pass will free it");
            }
        }
    }

    /// Gives back what a deleted Service held.
    pub async fn release_service(&self, svc: &Value) {
        self.release(&Allocated {
            ips: cluster_ips(svc),
            ports: node_ports(svc),
        })
        .await;
    }

    /// Gives back what an update dropped (node ports removed, the address of a Service
    /// turned into an ExternalName).
    pub async fn release_dropped(&self, old: &Value, new: &Value) {
        let (ips, ports) = (cluster_ips(new), node_ports(new));
        self.release(&Allocated {
            ips: cluster_ips(old)
                .into_iter()
                .filter(|ip| !ips.contains(ip))
                .collect(),
            ports: node_ports(old)
                .into_iter()
                .filter(|p| !ports.contains(p))
                .collect(),
        })
        .await;
    }

    /// One repair pass over both ranges; the first one creates them.
    pub async fn repair_once(&self) -> Result<(), RangeError> {
        for r in &self.repairs {
            r.run_once().await?;
        }
        Ok(())
    }

    /// Runs a repair pass every `every` until `shutdown` turns true (upstream repairs
    /// every 3 minutes).
    pub fn spawn_repair(
        &self,
        every: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let repairs = self.repairs.clone();
        tokio::spawn(async move {
            // tokio's interval panics on zero.
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate; the start-up pass already ran.
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => return,
                    _ = tick.tick() => {}
                }
                for r in &repairs {
                    if let Err(e) = r.run_once().await {
                        tracing::warn!(?r, error = %e, "repair pass failed");
                    }
                }
            }
        })
    }
}

/// The ClusterIPs a Service holds.
pub fn cluster_ips(svc: &Value) -> Vec<Ipv4Addr> {
    let spec = &svc["spec"];
    let mut out: Vec<Ipv4Addr> = spec["clusterIPs"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    if let Some(ip) = spec["clusterIP"].as_str().and_then(|s| s.parse().ok())
        && !out.contains(&ip)
    {
        out.push(ip);
    }
    out
}

/// The NodePorts a Service holds.
pub fn node_ports(svc: &Value) -> Vec<u16> {
    svc["spec"]["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| u16::try_from(p["nodePort"].as_u64()?).ok())
                .filter(|p| *p > 0)
                .collect()
        })
        .unwrap_or_default()
}
