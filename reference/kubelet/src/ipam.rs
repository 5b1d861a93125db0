//! Pod IP allocation from the node's pod CIDR, like the `host-local` CNI IPAM plugin:
//! the network address, the first address (the bridge gateway upstream) and the
//! broadcast address are never handed out, and allocation continues round-robin after
//! the last address given so a freed IP is not reused at once. Entry point: [`IpAllocator`].

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

/// Errors from allocating pod IPs.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
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

    /// The gateway address of the range (its first address), which pods route through
    /// and which is never handed out.
    pub fn gateway(&self) -> Option<IpAddr> {
        let first = to_u128(self.cidr.network()) + 1;
        (first < to_u128(self.cidr.broadcast())).then(|| from_u128(first, &self.cidr))
    }

    /// The usable range as numbers: network+2 (network and gateway skipped) to the
    /// address before broadcast.
    fn bounds(&self) -> Option<(u128, u128)> {
        let first = to_u128(self.cidr.network()) + 2;
        let last = to_u128(self.cidr.broadcast()).checked_sub(1)?;
        (first <= last).then_some((first, last))
    }

    /// Allocates the next free IP after the last one given.
    pub fn allocate(&mut self) -> Result<IpAddr, IpamError> {
        let exhausted = IpamError::Exhausted(self.cidr);
        let (first, last) = self.bounds().ok_or(exhausted.clone())?;
        let size = last - first + 1;
        let start = self
            .last
            .map(to_u128)
            .filter(|n| (first..=last).contains(n))
            .map_or(0, |n| n - first + 1);
        // At most `in_use + 1` candidates can be needed before a free one shows up.
        let tries = size.min(self.in_use.len() as u128 + 1);
        for offset in 0..tries {
            let ip = from_u128(first + (start + offset) % size, &self.cidr);
            if !self.in_use.contains(&ip) {
                self.in_use.insert(ip);
                self.last = Some(ip);
                return Ok(ip);
            }
        }
        Err(exhausted)
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

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, cidr: &IpNet) -> IpAddr {
    match cidr {
        IpNet::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from(
            u32::try_from(n).unwrap_or(u32::MAX),
        )),
        IpNet::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(n)),
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
    fn the_gateway_is_the_first_address_and_tiny_ranges_have_none() {
        assert_eq!(
            alloc("10.244.3.0/24").gateway().map(|g| g.to_string()),
            Some("10.244.3.1".to_string())
        );
        assert_eq!(alloc("10.0.0.1/32").gateway(), None);
    }

    #[test]
    fn ipv6_ranges_and_tiny_ranges_work() {
        assert_eq!(
            alloc("fd00::/120").allocate().unwrap().to_string(),
            "fd00::2"
        );
        assert!(matches!(
            alloc("127.100.1.0/31").allocate(),
            Err(IpamError::Exhausted(_))
        ));
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
