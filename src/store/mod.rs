//! The etcd model: an MVCC key-value store with revisions, watch history and compaction.
//! See [`mvcc`] for what it reproduces of etcd v3 and what it leaves out.

pub mod mvcc;

pub use mvcc::{
    Compare, EventType, KeyRange, KeyValue, Op, Revision, Store, StoreError, TxnResult, WatchEvent,
};
