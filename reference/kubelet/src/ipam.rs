//! Pod IP allocation from the node's pod CIDR, like the `host-local` CNI IPAM plugin:
//! the network address, the first address (the bridge gateway upstream) and the
//! broadcast address are never handed out, and allocation continues round-robin after
//! the last address given so a freed IP is not reused at once. Entry point: [`IpAllocator`].

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

/// Errors from allocating pod IPs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IpamError {
    /// Every usable address of the range is in use.
    #[error("no IP addresses available in range set: {0}")]
    Exhausted(IpNet),
}

/// Hands out unique pod IPs from one CIDR.
#[derive(Debug, Clone)]
pub struct IpAllocator {
    cidr: IpNet,
    in_use: BTreeSet<IpAddr>,
    last: Option<IpAddr>,
}

impl IpAllocator {
    /// An allocator over `cidr`.
    pub fn new(cidr: IpNet) -> Self {
        IpAllocator {
            cidr: cidr.trunc(),
            in_use: BTreeSet::new(),
            last: None,
        }
    }

    /// The range allocated from.
    pub fn cidr(&self) -> IpNet {
        self.cidr
    }

    fn usable(&self) -> Vec<IpAddr> {
        let network = self.cidr.network();
        let broadcast = self.cidr.broadcast();
        // Skip network, gateway (.1) and broadcast, as host-local does with a bridge.
        self.cidr
            .hosts()
            .filter(|ip| *ip != network && *ip != broadcast)
            .skip(1)
            .take(1 << 16)
            .collect()
    }

    /// Allocates the next free IP after the last one given.
    pub fn allocate(&mut self) -> Result<IpAddr, IpamError> {
        let usable = self.usable();
        let start = self
            .last
            .and_then(|last| usable.iter().position(|ip| *ip == last))
            .map(|i| i + 1)
            .unwrap_or(0);
        let n = usable.len();
        for offset in 0..n {
            let ip = usable[(start + offset) % n];
            if !self.in_use.contains(&ip) {
                self.in_use.insert(ip);
                self.last = Some(ip);
                return Ok(ip);
            }
        }
        Err(IpamError::Exhausted(self.cidr))
    }

    /// Returns `ip` to the pool.
    pub fn release(&mut self, ip: IpAddr) {
        self.in_use.remove(&ip);
    }

    /// How many IPs are in use.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn alloc(cidr: &str) -> IpAllocator {
        IpAllocator::new(cidr.parse().unwrap())
    }

    #[test]
    fn allocated_ips_are_unique_and_skip_network_gateway_and_broadcast() {
        let mut a = alloc("127.100.1.0/24");
        let ips: Vec<IpAddr> = (0..253).map(|_| a.allocate().unwrap()).collect();
        let unique: HashSet<_> = ips.iter().collect();
        assert_eq!(unique.len(), 253);
        assert_eq!(ips[0].to_string(), "127.100.1.2");
        assert_eq!(ips[252].to_string(), "127.100.1.254");
        assert_eq!(
            a.allocate(),
            Err(IpamError::Exhausted("127.100.1.0/24".parse().unwrap()))
        );
    }

    #[test]
    fn a_released_ip_is_not_reused_before_the_range_wraps() {
        let mut a = alloc("127.100.1.0/29");
        let first = a.allocate().unwrap();
        a.release(first);
        let second = a.allocate().unwrap();
        assert_ne!(first, second);
        assert_eq!(a.in_use(), 1);
    }

    #[test]
    fn after_wrapping_freed_ips_are_handed_out_again() {
        let mut a = alloc("127.100.1.0/29");
        let ips: Vec<IpAddr> = (0..5).map(|_| a.allocate().unwrap()).collect();
        a.release(ips[1]);
        assert_eq!(a.allocate().unwrap(), ips[1]);
    }
}
