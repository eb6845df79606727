/*!
Read-only arrays that live either in the binary or in memory they own.

A built-in vocabulary's rank table is read in place from the image build.rs
embeds (`layout.rs`); one read at run time (a `.tiktoken` file, a
tokenizer.json, the start-up cache) is built into fresh memory. The lookup
that runs for every merge should not care which: a [`Fixed`] is a pointer
and a length, whatever holds the data, so indexing it costs what indexing a
`Box<[T]>` does (no branch on where the data is).
*/

use std::ops::Deref;

use crate::tokenize::bpe::huge::HugeZeroed;

/// A read-only slice of `T`, static or owned.
pub(crate) struct Fixed<T: 'static> {
    ptr: *const T,
    len: usize,
    /// What keeps the data alive; `None` for data in the binary. Never
    /// read: only dropped with the `Fixed`.
    _owner: Option<Box<dyn Send + Sync>>,
}

// SAFETY: a `Fixed` only hands out shared references to its `T`s, and its
// owner is `Send + Sync`.
unsafe impl<T: Sync> Send for Fixed<T> {}
unsafe impl<T: Sync> Sync for Fixed<T> {}

/// Owners whose slice does not move when the owner does: the data is on
/// the heap or in a mapping, not inside the value.
///
/// # Safety
/// `deref()` must return the same pointer and length for the owner's whole
/// life, wherever the owner itself is moved, and nothing may mutate the
/// slice through the owner once it is in a [`Fixed`].
pub(crate) unsafe trait StableSlice<T>:
    Deref<Target = [T]> + Send + Sync + 'static
{
}

unsafe impl<T: Send + Sync + 'static> StableSlice<T> for Vec<T> {}
unsafe impl<T: Send + Sync + 'static> StableSlice<T> for Box<[T]> {}
unsafe impl<T: Send + Sync + Copy + 'static> StableSlice<T> for HugeZeroed<T> where
    HugeZeroed<T>: Deref<Target = [T]> + Send + Sync
{
}

impl<T: 'static> Fixed<T> {
    /// Data in the binary (or otherwise never freed).
    pub(crate) fn from_static(data: &'static [T]) -> Self {
        Fixed {
            ptr: data.as_ptr(),
            len: data.len(),
            _owner: None,
        }
    }

    /// Data this value owns from now on.
    pub(crate) fn owned<O: StableSlice<T>>(owner: O) -> Self {
        let (ptr, len) = (owner.as_ptr(), owner.len());
        Fixed {
            ptr,
            len,
            _owner: Some(Box::new(owner)),
        }
    }
}

impl<T> Deref for Fixed<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr..ptr + len` is a live slice: static, or owned by
        // `_owner`, whose slice never moves (`StableSlice`) and lives as
        // long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_data_survives_moves_of_its_owner() {
        let fixed = Fixed::owned(vec![1u32, 2, 3]);
        let moved = [fixed];
        let boxed = Box::new(moved);
        assert_eq!(&*boxed[0], &[1, 2, 3]);
        static DATA: [u64; 2] = [7, 9];
        assert_eq!(&*Fixed::from_static(&DATA), &[7, 9]);
        let mut huge = HugeZeroed::<u64>::new(4).unwrap();
        huge[3] = 5;
        assert_eq!(&*Fixed::owned(huge), &[0, 0, 0, 5]);
    }
}
