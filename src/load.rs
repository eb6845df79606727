/*!
Load: turn a [`Source`] into decoded text, or into a skip reason.

Small files are read into memory; large ones are memory-mapped so that a
corpus of any size never has to fit in RAM (pages are the kernel's to drop).
UTF-8 text is used in place; a UTF-8 BOM is stripped; UTF-16 with a BOM and
legacy 8-bit or CJK encodings are decoded to an owned string, and the encoding
is recorded so the report shows what was assumed. Deciding *what part* of the
text a model sees is not this module's job (see `extract`).
*/

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;

mod guard;

pub use guard::GuardedMap;

use crate::discover::Source;
use crate::skip::SkipReason;

/// Files at least this large are memory-mapped instead of read.
///
/// Below it, `read` into a buffer costs less than the mmap/munmap system
/// calls and the page faults of a fresh mapping; above it, mapping avoids the
/// copy and keeps memory flat. Measured with `examples/mmap_threshold.rs`
/// (warm page cache, validate + scan once): mmap ran at 0.62x of read for
/// 4 KiB files, 0.91x at 128 KiB, 1.02x at 256 KiB, 1.18x at 1 MiB and 1.39x
/// at 16 MiB. Small files dominate file counts and large ones dominate bytes,
/// so the exact value matters little.
pub const MMAP_THRESHOLD: u64 = 256 * 1024;

/// How much of the start of a file is checked for NUL bytes. Like git and
/// ripgrep, a NUL early in the file marks it as binary.
const BINARY_PROBE: usize = 8 * 1024;

/// A file's decoded text, and what it took to get it.
pub struct Document {
    text: Text,
    /// The encoding the bytes were decoded from (`UTF-8`, `UTF-16LE`,
    /// `windows-1252`, ...), as encoding_rs names it.
    pub encoding: &'static str,
    /// Size of the file on disk (before decoding).
    pub bytes: u64,
    /// SHA-256 of the bytes as read (before decoding), for the corpus
    /// digest; `None` for text that was never a file.
    pub sha256: Option<[u8; 32]>,
}

/// Where the text lives: borrowed from a mapping, or owned.
enum Text {
    /// A mapping whose bytes from `start` on were checked to be UTF-8.
    Mapped {
        map: GuardedMap,
        start: usize,
    },
    Owned(String),
}

impl Document {
    pub fn text(&self) -> &str {
        match &self.text {
            Text::Owned(s) => s,
            // SAFETY: `load` only builds `Mapped` after `str::from_utf8`
            // succeeded on exactly this range, and the mapping is read-only.
            // (A file truncated by another process while mapped reads as
            // zeros past its new end, see `guard`, which `changed` reports:
            // zeros are valid UTF-8, and the count is then dropped.)
            Text::Mapped { map, start } => unsafe { std::str::from_utf8_unchecked(&map[*start..]) },
        }
    }

    /// Hands the pages under `part` (a slice of [`Document::text`]) back to
    /// the kernel once they have been counted, so that the resident memory of
    /// an audit does not grow with the size of the files it maps.
    ///
    /// The pages wholly inside `part` are released, and the page it starts
    /// in (`with_first`) or ends in (`with_last`) too when the text around
    /// them is done with as well; owned text is left alone. For a read-only
    /// file mapping, `MADV_DONTNEED` drops our mapping of the pages (they stay
    /// in the page cache); touching them again would fault them back in from
    /// the file, so the text stays valid either way.
    pub fn release_pages(&self, part: &str, with_first: bool, with_last: bool) {
        let Text::Mapped { map, .. } = &self.text else {
            return;
        };
        let base = map.as_ptr() as usize;
        let Some(offset) = (part.as_ptr() as usize).checked_sub(base) else {
            return;
        };
        if offset + part.len() > map.len() {
            return;
        }
        const PAGE: usize = 4096;
        let (from, to) = (offset, offset + part.len());
        let start = if with_first {
            from / PAGE
        } else {
            from.div_ceil(PAGE)
        } * PAGE;
        let end = if with_last {
            to.div_ceil(PAGE)
        } else {
            to / PAGE
        } * PAGE;
        let end = end.min(map.len());
        if end > start {
            // SAFETY: see above; the range lies inside the mapping, and
            // DONTNEED on a file-backed read-only mapping cannot change the
            // bytes a later read sees.
            let _ = unsafe {
                map.mmap().unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
        }
    }

    /// Whether the file changed while it was mapped (truncated, rewritten
    /// in place): what was read of it is not the file, and is not counted.
    pub fn changed(&self) -> bool {
        matches!(&self.text, Text::Mapped { map, .. } if map.changed())
    }

    /// A document whose text was extracted from a file of `bytes` bytes
    /// whose content hashes to `sha256` (`encoding`: how the file decoded,
    /// or `binary`).
    pub fn extracted(
        text: String,
        encoding: &'static str,
        bytes: u64,
        sha256: Option<[u8; 32]>,
    ) -> Self {
        Document {
            text: Text::Owned(text),
            encoding,
            bytes,
            sha256,
        }
    }

    /// A document made from text already in memory (tests, libraries).
    pub fn from_string(text: String) -> Self {
        let bytes = text.len() as u64;
        Document {
            text: Text::Owned(text),
            encoding: "UTF-8",
            bytes,
            sha256: None,
        }
    }
}

/// Reads and decodes one source.
pub fn load(source: &Source) -> Result<Document, SkipReason> {
    hashed(read(source)?)
}

/// Reads one source's bytes, undecoded: mapped when large, else in memory.
pub fn read(source: &Source) -> Result<Bytes, SkipReason> {
    if source.is_stdin() {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(unreadable)?;
        return Ok(Bytes::Owned(buf));
    }
    let mut file = File::open(&source.path).map_err(unreadable)?;
    // The size decides read or map. Discovery's, when it looked, may be out
    // of date: a file that changed size since is still read whole (both ways
    // go to the end of the file as it is now), only maybe the slower way.
    let len = match source.len {
        Some(len) => len,
        None => file.metadata().map_err(unreadable)?.len(),
    };
    let bytes = if len >= MMAP_THRESHOLD {
        Bytes::Mapped(GuardedMap::map(file).map_err(unreadable)?)
    } else {
        Bytes::Owned(read_whole(&mut file, len as usize).map_err(unreadable)?)
    };
    Ok(bytes)
}

/// The SHA-256 of a file's bytes, for the corpus digest.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Decodes `bytes` after hashing them for the corpus digest, while they
/// are in cache: just read, or just mapped (a mapping is hashed a step at a
/// time, its pages handed back after each, so that memory stays flat). SHA-256 runs at GB/s with the CPU's SHA
/// extensions, tokenizing at tens of MB/s per thread; BENCHMARKS.md has the
/// measured cost.
pub fn hashed(bytes: Bytes) -> Result<Document, SkipReason> {
    let sha256 = sha256_of(&bytes);
    let mut doc = decode(bytes)?;
    doc.sha256 = Some(sha256);
    Ok(doc)
}

/// The SHA-256 of a file's bytes as read: a mapping a step at a time with
/// its pages handed back (see [`sha256_releasing`]), a buffer at once.
pub fn sha256_of(bytes: &Bytes) -> [u8; 32] {
    match bytes {
        Bytes::Mapped(map) => sha256_releasing(map),
        Bytes::Owned(buf) => sha256(buf),
    }
}

/// The SHA-256 of a mapping, hashed in steps of 4 MiB with each step's
/// pages handed back to the kernel (past [`KEEP_MAPPED_UP_TO`]), as UTF-8
/// validation does: hashing a mapped file in one call made it resident
/// whole (a 1 GB JSONL file's audit peaked at 1,008 MB RSS; BENCHMARKS.md).
/// The validation after it faults the pages back from the page cache, a
/// step at a time.
fn sha256_releasing(map: &GuardedMap) -> [u8; 32] {
    use sha2::Digest;
    const STEP: usize = 4 << 20;
    let mut hasher = sha2::Sha256::new();
    for from in (0..map.len()).step_by(STEP) {
        let to = (from + STEP).min(map.len());
        hasher.update(&map[from..to]);
        release_between_passes(map, from, to);
    }
    hasher.finalize().into()
}

/// Mappings up to this size stay resident from the hash to the count: a
/// file is read three times (hashed, validated, counted), and handing its
/// pages back after the first two passes made each pass fault them in again
/// (a 5 MB file: ~2,400 page-table entries dropped and rebuilt, 5–10% of its
/// audit's CPU). Above it, memory stays bounded by the 4 MiB steps; below,
/// by this much per counting thread.
const KEEP_MAPPED_UP_TO: usize = 16 << 20;

/// Hands the pages of `from..to` back to the kernel after the hash or the
/// validation has read them, unless the whole mapping is small enough to
/// keep ([`KEEP_MAPPED_UP_TO`]).
fn release_between_passes(map: &GuardedMap, from: usize, to: usize) {
    if map.len() <= KEEP_MAPPED_UP_TO {
        return;
    }
    // SAFETY: as in `Document::release_pages`: a file-backed read-only range.
    let _ = unsafe {
        map.mmap()
            .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
    };
}

/// Reads `file` to its end into a buffer sized for `expected` bytes.
///
/// `File::read_to_end` would ask the kernel for the size again (an `fstat`
/// and an `lseek` per file) before reading, though the caller knows it; on a
/// tree of small files those were two of the eight system calls per file.
/// The loop still reads until the kernel reports the end, so a file that
/// grew since its size was taken is read whole.
fn read_whole(file: &mut File, expected: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; expected + 1];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

fn unreadable(e: io::Error) -> SkipReason {
    SkipReason::Unreadable(match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    })
}

/// A file's bytes as read: a mapping or a buffer.
pub enum Bytes {
    Mapped(GuardedMap),
    Owned(Vec<u8>),
}

impl Bytes {
    /// Whether a mapped file changed while it was mapped (see
    /// [`Document::changed`]).
    pub fn changed(&self) -> bool {
        matches!(self, Bytes::Mapped(m) if m.changed())
    }

    /// The bytes as an owned buffer (copied out of a mapping).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Bytes::Mapped(m) => m.to_vec(),
            Bytes::Owned(v) => v,
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// Decides the encoding and produces the text. The order matters: a BOM is
/// the strongest evidence (UTF-16 text is full of NUL bytes), then the binary
/// probe, then UTF-8 validity, then detection.
pub fn decode(bytes: Bytes) -> Result<Document, SkipReason> {
    let size = bytes.len() as u64;
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(&bytes) {
        if encoding == encoding_rs::UTF_8 {
            return utf8(bytes, bom_len, size).map_err(|_| {
                SkipReason::Undecodable(
                    "has a UTF-8 byte-order mark but is not valid UTF-8".to_string(),
                )
            });
        }
        // UTF-16LE/BE with a BOM.
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        // The text is a copy: the mapping, which alone knows whether the
        // file changed while it was read, is dropped here.
        if bytes.changed() {
            return Err(SkipReason::Changed);
        }
        if had_errors {
            return Err(SkipReason::Undecodable(format!(
                "invalid {} after its byte-order mark",
                encoding.name()
            )));
        }
        return Ok(Document {
            text: Text::Owned(text.into_owned()),
            encoding: encoding.name(),
            bytes: size,
            sha256: None,
        });
    }
    if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
        return Err(SkipReason::Binary);
    }
    match utf8(bytes, 0, size) {
        Ok(doc) => Ok(doc),
        Err(bytes) => {
            let doc = legacy(&bytes, size);
            if bytes.changed() {
                return Err(SkipReason::Changed);
            }
            doc
        }
    }
}

/// The document, if `bytes[start..]` is UTF-8; the bytes back otherwise, for
/// the legacy-encoding path. Validation happens once, here.
fn utf8(bytes: Bytes, start: usize, size: u64) -> Result<Document, Bytes> {
    let text = match bytes {
        Bytes::Mapped(map) => {
            if !valid_utf8_releasing(&map, start) {
                return Err(Bytes::Mapped(map));
            }
            Text::Mapped { map, start }
        }
        Bytes::Owned(mut buf) => {
            if !is_utf8(&buf[start..]) {
                return Err(Bytes::Owned(buf));
            }
            buf.drain(..start);
            // SAFETY: checked just above (draining whole leading bytes of a
            // BOM keeps it valid).
            Text::Owned(unsafe { String::from_utf8_unchecked(buf) })
        }
    };
    Ok(Document {
        text,
        encoding: "UTF-8",
        bytes: size,
        sha256: None,
    })
}

/// Whether `map[start..]` is UTF-8, checked in steps of 4 MiB with each
/// step's pages handed back to the kernel, so that validating a large file
/// does not make it resident all at once (measured: 137 MB peak RSS for one
/// 120 MB file validated in one call, 40 MB this way). The steps run in
/// parallel on the current rayon pool: done on one thread, validation was
/// the serial part that kept a single large file from scaling with threads.
fn valid_utf8_releasing(map: &GuardedMap, start: usize) -> bool {
    valid_utf8_in_steps(&map[start..], 4 << 20, |from, to| {
        release_between_passes(map, start + from, start + to)
    })
}

/// Whether `bytes` is UTF-8, checked in parallel steps of about `step`
/// bytes; `done(from, to)` is called on each step's range once checked.
fn valid_utf8_in_steps(bytes: &[u8], step: usize, done: impl Fn(usize, usize) + Sync) -> bool {
    use rayon::prelude::*;
    let steps = bytes.len().div_ceil(step);
    (0..steps).into_par_iter().all(|k| {
        let from = char_start(bytes, k * step);
        let to = char_start(bytes, ((k + 1) * step).min(bytes.len()));
        let valid = is_utf8(&bytes[from..to]);
        done(from, to);
        valid
    })
}

/// Whether `bytes` is UTF-8: the same answer as `std::str::from_utf8`, by
/// simdutf8's SIMD validator (selected at run time; ~2 GB/s → several
/// times that on non-ASCII text, where std's check was 6% of a one-thread
/// audit of the non-Latin benchmark part).
fn is_utf8(bytes: &[u8]) -> bool {
    simdutf8::basic::from_utf8(bytes).is_ok()
}

/// Where a validation step that would start at `at` starts instead: moved
/// past at most three UTF-8 continuation bytes, so that a character cut by
/// the step boundary is checked whole by the step before. Neighbouring steps
/// compute the same boundary, so together they cover every byte once. The
/// first step never moves (a file that starts with a continuation byte must
/// fail), and more than three continuation bytes in a row cannot be valid:
/// the step that starts on the fourth fails.
fn char_start(bytes: &[u8], at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let mut i = at;
    while i < bytes.len() && i < at + 3 && (bytes[i] as i8) < -0x40 {
        i += 1;
    }
    i
}

/// Text that is not UTF-8: detect the most likely legacy encoding
/// (chardetng, the detector Firefox uses) and decode with it. If the bytes
/// are not valid in that encoding either, the file is skipped rather than
/// counted with replacement characters that a model would never be sent.
fn legacy(bytes: &[u8], size: u64) -> Result<Document, SkipReason> {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, true);
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(SkipReason::Undecodable(format!(
            "not valid UTF-8, nor {} (the most likely legacy encoding)",
            encoding.name()
        )));
    }
    Ok(Document {
        text: Text::Owned(text.into_owned()),
        encoding: encoding.name(),
        bytes: size,
        sha256: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_vec(v: Vec<u8>) -> Result<Document, SkipReason> {
        decode(Bytes::Owned(v))
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let d = decode_vec(b"\xEF\xBB\xBFhello".to_vec()).unwrap();
        assert_eq!(d.text(), "hello");
        assert_eq!(d.encoding, "UTF-8");
        assert_eq!(d.bytes, 8);
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut v = vec![0xFF, 0xFE];
        for u in "héllo 你好".encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode_vec(v).unwrap();
        assert_eq!(d.text(), "héllo 你好");
        assert_eq!(d.encoding, "UTF-16LE");

        let mut v = vec![0xFE, 0xFF];
        for u in "abc".encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode_vec(v).unwrap().encoding, "UTF-16BE");
    }

    #[test]
    fn nul_means_binary() {
        assert_eq!(
            decode_vec(b"abc\0def".to_vec()).err(),
            Some(SkipReason::Binary)
        );
    }

    #[test]
    fn latin1_is_detected_and_decoded() {
        let latin1 = b"Le caf\xe9 est tr\xe8s chaud, na\xefve \xe9t\xe9 fran\xe7ais.".to_vec();
        let d = decode_vec(latin1).unwrap();
        assert_eq!(d.text(), "Le café est très chaud, naïve été français.");
        assert_eq!(d.encoding, "windows-1252");
    }

    #[test]
    fn large_mapped_files_validate_across_steps() {
        // Multi-byte characters straddle every 4 MiB validation step.
        let text = "aé你🙂".repeat(3 * 1024 * 1024 / 10 + 7).repeat(3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        std::fs::write(&path, &text).unwrap();
        let source = Source {
            path: path.clone(),
            len: Some(text.len() as u64),
            category: ".".into(),
        };
        let doc = load(&source).unwrap();
        assert!(matches!(doc.text, Text::Mapped { .. }));
        assert_eq!(doc.text(), text);
        // Hashed in 4 MiB steps, pages handed back after each: the same
        // digest as the bytes hashed whole.
        assert!(text.len() > 2 * (4 << 20));
        assert_eq!(doc.sha256, Some(sha256(text.as_bytes())));
        // An invalid byte far into a mapped file sends it to the legacy path.
        let mut bytes = text.into_bytes();
        let at = bytes.len() - 5;
        bytes[at] = 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let doc = load(&source);
        assert!(doc.is_err() || doc.unwrap().encoding != "UTF-8");
    }

    #[test]
    fn stepped_validation_equals_whole_validation() {
        // Valid text with characters of every length, and corruptions of it
        // at every position: stray continuation bytes, truncated and
        // overlong sequences, surrogates, a run of four continuation bytes.
        let base = "aé你🙂b\u{10FFFF}".as_bytes().to_vec();
        let mut cases = vec![base.clone(), Vec::new(), vec![0x80], vec![0xE4, 0xBD]];
        for at in 0..=base.len() {
            for bad in [
                &[0x80][..],
                &[0xC0, 0x80],
                &[0xED, 0xA0, 0x80],
                &[0x80, 0x80, 0x80, 0x80],
                &[0xF0, 0x9F],
            ] {
                let mut v = base.clone();
                v.splice(at..at, bad.iter().copied());
                cases.push(v);
            }
            cases.push(base[..at].to_vec());
            cases.push(base[at..].to_vec());
        }
        for bytes in &cases {
            let expected = std::str::from_utf8(bytes).is_ok();
            for step in 1..=9 {
                let covered = std::sync::Mutex::new(vec![0u8; bytes.len()]);
                let valid = valid_utf8_in_steps(bytes, step, |from, to| {
                    covered.lock().unwrap()[from..to]
                        .iter_mut()
                        .for_each(|c| *c += 1);
                });
                assert_eq!(valid, expected, "{bytes:x?} in steps of {step}");
                // Every byte in exactly one step (a failure may stop the rest).
                let covered = covered.into_inner().unwrap();
                assert!(
                    covered.iter().all(|&c| c == 1 || !valid && c == 0),
                    "{bytes:x?} {step}"
                );
            }
        }
    }

    #[test]
    fn a_file_whose_size_changed_since_discovery_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("moving.txt");
        let text = "grown since the walk saw it\n".repeat(1000);
        std::fs::write(&path, &text).unwrap();
        // Discovery did not look, or saw it smaller, larger, empty, or on
        // the far side of the mapping threshold: every way reads the file as
        // it is now.
        let len = text.len() as u64;
        for seen in [
            None,
            Some(0),
            Some(10),
            Some(len - 1),
            Some(len),
            Some(len * 3),
            Some(MMAP_THRESHOLD),
        ] {
            let source = Source {
                path: path.clone(),
                len: seen,
                category: ".".into(),
            };
            let doc = load(&source).unwrap();
            assert_eq!(doc.text(), text, "discovery saw {seen:?} bytes");
            assert_eq!(doc.bytes, len);
        }
        // Emptied since: mapped, because it was large, and still empty text.
        std::fs::write(&path, "").unwrap();
        let source = Source {
            path: path.clone(),
            len: Some(MMAP_THRESHOLD * 4),
            category: ".".into(),
        };
        assert_eq!(load(&source).unwrap().text(), "");
    }

    #[test]
    fn empty_is_text() {
        let d = decode_vec(Vec::new()).unwrap();
        assert_eq!(d.text(), "");
    }
}
