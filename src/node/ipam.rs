//! Pod IP allocation from the node's pod CIDR, like the CNI `host-local` IPAM plugin: addresses
//! are handed out in order starting at `.2` (`.1` is the bridge gateway), continuing after the
//! last one reserved and wrapping around, and released when the pod sandbox goes away.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// A /24 pod range such as 10.244.1.0/24.
#[derive(Clone, Debug)]
pub struct PodCidr {
    base: u32,
    used: BTreeSet<u32>,
    last: u32,
}

impl PodCidr {
    /// The `index`-th /24 of 10.244.0.0/16 (node IPAM in kube-controller-manager assigns them
    /// in registration order).
    pub fn nth(index: usize) -> PodCidr {
        let base = u32::from(Ipv4Addr::new(10, 244, 0, 0)) + ((index as u32 % 256) << 8);
        PodCidr { base, used: BTreeSet::new(), last: 1 }
    }

    pub fn cidr(&self) -> String {
        format!("{}/24", Ipv4Addr::from(self.base))
    }

    /// The next free address, or `None` when all 253 are taken.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for step in 1..=253 {
            // Hosts .2 … .254, starting after the last one handed out.
            let host = (self.last - 1 + step - 1) % 253 + 2;
            if self.used.insert(host) {
                self.last = host;
                return Some(Ipv4Addr::from(self.base + host));
            }
        }
        None
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&(u32::from(ip) - self.base));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_in_order_and_wraps() {
        let mut c = PodCidr::nth(1);
        assert_eq!(c.cidr(), "10.244.1.0/24");
        let a = c.allocate().unwrap();
        let b = c.allocate().unwrap();
        assert_eq!((a.to_string(), b.to_string()), ("10.244.1.2".into(), "10.244.1.3".into()));
        c.release(a);
        // host-local continues after the last reservation rather than reusing at once.
        assert_eq!(c.allocate().unwrap().to_string(), "10.244.1.4");
        for _ in 0..250 {
            c.allocate().unwrap(); // .5 … .254
        }
        assert_eq!(c.allocate(), Some(a), "wraps around to the released .2");
        assert_eq!(c.allocate(), None);
        c.release(b);
        assert_eq!(c.allocate(), Some(b));
    }
}
