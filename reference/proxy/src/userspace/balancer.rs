//! Round-robin endpoint choice with ClientIP session affinity: upstream's `LoadBalancerRR`
//! (`pkg/proxy/userspace/roundrobin.go`, removed in 1.26). Pure: time is passed in.
//! Entry point: [`Balancer::next`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::model::SessionAffinity;

/// Where a client IP went last, and when.
#[derive(Debug, Clone, Copy)]
struct Sticky {
    endpoint: SocketAddr,
    last_used: Instant,
}

/// The load-balancing state of one service port.
#[derive(Debug, Clone)]
pub struct Balancer {
    endpoints: Vec<SocketAddr>,
    index: usize,
    affinity: SessionAffinity,
    clients: HashMap<IpAddr, Sticky>,
}

impl Balancer {
    /// A balancer without endpoints.
    pub fn new(affinity: SessionAffinity) -> Self {
        Self {
            endpoints: Vec::new(),
            index: 0,
            affinity,
            clients: HashMap::new(),
        }
    }

    /// The current endpoints.
    pub fn endpoints(&self) -> &[SocketAddr] {
        &self.endpoints
    }

    /// Whether any endpoint is usable.
    pub fn has_endpoints(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// Replace the endpoint set. Unchanged sets keep the round-robin position; a changed set
    /// restarts it and forgets clients pinned to endpoints that left (upstream's
    /// `removeStaleAffinity`), so they are re-balanced rather than sent to a dead pod.
    pub fn set_endpoints(&mut self, endpoints: Vec<SocketAddr>) {
        let mut sorted = endpoints;
        sorted.sort();
        sorted.dedup();
        if sorted == self.endpoints {
            return;
        }
        self.clients.retain(|_, s| sorted.contains(&s.endpoint));
        self.endpoints = sorted;
        self.index = 0;
    }

    /// Change the affinity setting; a change forgets every pinned client.
    pub fn set_affinity(&mut self, affinity: SessionAffinity) {
        if affinity != self.affinity {
            self.affinity = affinity;
            self.clients.clear();
        }
    }

    /// The endpoint for a new connection from `client`. With ClientIP affinity, a client seen
    /// within the timeout gets its previous endpoint, unless `reset` (its last dial failed).
    /// `None` when there are no endpoints.
    pub fn next(&mut self, client: IpAddr, now: Instant, reset: bool) -> Option<SocketAddr> {
        if self.endpoints.is_empty() {
            return None;
        }
        let ttl = match self.affinity {
            SessionAffinity::ClientIp { timeout_seconds } => {
                Some(Duration::from_secs(timeout_seconds.into()))
            }
            SessionAffinity::None => None,
        };
        if let Some(ttl) = ttl
            && !reset
            && let Some(s) = self.clients.get_mut(&client)
            && now.saturating_duration_since(s.last_used) < ttl
        {
            s.last_used = now;
            return Some(s.endpoint);
        }
        let endpoint = self.endpoints[self.index % self.endpoints.len()];
        self.index = (self.index + 1) % self.endpoints.len();
        if ttl.is_some() {
            self.clients.insert(
                client,
                Sticky {
                    endpoint,
                    last_used: now,
                },
            );
        }
        Some(endpoint)
    }

    /// Forget clients idle for longer than the affinity timeout.
    pub fn cleanup(&mut self, now: Instant) {
        if let SessionAffinity::ClientIp { timeout_seconds } = self.affinity {
            let ttl = Duration::from_secs(timeout_seconds.into());
            self.clients
                .retain(|_, s| now.saturating_duration_since(s.last_used) < ttl);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn client(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    fn three() -> Vec<SocketAddr> {
        vec![
            addr("10.1.0.1:80"),
            addr("10.1.0.2:80"),
            addr("10.1.0.3:80"),
        ]
    }

    #[test]
    fn without_endpoints_there_is_nothing_to_choose() {
        let mut b = Balancer::new(SessionAffinity::None);
        assert_eq!(b.next(client(1), Instant::now(), false), None);
    }

    #[test]
    fn connections_rotate_over_every_endpoint() {
        let mut b = Balancer::new(SessionAffinity::None);
        b.set_endpoints(three());
        let now = Instant::now();
        let picks: Vec<_> = (0..6)
            .map(|_| b.next(client(1), now, false).unwrap())
            .collect();
        assert_eq!(picks[..3], three()[..]);
        assert_eq!(picks[3..], three()[..]);
    }

    #[test]
    fn client_ip_affinity_pins_a_client_until_the_timeout() {
        let mut b = Balancer::new(SessionAffinity::ClientIp {
            timeout_seconds: 10,
        });
        b.set_endpoints(three());
        let t0 = Instant::now();
        let first = b.next(client(1), t0, false).unwrap();
        let other = b.next(client(2), t0, false).unwrap();
        assert_ne!(first, other, "a new client is balanced");
        for i in 1..5 {
            assert_eq!(
                b.next(client(1), t0 + Duration::from_secs(i), false),
                Some(first)
            );
        }
        // Idle longer than the timeout: balanced again (the next in rotation).
        let later = b
            .next(client(1), t0 + Duration::from_secs(30), false)
            .unwrap();
        assert_ne!(later, first);
    }

    #[test]
    fn a_failed_dial_resets_the_clients_affinity() {
        let mut b = Balancer::new(SessionAffinity::ClientIp {
            timeout_seconds: 10,
        });
        b.set_endpoints(three());
        let now = Instant::now();
        let first = b.next(client(1), now, false).unwrap();
        let retry = b.next(client(1), now, true).unwrap();
        assert_ne!(first, retry);
        assert_eq!(
            b.next(client(1), now, false),
            Some(retry),
            "pinned to the new endpoint"
        );
    }

    #[test]
    fn clients_pinned_to_a_removed_endpoint_are_rebalanced() {
        let mut b = Balancer::new(SessionAffinity::ClientIp {
            timeout_seconds: 100,
        });
        b.set_endpoints(three());
        let now = Instant::now();
        let first = b.next(client(1), now, false).unwrap();
        b.set_endpoints(three().into_iter().filter(|e| *e != first).collect());
        for _ in 0..5 {
            assert_ne!(b.next(client(1), now, false), Some(first));
        }
    }

    #[test]
    fn an_unchanged_endpoint_set_keeps_the_rotation() {
        let mut b = Balancer::new(SessionAffinity::None);
        b.set_endpoints(three());
        let now = Instant::now();
        let a = b.next(client(1), now, false);
        b.set_endpoints(three().into_iter().rev().collect());
        assert_ne!(b.next(client(1), now, false), a);
    }

    #[test]
    fn cleanup_forgets_idle_clients() {
        let mut b = Balancer::new(SessionAffinity::ClientIp { timeout_seconds: 1 });
        b.set_endpoints(three());
        let t0 = Instant::now();
        b.next(client(1), t0, false);
        b.cleanup(t0 + Duration::from_secs(5));
        assert!(b.clients.is_empty());
    }
}
