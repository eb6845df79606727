/*!
The corpus digest: one SHA-256 that says which bytes an audit covered, so
that two reports can be shown to describe the same data, or told apart.

Every file seen gives an entry (but this run's own reports, which the walk
reaches when they are written inside the corpus: they are not its data):
the path relative to the root it was found under, the size in bytes, and the SHA-256 of the file's content (taken in
`load` while the bytes are in cache). A skipped file enters with its path
and size and the word `skipped` in place of a content hash: it was not read
whole, and what it holds did not count.

The entries' own SHA-256s are added together as 256-bit numbers (modulo
2^256), and the digest is the SHA-256 of that sum and the number of files.
A sum does not depend on the order the entries come in, so the digests of
the shards of an audit (`--shard`) add up to the digest of the whole run:
`merge` reproduces it without the file list, and memory does not grow with
the corpus. It identifies data; it is not a signature: someone who crafts
thousands of files on purpose can make two sums collide (an additive
multiset hash), which accidental differences never do.

Where the corpus lies does not enter (the same folder audited from two
places digests the same); its contents, names and sizes do.
*/

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What the report says about the digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusDigest {
    /// Lower-case hex SHA-256 over the sum of the entries (see [`RULE`]).
    pub sha256: String,
    /// Entries hashed: every file seen, counted or skipped, but this run's
    /// own reports (skipped as `own-output`).
    pub files: u64,
    /// How the entries are written, so the digest can be recomputed by hand.
    pub rule: String,
}

/// How the digest is computed, written out in every report.
pub const RULE: &str = "per file seen (but the run's own reports): e = sha256(relative path, NUL, size in bytes (decimal), \
     NUL, content sha256 (hex) or `skipped`); S = the sum of every e as a 256-bit big-endian \
     number, modulo 2^256; digest = sha256(S as 32 big-endian bytes, the number of files \
     (decimal))";

/// The roots an audit was given, longest first, so that a path is made
/// relative to the most specific root it lies under (a root inside another
/// wins for its files).
#[derive(Clone, Debug)]
pub struct Roots(Vec<PathBuf>);

impl Roots {
    pub fn new(roots: &[PathBuf]) -> Self {
        let mut roots = roots.to_vec();
        roots.sort_by_key(|r| std::cmp::Reverse(r.as_os_str().len()));
        Roots(roots)
    }

    /// `path` relative to its root, with `/` between components on every
    /// OS: what the digest and the shard partition see of a path, so that
    /// both are the same wherever the corpus is mounted. A root that is
    /// the file itself gives the file's name.
    pub fn relative(&self, path: &Path) -> String {
        let rel = self.strip(path);
        let s = rel.to_string_lossy();
        if std::path::MAIN_SEPARATOR == '/' {
            s.into_owned()
        } else {
            s.replace(std::path::MAIN_SEPARATOR, "/")
        }
    }

    /// `path` relative to its root, as a path (see [`Roots::relative`]).
    pub fn strip<'p>(&self, path: &'p Path) -> &'p Path {
        for root in &self.0 {
            if let Ok(rest) = path.strip_prefix(root) {
                if rest.as_os_str().is_empty() {
                    return path.file_name().map(Path::new).unwrap_or(path);
                }
                return rest;
            }
        }
        path
    }
}

/// A 256-bit number, four 64-bit limbs, most significant first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sum([u64; 4]);

impl Sum {
    fn add(&mut self, other: &Sum) {
        let mut carry = false;
        for i in (0..4).rev() {
            let (a, c1) = self.0[i].overflowing_add(other.0[i]);
            let (b, c2) = a.overflowing_add(carry as u64);
            self.0[i] = b;
            carry = c1 || c2;
        }
    }

    fn from_bytes(b: &[u8; 32]) -> Sum {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            *limb = u64::from_be_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        }
        Sum(limbs)
    }

    fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }
}

/// The digest of a set of files before it is finished: what a shard's
/// report carries so that `merge` can add the shards up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestPart {
    sum: Sum,
    files: u64,
}

impl DigestPart {
    /// The part of a disjoint set of files added in.
    pub fn merge(&mut self, other: &DigestPart) {
        self.sum.add(&other.sum);
        self.files += other.files;
    }

    pub fn finish(&self) -> CorpusDigest {
        let mut h = Sha256::new();
        h.update(self.sum.to_bytes());
        h.update(self.files.to_string().as_bytes());
        CorpusDigest {
            sha256: hex(&h.finalize().into()),
            files: self.files,
            rule: RULE.to_string(),
        }
    }
}

/// Accumulates the digest as files arrive, in any order.
pub struct DigestBuilder {
    roots: Roots,
    part: DigestPart,
}

impl DigestBuilder {
    /// `roots`: the paths the audit was given; each entry's path is made
    /// relative to the longest root it lies under.
    pub fn new(roots: &[PathBuf]) -> Self {
        DigestBuilder {
            roots: Roots::new(roots),
            part: DigestPart::default(),
        }
    }

    /// A counted file, with its content hash (`None` only for text that
    /// never was a file, which enters as `unhashed`).
    pub fn counted(&mut self, path: &Path, bytes: u64, sha256: Option<&[u8; 32]>) {
        let hex = match sha256 {
            Some(h) => hex(h),
            None => "unhashed".to_string(),
        };
        self.entry(path, bytes, &hex);
    }

    pub fn skipped(&mut self, path: &Path, bytes: u64) {
        self.entry(path, bytes, "skipped");
    }

    fn entry(&mut self, path: &Path, bytes: u64, content: &str) {
        let mut h = Sha256::new();
        h.update(self.roots.relative(path).as_bytes());
        h.update(b"\0");
        h.update(bytes.to_string().as_bytes());
        h.update(b"\0");
        h.update(content.as_bytes());
        let entry = DigestPart {
            sum: Sum::from_bytes(&h.finalize().into()),
            files: 1,
        };
        self.part.merge(&entry);
    }

    /// The unfinished digest, to be merged with other shards'.
    pub fn part(&self) -> DigestPart {
        self.part
    }

    /// `path` relative to the longest root it lies under (a root that is a
    /// file: its name), as it enters the digest.
    pub fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        self.roots.strip(path)
    }

    pub fn finish(self) -> CorpusDigest {
        self.part.finish()
    }
}

/// Lower-case hex of a SHA-256.
pub fn hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    type Entry<'a> = (&'a str, u64, Option<[u8; 32]>);

    fn builder(roots: &[&str], entries: &[Entry]) -> DigestBuilder {
        let roots: Vec<PathBuf> = roots.iter().map(PathBuf::from).collect();
        let mut d = DigestBuilder::new(&roots);
        for (p, n, h) in entries {
            match h {
                Some(h) => d.counted(Path::new(p), *n, Some(h)),
                None => d.skipped(Path::new(p), *n),
            }
        }
        d
    }

    fn digest(roots: &[&str], entries: &[Entry]) -> CorpusDigest {
        builder(roots, entries).finish()
    }

    #[test]
    fn the_place_of_the_corpus_does_not_count_its_contents_do() {
        let a = digest(&["/x/corpus"], &[("/x/corpus/a.txt", 3, Some([1; 32]))]);
        let b = digest(&["corpus"], &[("corpus/a.txt", 3, Some([1; 32]))]);
        assert_eq!(a, b);
        let changed = digest(&["corpus"], &[("corpus/a.txt", 3, Some([2; 32]))]);
        assert_ne!(a.sha256, changed.sha256);
        let renamed = digest(&["corpus"], &[("corpus/b.txt", 3, Some([1; 32]))]);
        assert_ne!(a.sha256, renamed.sha256);
        let skipped = digest(&["corpus"], &[("corpus/a.txt", 3, None)]);
        assert_ne!(a.sha256, skipped.sha256);
        let resized = digest(&["corpus"], &[("corpus/a.txt", 4, Some([1; 32]))]);
        assert_ne!(a.sha256, resized.sha256);
    }

    /// The rule, computed here with arbitrary-precision integers written
    /// out by hand (byte-wise addition), not with the module's `Sum`.
    #[test]
    fn the_digest_is_the_rule_written_out() {
        let d = digest(
            &["c"],
            &[("c/a", 1, Some([0xab; 32])), ("c/b/z.bin", 20, None)],
        );
        let e1: [u8; 32] = Sha256::digest(format!("a\x001\x00{}", "ab".repeat(32))).into();
        let e2: [u8; 32] = Sha256::digest("b/z.bin\x0020\x00skipped").into();
        let mut sum = [0u8; 32];
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let s = e1[i] as u16 + e2[i] as u16 + carry;
            sum[i] = s as u8;
            carry = s >> 8;
        }
        let mut last = sum.to_vec();
        last.extend_from_slice(b"2");
        assert_eq!(d.sha256, hex(&Sha256::digest(&last).into()));
        assert_eq!(d.files, 2);
    }

    #[test]
    fn parts_add_up_to_the_whole_in_any_order() {
        let files: Vec<Entry> = (0..20u8)
            .map(|i| {
                let name: &'static str = Box::leak(format!("r/f{i}").into_boxed_str());
                (name, i as u64, (i % 3 != 0).then_some([i; 32]))
            })
            .collect();
        let whole = digest(&["r"], &files);
        for split in [1, 2, 3, 7] {
            let mut merged = DigestPart::default();
            for k in (0..split).rev() {
                let mine: Vec<Entry> = files
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % split == k)
                    .map(|(_, e)| *e)
                    .collect();
                merged.merge(&builder(&["r"], &mine).part());
            }
            assert_eq!(merged.finish(), whole, "{split} parts");
        }
        let mut reversed = files.clone();
        reversed.reverse();
        assert_eq!(digest(&["r"], &reversed), whole);
    }

    #[test]
    fn a_sum_carries_across_limbs_and_wraps() {
        let mut s = Sum([0, 0, 0, u64::MAX]);
        s.add(&Sum([0, 0, 0, 1]));
        assert_eq!(s, Sum([0, 0, 1, 0]));
        let mut s = Sum([u64::MAX; 4]);
        s.add(&Sum([0, 0, 0, 2]));
        assert_eq!(s, Sum([0, 0, 0, 1]));
    }
}
