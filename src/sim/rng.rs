//! One random stream per component.
//!
//! Every component gets its own ChaCha8 generator seeded from the scenario seed and the
//! component's name, so an extra draw in one kubelet never shifts the scheduler's choices
//! (the same idea as TigerBeetle's separate PRNG streams for network, storage and cluster).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::hash::StableHasher;

/// The generator type every component uses.
pub type SimRng = ChaCha8Rng;

/// The stream for component `name` under scenario seed `seed`.
pub fn component_rng(seed: u64, name: &str) -> SimRng {
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        let mut h = StableHasher::new();
        h.u64(seed);
        h.str(name);
        h.u64(i as u64);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_depend_on_seed_and_name_only() {
        let a: u64 = component_rng(7, "kube-scheduler").gen();
        let b: u64 = component_rng(7, "kube-scheduler").gen();
        let c: u64 = component_rng(7, "kubelet/worker-1").gen();
        let d: u64 = component_rng(8, "kube-scheduler").gen();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
