//! Property test: random sequences of etcd operations keep the MVCC invariants and agree with
//! a deliberately simple reference model (a full copy of the key space per revision).

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim::store::{Compare, KeyRange, Op, Store, StoreError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Put(u8, u16),
    Delete(u8),
    DeletePrefix(u8),
    CreateIfAbsent(u8, u16),
    Compact(u8),
    ReadAt(u8),
}

fn key(k: u8) -> String {
    format!("/k/{}/{}", k % 3, k)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..12, any::<u16>()).prop_map(|(k, v)| Step::Put(k, v)),
        2 => (0u8..12).prop_map(Step::Delete),
        1 => (0u8..3).prop_map(Step::DeletePrefix),
        2 => (0u8..12, any::<u16>()).prop_map(|(k, v)| Step::CreateIfAbsent(k, v)),
        1 => any::<u8>().prop_map(Step::Compact),
        2 => any::<u8>().prop_map(Step::ReadAt),
    ]
}

/// (value, create_revision, mod_revision, version) per key.
type Snapshot = BTreeMap<String, (u16, i64, i64, i64)>;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, rng_seed: proptest::test_runner::RngSeed::Fixed(20261120), ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_reference_model(steps in proptest::collection::vec(step(), 1..60)) {
        let mut store: Store<u16> = Store::new();
        // history[r] = key space at revision r (r ≥ 1).
        let mut history: Vec<Snapshot> = vec![Snapshot::new(), Snapshot::new()];
        let mut compacted = 0i64;
        for s in steps {
            let before = store.revision();
            let mut next = history.last().unwrap().clone();
            let rev = before + 1;
            let mut wrote = false;
            match s {
                Step::Put(k, v) => {
                    store.put(&key(k), Arc::new(v));
                    let e = next.get(&key(k)).copied();
                    next.insert(key(k), (v, e.map_or(rev, |e| e.1), rev, e.map_or(1, |e| e.3 + 1)));
                    wrote = true;
                }
                Step::Delete(k) => {
                    let n = store.delete(KeyRange::Key(key(k))).len();
                    wrote = next.remove(&key(k)).is_some();
                    prop_assert_eq!(n == 1, wrote);
                }
                Step::DeletePrefix(p) => {
                    let prefix = format!("/k/{p}/");
                    let n = store.delete(KeyRange::Prefix(prefix.clone())).len();
                    let victims: Vec<String> = next.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
                    prop_assert_eq!(n, victims.len());
                    for v in &victims { next.remove(v); }
                    wrote = !victims.is_empty();
                }
                Step::CreateIfAbsent(k, v) => {
                    let r = store.txn(&[Compare { key: key(k), mod_revision: 0 }], vec![Op::Put(key(k), Arc::new(v))], vec![]);
                    prop_assert_eq!(r.succeeded, !next.contains_key(&key(k)));
                    if r.succeeded {
                        next.insert(key(k), (v, rev, rev, 1));
                        wrote = true;
                    }
                }
                Step::Compact(x) => {
                    let target = i64::from(x) % (before + 1);
                    let r = store.compact(target);
                    if target > compacted && target <= before {
                        prop_assert!(r.is_ok());
                        compacted = target;
                    } else {
                        prop_assert!(r.is_err());
                    }
                }
                Step::ReadAt(x) => {
                    let at = i64::from(x) % (before + 2);
                    let got = store.range(&KeyRange::Prefix("/k/".into()), at);
                    if at > before {
                        prop_assert_eq!(got, Err(StoreError::FutureRevision));
                    } else if at > 0 && at < compacted {
                        prop_assert_eq!(got, Err(StoreError::Compacted { compact_revision: compacted }));
                    } else {
                        let want = &history[if at <= 0 { before } else { at } as usize];
                        let got: Snapshot = got.unwrap().into_iter().map(|kv| (kv.key.to_string(), (*kv.value, kv.create_revision, kv.mod_revision, kv.version))).collect();
                        prop_assert_eq!(&got, want);
                    }
                }
            }
            // Revisions: +1 per writing operation, unchanged otherwise.
            prop_assert_eq!(store.revision(), if wrote { rev } else { before });
            if wrote { history.push(next); }
            prop_assert_eq!(store.len(), history.last().unwrap().len());
            // Watch history from any retained revision is in strictly increasing order.
            if let Ok(events) = store.watch_history(&KeyRange::Prefix("/".into()), compacted.max(1)) {
                prop_assert!(events.windows(2).all(|w| w[0].revision <= w[1].revision));
                prop_assert!(events.iter().all(|e| e.revision >= compacted));
            }
        }
    }
}
