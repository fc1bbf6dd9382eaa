//! glibc's allocator, tuned for a plan's memory (issue #18).
//!
//! A plan on a large tenant holds tens of thousands of small answers and parses `$batch`
//! answers of up to megabytes on the runtime's worker threads while the fetch runs on the main
//! thread. With glibc's defaults each thread allocates from an arena of its own (memory freed
//! in one is not reused by another), and the buffers of large answers, once freed, leave holes
//! in the heap; peak RSS was about twice the peak of live memory. One arena, and large blocks
//! (from 32 KiB) mapped and unmapped on their own, brought scenario 3 of `make bench` from
//! about 82 to 66 MB with the same wall time. Other allocators (musl's) are left as they are.

/// Applies the tuning; call first in `main`, before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; it is called before any other thread
    // exists, and both values are within the documented ranges (M_ARENA_MAX ≥ 1; an mmap
    // threshold below HEAP_MAX/2). A refused setting (return 0) leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * 1024);
    }
}
