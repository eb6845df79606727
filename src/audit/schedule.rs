/*!
The in-order batch scheduler: batches are counted in parallel, and their
results handed on in batch order on the calling thread.

The rule, stated once: at most [`IN_FLIGHT`] batches count at once, and a
batch that finishes is replaced at once, even while an earlier one is still
counting (one slow file would otherwise hold back the batches behind it and
leave all but one thread idle); finished batches wait for their turn, at most
[`AHEAD`] batches past the oldest unwritten one, so memory stays bounded.
Only the calling thread sees the results: it writes rows (stdout, a file)
and folds the tally without locks.
*/

use std::collections::BTreeMap;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

/// Batches counting at once: two, so that the next batch keeps the threads
/// busy while the last files of one finish and its rows are written.
/// Memory: a batch's outcomes are a few MB.
pub const IN_FLIGHT: usize = 2;

/// Batches that may be started past the oldest one still counting (whose
/// results must be handed on first): room for the others to go on around a
/// slow file, and a bound on the results waiting in memory.
pub const AHEAD: usize = 8;

/// Runs `count` on every batch on `pool` and gives each result to `write`,
/// in the order of `batches`, on this thread. A panic in `count` is resumed
/// here (waiting for a batch that never comes would hang instead); an error
/// from `write` stops the scheduling and is returned once the batches
/// already started have finished.
pub fn in_order<B, R>(
    pool: &rayon::ThreadPool,
    batches: impl Iterator<Item = B>,
    count: impl Fn(B) -> R + Sync,
    mut write: impl FnMut(R) -> io::Result<()>,
) -> io::Result<()>
where
    B: Send,
    R: Send,
{
    let count = &count;
    pool.in_place_scope(|counting| {
        let (done, finished) = mpsc::channel::<(usize, std::thread::Result<R>)>();
        let mut batches = batches;
        let mut ready = BTreeMap::new();
        // Batches started, and handed on; the ones between are counting or
        // waiting in `ready`.
        let (mut started, mut next) = (0, 0);
        loop {
            while started - next - ready.len() < IN_FLIGHT && started - next < AHEAD {
                let Some(batch) = batches.next() else { break };
                let done = done.clone();
                let k = started;
                counting.spawn(move |_| {
                    let result = std::panic::catch_unwind(AssertUnwindSafe(|| count(batch)));
                    // The receiver is gone only if writing failed.
                    let _ = done.send((k, result));
                });
                started += 1;
            }
            if next == started {
                return Ok(());
            }
            let Some(result) = ready.remove(&next) else {
                let (k, result) = finished.recv().expect("the sender lives here");
                ready.insert(k, result.unwrap_or_else(|p| std::panic::resume_unwind(p)));
                continue;
            };
            next += 1;
            write(result)?;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn results_are_handed_on_in_batch_order_whatever_order_they_finish_in() {
        let mut seen = Vec::new();
        in_order(
            &pool(),
            0..40u64,
            |k| {
                // Early batches are the slow ones.
                std::thread::sleep(Duration::from_millis((40 - k) % 7));
                k * 10
            },
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..40).map(|k| k * 10).collect::<Vec<_>>());
    }

    #[test]
    fn a_write_error_stops_the_scheduling_and_is_returned() {
        let started = std::sync::atomic::AtomicUsize::new(0);
        let err = in_order(
            &pool(),
            0..1000u32,
            |k| {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                k
            },
            |k| {
                if k == 3 {
                    Err(io::Error::other("disk full"))
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        // No more than the batches allowed ahead of the failed one started.
        assert!(started.into_inner() <= 4 + AHEAD);
    }

    #[test]
    #[should_panic(expected = "bad batch")]
    fn a_panic_while_counting_reaches_the_caller() {
        let _ = in_order(
            &pool(),
            0..5u32,
            |k| {
                assert!(k != 2, "bad batch");
                k
            },
            |_| Ok(()),
        );
    }
}
