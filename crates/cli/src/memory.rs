//! How the process's allocator treats large blocks.
//!
//! Each password check hashes with argon2id in a 19 MiB block, which a hashing worker gives back
//! when no check is waiting. glibc's malloc serves such a block with a mapping of its own, but
//! on freeing one it raises its mmap threshold to the block's size (up to 32 MiB), so from then
//! on the blocks come from per-thread arenas that keep freed memory: a thousand sign-ins left
//! the process hundreds of MiB larger. A fixed threshold turns that adjustment off.

/// Blocks of this size or more are mappings of their own, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`]. Call first thing in `main`, before any
/// other thread exists. Elsewhere (musl, other systems) it does nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn return_large_blocks_to_the_system() {
    // SAFETY: `mallopt` only sets one of malloc's tunables; it takes no pointers, and it runs
    // before any other thread could be allocating.
    let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
}

/// Fixes glibc's mmap threshold; nothing to do with other allocators.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks_to_the_system() {}
