//! The allocator the `kubesim` binary and the benches run with (not chosen by the library: a
//! program that links kubesim keeps its own global allocator).
//!
//! The simulation allocates and frees many small objects (API objects, watch events, informer
//! entries), and etcd's history between compactions is hundreds of MB on large clusters.
//! mimalloc's size-class free lists beat glibc malloc's consolidation and chunk unlinking here;
//! purging (returning freed pages to the OS after 10 ms) is turned off because the heap
//! plateaus once compaction starts and purged pages were faulted straight back in (2.4 s of
//! 12 s was the kernel zeroing pages for a 5,000-node run; reports/performance.md).
//! Transparent huge pages are off too (libmimalloc-sys's `no_thp` feature: mimalloc never
//! `madvise`s its arenas `MADV_HUGEPAGE`). With the common `defrag=madvise` kernel setting each
//! first touch of a madvised 2 MiB region may compact memory synchronously before zeroing it:
//! 1.7–2.4 s of system time in a 5,000-node idle hour, against 0.25–0.36 s with 4 KiB pages.
//! Allocation addresses never influence results: nothing iterates in pointer order.
//!
//! A program uses it with
//! `#[global_allocator] static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;` and a call to
//! [`configure`] first thing in `main`.

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Turns mimalloc's page purging off. Call before the simulation allocates much; harmless
/// (mimalloc is linked but unused) when the global allocator is another one.
pub fn configure() {
    // SAFETY: sets a process-wide allocator option; mimalloc's options are atomics.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
