//! The `kubesim` command.
//!
//! Allocator: the simulation allocates and frees many small objects (API objects, watch events,
//! informer entries), and etcd's history between compactions is hundreds of MB on large
//! clusters. mimalloc's size-class free lists beat glibc malloc's consolidation and chunk
//! unlinking here; purging (returning freed pages to the OS after 10 ms) is turned off because
//! the heap plateaus once compaction starts and purged pages were faulted straight back in
//! (2.4 s of 12 s was the kernel zeroing pages for a 5,000-node run; reports/performance.md).
//! Allocation addresses never influence results: nothing iterates in pointer order.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // SAFETY: sets a process-wide allocator option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    std::process::exit(kubesim::cli::main());
}
