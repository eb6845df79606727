/*!
Surviving a mapped file that shrinks while it is read.

A file is memory-mapped when it is large (`MMAP_THRESHOLD`). If another
process truncates it while the audit reads the mapping, touching a page
past the new end raises SIGBUS, which would kill the process and lose the
whole audit for one file. Reading instead of mapping would cost a copy of
every large file, and a 4 GB file in memory; copying small files only moves
the problem to large ones. So the mapping stays, and a SIGBUS handler saves
the run:

- every live mapping is registered in a fixed table of address ranges (no
  allocation, no lock: the handler may only touch atomics);
- on SIGBUS inside a registered range, the handler marks that mapping as
  changed and maps a page of zeros over the faulting page (`mmap` with
  `MAP_FIXED`, which Linux and the BSDs run safely in a handler), so the
  read resumes and sees zeros;
- after counting, the file is reported skipped, `changed during audit`,
  whatever was counted (see [`GuardedMap::changed`], which also compares
  the file's size and modification time with those it had when mapped, for
  a file rewritten in place without a fault).

A SIGBUS outside every registered range is not ours: the handler puts the
previous action back and returns, the fault repeats, and that action (the
Rust runtime's, or the default: the process ends) runs as if we were not
there.
*/

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use memmap2::Mmap;

/// Mappings alive at once: one per worker thread at most (a large file's
/// pieces share their file's), so far more than any machine's cores. When
/// the table is full a mapping goes unguarded rather than waiting.
const SLOTS: usize = 256;

static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static LENS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static FAULTED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// A read-only mapping of a file, registered with the SIGBUS handler for
/// as long as it lives.
pub struct GuardedMap {
    // Dropped first: the range leaves the table before it is unmapped.
    slot: Option<usize>,
    map: Mmap,
    file: File,
    /// Size and modification time when mapped.
    seen: Option<(u64, std::time::SystemTime)>,
}

impl GuardedMap {
    /// Maps `file` read-only and registers the range.
    pub fn map(file: File) -> std::io::Result<GuardedMap> {
        let seen = file
            .metadata()
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        // SAFETY: read-only; a file that shrinks under the mapping faults,
        // and the fault is caught by the handler this registers with.
        let map = unsafe { Mmap::map(&file) }?;
        let slot = register(map.as_ptr() as usize, map.len());
        Ok(GuardedMap {
            slot,
            map,
            file,
            seen,
        })
    }

    pub fn mmap(&self) -> &Mmap {
        &self.map
    }

    /// Whether the file changed while mapped: a read past its new end
    /// faulted, or its size or modification time is not what it was.
    pub fn changed(&self) -> bool {
        if self
            .slot
            .is_some_and(|s| FAULTED[s].load(Ordering::Acquire))
        {
            return true;
        }
        let now = self
            .file
            .metadata()
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        now != self.seen
    }
}

impl std::ops::Deref for GuardedMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        if let Some(s) = self.slot.take() {
            LENS[s].store(0, Ordering::Release);
            FAULTED[s].store(false, Ordering::Release);
            STARTS[s].store(0, Ordering::Release);
        }
    }
}

/// Registers `[start, start + len)`, installing the handler on first use.
fn register(start: usize, len: usize) -> Option<usize> {
    if len == 0 || !handler::install() {
        return None;
    }
    for s in 0..SLOTS {
        if STARTS[s]
            .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            FAULTED[s].store(false, Ordering::Release);
            LENS[s].store(len, Ordering::Release);
            return Some(s);
        }
    }
    None
}

#[cfg(unix)]
mod handler {
    use std::sync::atomic::Ordering;
    use std::sync::OnceLock;

    use super::{FAULTED, LENS, SLOTS, STARTS};

    /// The action SIGBUS had before ours, put back for faults not ours.
    static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();
    static PAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(4096);

    /// Installs the handler once per process; false if it could not be.
    pub fn install() -> bool {
        PREVIOUS
            .get_or_init(|| {
                // SAFETY: plain libc calls on zeroed structs of their types.
                unsafe {
                    let page = libc::sysconf(libc::_SC_PAGESIZE);
                    if page > 0 {
                        PAGE.store(page as usize, Ordering::Relaxed);
                    }
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = on_sigbus as *const () as usize;
                    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut previous: libc::sigaction = std::mem::zeroed();
                    (libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0).then_some(previous)
                }
            })
            .is_some()
    }

    extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let addr = unsafe { (*info).si_addr() } as usize;
        for s in 0..SLOTS {
            let start = STARTS[s].load(Ordering::Acquire);
            let len = LENS[s].load(Ordering::Acquire);
            if start != 0 && addr >= start && addr < start + len {
                FAULTED[s].store(true, Ordering::Release);
                let page = PAGE.load(Ordering::Relaxed);
                let at = addr & !(page - 1);
                // SAFETY: replaces one page inside our own read-only
                // mapping (registered, so alive) with zeros; the mapping's
                // munmap later removes it with the rest.
                unsafe {
                    libc::mmap(
                        at as *mut libc::c_void,
                        page,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    );
                }
                return;
            }
        }
        // Not ours: the previous action handles the repeated fault.
        if let Some(Some(previous)) = PREVIOUS.get() {
            // SAFETY: restoring an action the kernel gave us.
            unsafe {
                libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(not(unix))]
mod handler {
    /// No SIGBUS here; the size and time check still applies.
    pub fn install() -> bool {
        false
    }
}
