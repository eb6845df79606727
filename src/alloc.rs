/*!
The binary's allocator: the system's, with big blocks on huge pages.

Loading a cached tokenizer.json model builds tables of several MiB at once
(gemma3's merge map alone is 17 MiB): on 4 KiB pages each one is thousands
of page faults, and those faults were a third of gemma3's cached start-up
(9,750 faults for a one-line audit). Marking the 2 MiB-aligned interior of
every block of at least 2 MiB `MADV_HUGEPAGE` before it is touched makes
it a handful of huge-page faults instead, as glibc does with its
`glibc.malloc.hugetlb=1` tunable, which a program cannot set for itself
(the tunables are read before `main`). Small blocks, the common case, go
to the system allocator untouched, and where the kernel has no transparent
huge pages the advice is refused and nothing changes.

Only the binary installs it (`main.rs`): a library does not choose its
users' allocator.
*/

use std::alloc::{GlobalAlloc, Layout, System};

/// Huge pages are 2 MiB on x86-64 and on the usual aarch64 kernels (also
/// the size `tokenize::bpe::huge` aligns its tables to).
pub const HUGE: usize = 2 << 20;

/// [`System`], advising huge pages for blocks of at least [`HUGE`] bytes.
pub struct HugeBlocks;

// SAFETY: every block comes from `System` and goes back to it with the
// layout it was asked with; the advice neither moves nor changes memory.
unsafe impl GlobalAlloc for HugeBlocks {
    // Inline: without LTO, the binary's allocator shim would otherwise
    // make a call into this crate for every allocation.
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let block = unsafe { System.alloc(layout) };
        advise(block, layout.size());
        block
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let block = unsafe { System.alloc_zeroed(layout) };
        advise(block, layout.size());
        block
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `System` with this layout.
        unsafe { System.dealloc(block, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; the caller vouches for `size`.
        let moved = unsafe { System.realloc(block, layout, size) };
        // A growing vector: the pages it had stay as they are, the new part
        // (and the old, if the block moved) may be huge.
        advise(moved, size);
        moved
    }
}

/// Advises huge pages for the whole 2 MiB pages inside `[block, block +
/// size)`. Advice only: failure (no transparent huge pages, another OS) is
/// ignored.
fn advise(block: *mut u8, size: usize) {
    if block.is_null() || size < HUGE {
        return;
    }
    let start = (block as usize).next_multiple_of(HUGE);
    let end = (block as usize + size) / HUGE * HUGE;
    if end <= start {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside a block the allocator just handed
    // out, page-aligned; MADV_HUGEPAGE changes how its pages are backed,
    // never their contents.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A big block's aligned interior is marked for huge pages: the kernel
    /// lists the advice as the `hg` flag of the mapping that holds it
    /// (`/proc/self/smaps`). Without transparent huge pages the advice is
    /// refused, and this says so instead of passing.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_big_block_is_advised_huge_pages() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("NOT CHECKED: this kernel has no transparent huge pages");
            return;
        }
        let layout = Layout::from_size_align(4 * HUGE, 64).unwrap();
        let block = unsafe { HugeBlocks.alloc(layout) };
        assert!(!block.is_null());
        let inside = (block as usize).next_multiple_of(HUGE);
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut holder = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((from, to)) = range.split_once('-') {
                    if let (Ok(from), Ok(to)) = (
                        usize::from_str_radix(from, 16),
                        usize::from_str_radix(to, 16),
                    ) {
                        holder = (from..to).contains(&inside).then_some(line);
                        continue;
                    }
                }
            }
            if let (Some(mapping), Some(flags)) = (holder, line.strip_prefix("VmFlags:")) {
                assert!(
                    flags.split_whitespace().any(|f| f == "hg"),
                    "{mapping}: flags {flags}"
                );
                unsafe { HugeBlocks.dealloc(block, layout) };
                return;
            }
        }
        panic!("no mapping in /proc/self/smaps holds {inside:#x}");
    }

    /// Blocks of every size class come back usable, zeroed when asked, and
    /// keep their contents through a growing and a shrinking `realloc`.
    #[test]
    fn blocks_hold_what_is_written() {
        let a = HugeBlocks;
        for size in [8, 4096, HUGE - 1, HUGE, 3 * HUGE + 12_345] {
            let layout = Layout::from_size_align(size, 64).unwrap();
            unsafe {
                let zeroed = a.alloc_zeroed(layout);
                assert!(!zeroed.is_null());
                assert!(std::slice::from_raw_parts(zeroed, size)
                    .iter()
                    .all(|&b| b == 0));
                a.dealloc(zeroed, layout);

                let block = a.alloc(layout);
                assert!(!block.is_null());
                for i in (0..size).step_by(4093) {
                    *block.add(i) = (i % 251) as u8;
                }
                let grown = a.realloc(block, layout, 2 * size + HUGE);
                let grown_layout = Layout::from_size_align(2 * size + HUGE, 64).unwrap();
                for i in (0..size).step_by(4093) {
                    assert_eq!(*grown.add(i), (i % 251) as u8, "at {i} of {size}");
                }
                let shrunk = a.realloc(grown, grown_layout, size / 2 + 1);
                for i in (0..size / 2 + 1).step_by(4093) {
                    assert_eq!(*shrunk.add(i), (i % 251) as u8, "at {i} of {size}");
                }
                a.dealloc(shrunk, Layout::from_size_align(size / 2 + 1, 64).unwrap());
            }
        }
    }
}
