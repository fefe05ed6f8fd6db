//! A node's labels packed into one allocation, for the scheduler plugins that read topology
//! labels on every node of a cycle (InterPodAffinity, PodTopologySpread).
//!
//! A `BTreeMap<String, String>` lookup on a node last touched many cycles ago is a cache miss
//! on the tree node, on each key compared and on the value: several per node, for thousands of
//! nodes per cycle. Packed, the labels are one contiguous block kept in the `NodeInfo`: one
//! miss, then a short scan. Upstream reads `node.Labels` (a Go map) the same way; this changes
//! only where the bytes sit.

use std::collections::BTreeMap;

/// Labels as `key length (u32 LE), value length (u32 LE), key, value` entries in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedLabels(Box<[u8]>);

impl PackedLabels {
    pub fn new(labels: Option<&BTreeMap<String, String>>) -> Self {
        let Some(labels) = labels else {
            return PackedLabels::default();
        };
        let size = labels.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
        let mut buf = Vec::with_capacity(size);
        for (k, v) in labels {
            buf.extend_from_slice(&len_u32(k).to_le_bytes());
            buf.extend_from_slice(&len_u32(v).to_le_bytes());
            buf.extend_from_slice(k.as_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
        PackedLabels(buf.into_boxed_slice())
    }

    /// The value of `key`, as `labels.get(key)` on the map it was packed from.
    pub fn get(&self, key: &str) -> Option<&str> {
        let mut rest: &[u8] = &self.0;
        while let Some((header, tail)) = rest.split_first_chunk::<8>() {
            let key_len = read_len(&header[..4]);
            let value_len = read_len(&header[4..]);
            let (k, tail) = tail.split_at(key_len);
            let (v, tail) = tail.split_at(value_len);
            if k == key.as_bytes() {
                // Packed from a `String`: always UTF-8.
                return std::str::from_utf8(v).ok();
            }
            rest = tail;
        }
        None
    }
}

fn len_u32(s: &str) -> u32 {
    // Label keys are at most 317 bytes and values 63 (and the API server validates them).
    u32::try_from(s.len()).expect("a label shorter than 4 GiB")
}

fn read_len(bytes: &[u8]) -> usize {
    let mut le = [0u8; 4];
    le.copy_from_slice(bytes);
    u32::from_le_bytes(le) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree_with_the_map() {
        let map: BTreeMap<String, String> = [
            ("kubernetes.io/hostname", "node-1"),
            ("topology.kubernetes.io/zone", "zone-a"),
            ("empty", ""),
            ("ünïcode/κλειδί", "τιμή"),
            ("a", "b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let packed = PackedLabels::new(Some(&map));
        for key in [
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
            "empty",
            "ünïcode/κλειδί",
            "a",
            "",
            "kubernetes.io",
            "topology.kubernetes.io/zone-x",
            "b",
        ] {
            assert_eq!(packed.get(key), map.get(key).map(String::as_str), "{key:?}");
        }
        assert_eq!(PackedLabels::new(None).get("a"), None);
        assert_eq!(PackedLabels::new(Some(&BTreeMap::new())).get(""), None);
    }
}
