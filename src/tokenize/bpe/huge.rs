/*!
Zeroed tables that ask the kernel for huge pages.

The piece cache (4 MiB per counter) and the rank table (up to 4 MiB) are
probed at random, once or twice per piece. On 4 KiB pages that is a TLB miss
on most probes, and filling them at start-up is a page fault per 4 KiB (most
of o200k's start-up was page faults). Mapped anonymously, aligned to 2 MiB
and marked `MADV_HUGEPAGE`, each table is a few huge pages instead of a
thousand small ones. Where huge pages are not available the advice is
ignored and the table works the same on small pages.
*/

use std::marker::PhantomData;

use memmap2::MmapMut;

use crate::alloc::HUGE;

/// A zeroed, fixed-length slice of plain words in its own mapping.
pub struct HugeZeroed<T> {
    map: MmapMut,
    offset: usize,
    len: usize,
    _words: PhantomData<T>,
}

/// Types for which all-zero bytes are a valid value and that hold no
/// pointers: the only ones a `HugeZeroed` may hold.
pub trait Zeroable: Copy {}
impl Zeroable for u32 {}
impl Zeroable for u64 {}
impl Zeroable for [u64; 2] {}

impl<T: Zeroable> HugeZeroed<T> {
    /// `len` zeroed values. Fails only if the mapping does (out of memory).
    pub fn new(len: usize) -> std::io::Result<Self> {
        let bytes = len * std::mem::size_of::<T>();
        // Room to start at a 2 MiB boundary when the table is big enough to
        // use a huge page at all; the slack is never touched, so it costs
        // address space only.
        let slack = if bytes >= HUGE { HUGE } else { 0 };
        let map = MmapMut::map_anon((bytes + slack).max(1))?;
        let misalign = map.as_ptr() as usize % HUGE;
        let offset = if slack == 0 || misalign == 0 {
            0
        } else {
            HUGE - misalign
        };
        #[cfg(target_os = "linux")]
        if slack != 0 {
            // Advice only: a kernel without transparent huge pages refuses
            // it, and the table then lives on small pages.
            let _ = map.advise_range(memmap2::Advice::HugePage, offset, bytes);
        }
        Ok(HugeZeroed {
            map,
            offset,
            len,
            _words: PhantomData,
        })
    }
}

impl<T: Zeroable> std::ops::Deref for HugeZeroed<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the mapping is at least `offset + len * size_of::<T>()`
        // bytes, page-aligned plus an offset that is a multiple of 2 MiB, so
        // aligned for `T`; it started zeroed, which is a valid `T`
        // (`Zeroable`), and lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(self.offset) as *const T, self.len)
        }
    }
}

impl<T: Zeroable> std::ops::DerefMut for HugeZeroed<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow unique.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.map.as_mut_ptr().add(self.offset) as *mut T,
                self.len,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_writable_and_aligned() {
        for len in [0, 1, 1000, (4 << 20) / 8 + 3] {
            let mut t = HugeZeroed::<u64>::new(len).unwrap();
            assert_eq!(t.len(), len);
            assert!(t.iter().all(|&w| w == 0));
            if len > 0 {
                t[len - 1] = 7;
                assert_eq!(t[len - 1], 7);
            }
            if len * 8 >= HUGE {
                assert_eq!(t.as_ptr() as usize % HUGE, 0);
            }
        }
    }
}
