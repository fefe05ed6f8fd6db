//! A node's labels packed into one allocation, for the scheduler plugins that read topology
//! labels on every node of a cycle (InterPodAffinity, PodTopologySpread).
//!
//! A `BTreeMap<String, String>` lookup on a node last touched many cycles ago is a cache miss
//! on the tree node, on each key compared and on the value: several per node, for thousands of
//! nodes per cycle. Packed, the labels are one contiguous block kept in the `NodeInfo`: one
//! miss, then a short scan. Upstream reads `node.Labels` (a Go map) the same way; this changes
//! only where the bytes sit.

use std::collections::BTreeMap;

/// Labels as `key length, value length, key, value` entries in key order, in one string. Each
/// length is two ASCII bytes of 7 bits (so the block stays UTF-8 and values are sliced out
/// without re-validation); labels are far shorter than the 16,383-byte limit this gives
/// (keys at most 317 bytes, values 63).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedLabels(Box<str>);

/// The longest key or value a packed entry can hold.
const MAX_LEN: usize = (1 << 14) - 1;

impl PackedLabels {
    /// `None` if a key or value is longer than the packing allows (the caller then reads the
    /// map itself).
    pub fn new(labels: Option<&BTreeMap<String, String>>) -> Option<Self> {
        let Some(labels) = labels else {
            return Some(PackedLabels::default());
        };
        let size = labels.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
        let mut text = String::with_capacity(size);
        for (k, v) in labels {
            if k.len() > MAX_LEN || v.len() > MAX_LEN {
                return None;
            }
            push_len(&mut text, k.len());
            push_len(&mut text, v.len());
            text.push_str(k);
            text.push_str(v);
        }
        Some(PackedLabels(text.into_boxed_str()))
    }

    /// The value of `key`, as `labels.get(key)` on the map it was packed from.
    pub fn get(&self, key: &str) -> Option<&str> {
        let text = &*self.0;
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(header) = bytes.get(at..at + 4) {
            let key_len = read_len(header[0], header[1]);
            let value_len = read_len(header[2], header[3]);
            let key_start = at + 4;
            let value_start = key_start + key_len;
            let next = value_start + value_len;
            if &bytes[key_start..value_start] == key.as_bytes() {
                return text.get(value_start..next);
            }
            at = next;
        }
        None
    }
}

fn push_len(text: &mut String, len: usize) {
    // Both bytes are below 0x80: ASCII.
    text.push(char::from((len >> 7) as u8));
    text.push(char::from((len & 0x7f) as u8));
}

fn read_len(high: u8, low: u8) -> usize {
    (usize::from(high) << 7) | usize::from(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree_with_the_map() {
        let long_value = "v".repeat(300);
        let map: BTreeMap<String, String> = [
            ("kubernetes.io/hostname", "node-1"),
            ("topology.kubernetes.io/zone", "zone-a"),
            ("empty", ""),
            ("ünïcode/κλειδί", "τιμή"),
            ("a", "b"),
            ("long", long_value.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let packed = PackedLabels::new(Some(&map)).expect("short labels pack");
        for key in [
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
            "empty",
            "ünïcode/κλειδί",
            "a",
            "long",
            "",
            "kubernetes.io",
            "topology.kubernetes.io/zone-x",
            "b",
        ] {
            assert_eq!(packed.get(key), map.get(key).map(String::as_str), "{key:?}");
        }
        assert_eq!(PackedLabels::new(None).expect("empty").get("a"), None);
        assert_eq!(PackedLabels::new(Some(&BTreeMap::new())).expect("empty").get(""), None);
    }

    #[test]
    fn oversized_labels_are_not_packed() {
        let map: BTreeMap<String, String> = [("k".to_string(), "v".repeat(MAX_LEN + 1))].into();
        assert_eq!(PackedLabels::new(Some(&map)), None);
        let at_limit: BTreeMap<String, String> = [("k".to_string(), "v".repeat(MAX_LEN))].into();
        assert_eq!(PackedLabels::new(Some(&at_limit)).expect("fits").get("k").map(str::len), Some(MAX_LEN));
    }
}
