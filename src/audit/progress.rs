/*!
The progress bar on stderr (drawn only when it is a terminal; indicatif's
`console` honours `NO_COLOR`).

It moves with the bytes counted, not the files finished: the counting
reports each piece of a large file as it is done, so a 176 MB file among
small ones shows its progress instead of `0 files` for the whole time it is
counted. The walk does not ask each file's size (the counting does, cheaper,
on every core), so the total is not known while counting and no bar or ETA
is drawn that would mislead: files found and counted so far, bytes counted
and their rate, and the time elapsed.
*/

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::discover::Entry;

/// Fed from both ends: discovery adds the files it finds, counting adds
/// bytes as pieces are done and files as they finish.
pub(super) struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
}

impl Progress {
    pub(super) fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} files (walking), {msg}, {elapsed}")
                .expect("the template is valid"),
        );
        let progress = Progress {
            bar,
            bytes: AtomicU64::new(0),
        };
        progress.show();
        progress
    }

    pub(super) fn found(&self, batch: &[Entry]) {
        self.bar.inc_length(batch.len() as u64);
        self.show();
    }

    /// The walk is over: the number of files is now the total.
    pub(super) fn walked(&self) {
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} files, {msg}, {elapsed}")
                .expect("the template is valid"),
        );
        self.show();
    }

    /// `n` more bytes of text were counted (a piece, or a small file).
    pub(super) fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.show();
    }

    /// One more file was counted or skipped.
    pub(super) fn file_done(&self) {
        self.bar.inc(1);
        self.show();
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn show(&self) {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let seconds = self.bar.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "{} counted ({}/s)",
            crate::format::human_bytes(bytes),
            crate::format::human_bytes((bytes as f64 / seconds) as u64)
        ));
    }
}
