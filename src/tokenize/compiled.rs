/*!
The start-up cache: a vocabulary file converted into the engine's tables
once, and read back on later runs instead of converted again.

A tokenizer.json (or Tekken) file is JSON that `hf` and `sources` turn into
ranks, merge tables, split patterns and added tokens on every load: hundreds
of milliseconds for gemma3's 33 MB, when counting one prompt takes a
millisecond. What an engine keeps of that work (its *recipe*: the tables
after every check has passed, before the hash maps and matchers are built)
is written here, and a later load builds the engine from it.

**Keyed by the file's sha256** (`<sha256>.bin`), which provenance records
anyway. For a named tokenizer the sha256 is the registry's, and the file
itself is not read at all when its metadata (device, inode, size, mtime,
ctime) is what it was when the cache was written: hashing gemma3's file
costs more than the whole cached load (BENCHMARKS.md, start-up). A file
whose metadata changed is read and hashed as before, and the cache is used
only if the hash is still the one it was made from.

**Where**: `compiled/` in the tokenizer directory, else (not writable)
`$XDG_CACHE_HOME/tokenaudit/compiled` (the user cache directory). Deleting
either folder is always safe: it is rebuilt on the next load.

**Trusted only when whole**: a file is read back only if its magic, format
version, tool (crate version and commit: engine code may change what a
recipe means), source sha256, payload length and CRC-32 all match, and the
payload decodes. Anything else (truncated, corrupt, written by another
build, made from another file) is ignored and rewritten. It is written to a
temporary name and renamed, so a reader never sees half a file, and a cache
that cannot be written costs the next run its speed, never its result.

**Encoding**: postcard (serde) for the recipe's structure; its large
integer arrays are stored as little-endian byte blobs ([`le_u32s`]), which
postcard copies as one slice instead of a varint per number (measured in
BENCHMARKS.md). CRC-32 (`crc32fast`, several GB/s) and not sha256 checks
the payload: it guards against damage, not against someone who can write
the tokenizer directory (they could change the vocabulary itself).
*/

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bumped whenever a recipe's layout or meaning changes (3: the rank
/// table carries its merge's tie-break; 4: a SentencePiece-style model's
/// merges are its hash table's slots, not a list; 5: a rank table is an
/// image of its arrays, not a list of tokens).
pub const FORMAT: u32 = 5;

const MAGIC: &[u8; 8] = b"TACOMPL\0";

/// The build that writes and reads the cache: a cache from another build is
/// ignored. The digest of the engines' sources (build.rs) tells apart two
/// builds of one commit whose working trees differ there.
fn tool() -> String {
    format!(
        "tokenaudit {} {} {}",
        env!("CARGO_PKG_VERSION"),
        env!("TOKENAUDIT_COMMIT"),
        env!("TOKENAUDIT_ENGINE_SOURCES")
    )
}

/// What the file looked like when it was hashed: if all of it is unchanged,
/// so is the content (ctime moves on every write and cannot be set back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Fingerprint {
    /// The metadata of `path`, or `None` if it cannot be read (the file is
    /// then hashed, as without a cache).
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let meta = fs::metadata(path).ok()?;
        Some(Self::from_metadata(&meta))
    }

    #[cfg(unix)]
    fn from_metadata(meta: &fs::Metadata) -> Fingerprint {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
        Fingerprint {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Without a change time, the modification time alone would not prove
    /// the content unchanged: never match.
    #[cfg(not(unix))]
    fn from_metadata(meta: &fs::Metadata) -> Fingerprint {
        let _ = meta;
        Fingerprint {
            dev: 0,
            ino: 0,
            size: u64::MAX,
            mtime_ns: i128::MIN,
            ctime_ns: i128::MIN,
        }
    }

    /// Whether this fingerprint can vouch for a file's content.
    fn vouches(&self) -> bool {
        cfg!(unix)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    tool: String,
    source_sha256: String,
    source: Option<Fingerprint>,
    payload_len: u64,
    payload_crc32: u32,
}

/// Where compiled tables are looked for and written, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledCache {
    dirs: Vec<PathBuf>,
}

/// A cache file that passed every check.
pub struct Entry {
    data: memmap2::Mmap,
    payload: usize,
    /// The source file's metadata when it was hashed, if recorded.
    pub source: Option<Fingerprint>,
    /// The file it was read from.
    pub path: PathBuf,
}

impl Entry {
    /// The recipe's bytes (postcard), checked against their CRC.
    pub fn payload(&self) -> &[u8] {
        &self.data[self.payload..]
    }

    /// Whether the source file is provably the one this entry was made
    /// from without hashing it: its metadata is what was recorded.
    pub fn vouches_for(&self, now: Option<&Fingerprint>) -> bool {
        match (&self.source, now) {
            (Some(then), Some(now)) => then.vouches() && then == now,
            _ => false,
        }
    }
}

/// Environment variable that switches the cache off (`0` or empty leaves it on).
pub const OFF_ENV: &str = "TOKENAUDIT_NO_COMPILED_CACHE";

impl CompiledCache {
    /// `compiled/` in the tokenizer directory, then the user cache
    /// directory's `tokenaudit/compiled` (`$XDG_CACHE_HOME` first); none at
    /// all when `$TOKENAUDIT_NO_COMPILED_CACHE` is set.
    pub fn for_tokenizer_dir(dir: &Path) -> Self {
        if std::env::var_os(OFF_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            return Self::disabled();
        }
        let user = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(dirs::cache_dir)
            .map(|c| c.join("tokenaudit").join("compiled"));
        let mut dirs = vec![dir.join("compiled")];
        dirs.extend(user.filter(|u| *u != dirs[0]));
        CompiledCache { dirs }
    }

    /// These directories, in order (tests).
    pub fn in_dirs(dirs: Vec<PathBuf>) -> Self {
        CompiledCache { dirs }
    }

    /// No cache: every load converts the file.
    pub fn disabled() -> Self {
        CompiledCache { dirs: Vec::new() }
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn file_name(sha256: &str) -> String {
        format!("{sha256}.bin")
    }

    /// The first entry for `sha256` that passes every check, if any.
    pub fn read(&self, sha256: &str) -> Option<Entry> {
        self.dirs.iter().find_map(|dir| {
            let path = dir.join(Self::file_name(sha256));
            let data = map(&path)?;
            let payload = check(&data, sha256)?;
            Some(Entry {
                data,
                payload: payload.0,
                source: payload.1,
                path,
            })
        })
    }

    /// Writes `payload` (a recipe) for the file with this sha256 and
    /// metadata into the first directory that takes it; returns where, or
    /// why none did (the caller goes on without a cache).
    pub fn write(
        &self,
        sha256: &str,
        source: Option<&Fingerprint>,
        payload: &[u8],
    ) -> Result<PathBuf, String> {
        let header = Header {
            tool: tool(),
            source_sha256: sha256.to_string(),
            source: source.cloned(),
            payload_len: payload.len() as u64,
            payload_crc32: crc32fast::hash(payload),
        };
        let header = postcard::to_stdvec(&header).map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        for dir in &self.dirs {
            match write_atomically(dir, &Self::file_name(sha256), &header, payload) {
                Ok(path) => return Ok(path),
                Err(e) => errors.push(format!("{}: {e}", dir.display())),
            }
        }
        Err(if errors.is_empty() {
            "the cache is off".to_string()
        } else {
            errors.join("; ")
        })
    }
}

/// A cache file mapped, not read: gemma3's was 8.7 MB (17.3 MB since its
/// merge table is kept as slots, format 4), and reading it
/// (a copy into a fresh buffer, whose pages fault in as it fills) was a
/// quarter of its cached start-up. Mapped with `populate`, its pages come
/// from the page cache in one call. Safe against a writer: files here are
/// only ever replaced by a rename ([`write_atomically`]), never rewritten
/// in place, so the mapped file does not change under us.
fn map(path: &Path) -> Option<memmap2::Mmap> {
    let file = fs::File::open(path).ok()?;
    // SAFETY: see above; a file truncated by hand while mapped could
    // fault, which no run of ours does.
    unsafe { memmap2::MmapOptions::new().populate().map(&file) }.ok()
}

/// The payload's offset and the recorded fingerprint, if `data` is a whole
/// cache file of this build for `sha256`.
fn check(data: &[u8], sha256: &str) -> Option<(usize, Option<Fingerprint>)> {
    let rest = data.strip_prefix(MAGIC)?;
    let format = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let header_len = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
    if format != FORMAT {
        return None;
    }
    let header: Header =
        postcard::from_bytes(rest.get(8..8usize.checked_add(header_len)?)?).ok()?;
    let payload = MAGIC.len() + 8 + header_len;
    let body = &data[payload..];
    let whole = header.tool == tool()
        && header.source_sha256 == sha256
        && header.payload_len == body.len() as u64
        && header.payload_crc32 == crc32fast::hash(body);
    whole.then_some((payload, header.source))
}

/// Writes the file under a temporary name in `dir`, then renames it: a
/// reader sees the old file or the new one, never a part.
fn write_atomically(
    dir: &Path,
    name: &str,
    header: &[u8],
    payload: &[u8],
) -> std::io::Result<PathBuf> {
    // Unique per process and per write: threads of one process (the tests)
    // may write the same entry at once.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    fs::create_dir_all(dir)?;
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(MAGIC)?;
        file.write_all(&FORMAT.to_le_bytes())?;
        file.write_all(&(header.len() as u32).to_le_bytes())?;
        file.write_all(header)?;
        file.write_all(payload)?;
        file.sync_all()?;
        let path = dir.join(name);
        fs::rename(&temp, &path)?;
        Ok(path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// `#[serde(with = "le_u32s")]`: a `Vec<u32>` as one byte string of
/// little-endian words, which postcard copies as a slice (a plain `Vec<u32>`
/// is a varint per number).
pub mod le_u32s {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
        struct Words;
        impl serde::de::Visitor<'_> for Words {
            type Value = Vec<u32>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("little-endian u32 words")
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Vec<u32>, E> {
                if !b.len().is_multiple_of(4) {
                    return Err(E::invalid_length(b.len(), &self));
                }
                Ok(b.chunks_exact(4)
                    .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
                    .collect())
            }
        }
        d.deserialize_bytes(Words)
    }
}

/// `#[serde(with = "ranks")]`: a rank table as an image of its arrays
/// (`Ranks::to_image`, the layout the built-in tables are embedded in), so
/// reading it back copies the arrays instead of hashing and placing every
/// token again (the blob of tokens it replaced, format 4, did: a third of
/// qwen3's cached start-up); followed by its cut table (`bpe::cut`), which
/// a vocabulary without one would read at run time after 2 MiB of long
/// pieces (50–175 ms). One byte string: the tie-break of the merge (`Ties`:
/// 0 leftmost, 1 by parts), the image's length (u64 LE), the image, the cut
/// blob.
pub mod ranks {
    use std::sync::Arc;

    use serde::{Deserializer, Serializer};

    use crate::tokenize::bpe::ranks::{Ranks, Ties};

    pub fn serialize<S: Serializer>(r: &Arc<Ranks>, s: S) -> Result<S::Ok, S::Error> {
        let image = r.to_image();
        let ties = match r.ties() {
            Ties::Leftmost => 0u8,
            Ties::ByParts => 1,
        };
        let mut both = vec![ties];
        both.extend((image.len() as u64).to_le_bytes());
        both.extend(image);
        both.extend(r.cut_blob());
        s.serialize_bytes(&both)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Ranks>, D::Error> {
        struct Blob;
        impl serde::de::Visitor<'_> for Blob {
            type Value = Arc<Ranks>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a rank image")
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Arc<Ranks>, E> {
                let short = || E::custom("a rank image of the wrong length");
                let (&ties, b) = b.split_first().ok_or_else(short)?;
                let ties = match ties {
                    0 => Ties::Leftmost,
                    1 => Ties::ByParts,
                    _ => return Err(E::custom("an unknown tie-break")),
                };
                let len = b.get(..8).ok_or_else(short)?;
                let len = u64::from_le_bytes(len.try_into().expect("8 bytes"));
                let end = usize::try_from(len).ok().and_then(|n| n.checked_add(8));
                let image = b.get(8..end.ok_or_else(short)?).ok_or_else(short)?;
                let ranks = Ranks::from_image_copy(image).map_err(E::custom)?;
                let cuts = b[8 + image.len()..].to_vec();
                ranks
                    .with_ties(ties)
                    .with_cached_cut_blob(cuts)
                    .map(Arc::new)
                    .map_err(E::custom)
            }
        }
        d.deserialize_bytes(Blob)
    }
}

/// `#[serde(with = "bytes")]`: a `Vec<u8>` as one byte string.
pub mod bytes {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Vec<u8>, E> {
                Ok(b.to_vec())
            }
        }
        d.deserialize_bytes(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "ab12";

    fn cache(dir: &Path) -> CompiledCache {
        CompiledCache::in_dirs(vec![dir.join("compiled")])
    }

    #[test]
    fn a_written_entry_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path());
        let path = c.write(SHA, None, b"recipe").unwrap();
        assert_eq!(path, tmp.path().join("compiled/ab12.bin"));
        let e = c.read(SHA).unwrap();
        assert_eq!(e.payload(), b"recipe");
        assert!(c.read("other").is_none());
        // No temporary file is left behind.
        assert_eq!(
            fs::read_dir(tmp.path().join("compiled")).unwrap().count(),
            1
        );
    }

    #[test]
    fn truncated_corrupt_stale_or_foreign_entries_are_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path());
        let path = c.write(SHA, None, b"recipe bytes").unwrap();
        let good = fs::read(&path).unwrap();
        let try_with = |data: &[u8]| {
            fs::write(&path, data).unwrap();
            c.read(SHA).is_some()
        };
        assert!(try_with(&good));
        for cut in [0, 4, 12, good.len() / 2, good.len() - 1] {
            assert!(!try_with(&good[..cut]), "truncated at {cut}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(!try_with(&longer));
        for at in [0, 9, 20, good.len() - 3] {
            let mut flipped = good.clone();
            flipped[at] ^= 0x10;
            assert!(!try_with(&flipped), "flipped byte {at}");
        }
        // Another format version.
        let mut stale = good.clone();
        stale[8] = stale[8].wrapping_add(1);
        assert!(!try_with(&stale));
        // Another build: the tool string differs.
        let header = Header {
            tool: "tokenaudit 0.0.0 elsewhere".into(),
            source_sha256: SHA.into(),
            source: None,
            payload_len: 6,
            payload_crc32: crc32fast::hash(b"recipe"),
        };
        let header = postcard::to_stdvec(&header).unwrap();
        let mut other = MAGIC.to_vec();
        other.extend(FORMAT.to_le_bytes());
        other.extend((header.len() as u32).to_le_bytes());
        other.extend(header);
        other.extend(b"recipe");
        assert!(!try_with(&other));
        // Made from another file, under this file's name.
        c.write("cd34", None, b"recipe bytes").unwrap();
        let foreign = fs::read(tmp.path().join("compiled/cd34.bin")).unwrap();
        assert!(!try_with(&foreign));
    }

    #[test]
    fn an_unwritable_directory_falls_back_to_the_next() {
        let tmp = tempfile::tempdir().unwrap();
        // A file where the first directory should be: nothing can be made there.
        let blocked = tmp.path().join("blocked");
        fs::write(&blocked, b"").unwrap();
        let c = CompiledCache::in_dirs(vec![blocked.join("compiled"), tmp.path().join("user")]);
        let path = c.write(SHA, None, b"x").unwrap();
        assert!(path.starts_with(tmp.path().join("user")));
        assert_eq!(c.read(SHA).unwrap().payload(), b"x");
        let none = CompiledCache::in_dirs(vec![blocked.join("compiled")]);
        assert!(none.write(SHA, None, b"x").is_err());
        assert!(none.read(SHA).is_none());
        assert!(CompiledCache::disabled().write(SHA, None, b"x").is_err());
    }

    #[test]
    fn a_fingerprint_vouches_only_for_an_unchanged_file() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("tokenizer.json");
        fs::write(&source, b"{}").unwrap();
        let c = cache(tmp.path());
        let then = Fingerprint::of(&source);
        c.write(SHA, then.as_ref(), b"x").unwrap();
        let e = c.read(SHA).unwrap();
        assert_eq!(e.vouches_for(Fingerprint::of(&source).as_ref()), cfg!(unix));
        // Rewritten with the same size: the change time moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&source, b"[]").unwrap();
        assert!(!e.vouches_for(Fingerprint::of(&source).as_ref()));
        assert!(!e.vouches_for(None));
    }

    #[test]
    fn word_arrays_round_trip_as_bytes() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "le_u32s")]
            words: Vec<u32>,
            #[serde(with = "bytes")]
            raw: Vec<u8>,
        }
        let t = T {
            words: vec![0, 1, u32::MAX, 70_000],
            raw: b"abc".to_vec(),
        };
        let encoded = postcard::to_stdvec(&t).unwrap();
        assert_eq!(encoded.len(), 1 + 16 + 1 + 3);
        assert_eq!(postcard::from_bytes::<T>(&encoded).unwrap(), t);
    }
}
