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

use memmap2::Mmap;

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
}

/// Where the text lives: borrowed from a mapping, or owned.
enum Text {
    /// A mapping whose bytes from `start` on were checked to be UTF-8.
    Mapped {
        map: Mmap,
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
            // (A file truncated by another process while mapped can still
            // fault; that is the usual caveat of mmap, shared with ripgrep.)
            Text::Mapped { map, start } => unsafe { std::str::from_utf8_unchecked(&map[*start..]) },
        }
    }

    /// A document made from text already in memory (tests, libraries).
    pub fn from_string(text: String) -> Self {
        let bytes = text.len() as u64;
        Document {
            text: Text::Owned(text),
            encoding: "UTF-8",
            bytes,
        }
    }
}

/// Reads and decodes one source.
pub fn load(source: &Source) -> Result<Document, SkipReason> {
    if source.is_stdin() {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(unreadable)?;
        return decode(Bytes::Owned(buf));
    }
    let mut file = File::open(&source.path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    let bytes = if len >= MMAP_THRESHOLD {
        // SAFETY: the mapping is read-only; see `Document::text` for the
        // caveat about files changed while mapped.
        let map = unsafe { Mmap::map(&file) }.map_err(unreadable)?;
        Bytes::Mapped(map)
    } else {
        let mut buf = Vec::with_capacity(len as usize + 1);
        file.read_to_end(&mut buf).map_err(unreadable)?;
        Bytes::Owned(buf)
    };
    decode(bytes)
}

fn unreadable(e: io::Error) -> SkipReason {
    SkipReason::Unreadable(match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    })
}

enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
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
fn decode(bytes: Bytes) -> Result<Document, SkipReason> {
    let size = bytes.len() as u64;
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(&bytes) {
        if encoding == encoding_rs::UTF_8 {
            return utf8(bytes, bom_len, size);
        }
        // UTF-16LE/BE with a BOM.
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
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
        });
    }
    if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
        return Err(SkipReason::Binary);
    }
    if std::str::from_utf8(&bytes).is_ok() {
        return utf8(bytes, 0, size);
    }
    legacy(&bytes, size)
}

fn utf8(bytes: Bytes, start: usize, size: u64) -> Result<Document, SkipReason> {
    let text = match bytes {
        Bytes::Mapped(map) => {
            std::str::from_utf8(&map[start..]).map_err(not_utf8)?;
            Text::Mapped { map, start }
        }
        Bytes::Owned(mut buf) => {
            buf.drain(..start);
            Text::Owned(String::from_utf8(buf).map_err(|e| not_utf8(e.utf8_error()))?)
        }
    };
    Ok(Document {
        text,
        encoding: "UTF-8",
        bytes: size,
    })
}

fn not_utf8(e: std::str::Utf8Error) -> SkipReason {
    SkipReason::Undecodable(format!(
        "has a UTF-8 byte-order mark but invalid UTF-8 at byte {}",
        e.valid_up_to()
    ))
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
    fn empty_is_text() {
        let d = decode_vec(Vec::new()).unwrap();
        assert_eq!(d.text(), "");
    }
}
