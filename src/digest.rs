/*!
The corpus digest: one SHA-256 that says which bytes an audit covered, so
that two reports can be shown to describe the same data, or told apart.

It is a hash over the list of every file seen, in path order (the order in
which the audit hands rows out, see `discover`), each entry being the path
relative to the root it was found under, the size in bytes, and the SHA-256
of the file's content (taken in `load` while the bytes are in cache). A
skipped file enters with its path and size and the word `skipped` in place
of a content hash: it was not read whole, and what it holds did not count.

Where the corpus lies does not enter (the same folder audited from two
places digests the same); its contents, names and sizes do. The entries
are fed to the hash as they arrive, so memory does not grow with the corpus.
*/

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What the report says about the digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CorpusDigest {
    /// Lower-case hex SHA-256 over the entries.
    pub sha256: String,
    /// Entries hashed: every file seen, counted or skipped.
    pub files: u64,
    /// How the entries are written, so the digest can be recomputed by hand.
    pub rule: &'static str,
}

/// How each entry is written into the hash.
pub const RULE: &str = "sha256 over, per file seen in path order: relative path, NUL, size in \
     bytes (decimal), NUL, content sha256 (hex) or `skipped`, newline";

/// Accumulates the digest as rows arrive in path order.
pub struct DigestBuilder {
    roots: Vec<PathBuf>,
    hasher: Sha256,
    files: u64,
}

impl DigestBuilder {
    /// `roots`: the paths the audit was given; each entry's path is made
    /// relative to the longest root it lies under.
    pub fn new(roots: &[PathBuf]) -> Self {
        let mut roots = roots.to_vec();
        // Longest first, so a root inside another wins for its files.
        roots.sort_by_key(|r| std::cmp::Reverse(r.as_os_str().len()));
        DigestBuilder {
            roots,
            hasher: Sha256::new(),
            files: 0,
        }
    }

    /// A counted file, with its content hash (`None` only for text that
    /// never was a file, which enters as `skipped` would).
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
        let rel = self.relative(path);
        self.hasher
            .update(rel.to_string_lossy().replace('\\', "/").as_bytes());
        self.hasher.update(b"\0");
        self.hasher.update(bytes.to_string().as_bytes());
        self.hasher.update(b"\0");
        self.hasher.update(content.as_bytes());
        self.hasher.update(b"\n");
        self.files += 1;
    }

    /// `path` relative to the longest root it lies under (a root that is a
    /// file: its name), as it enters the digest.
    pub fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        for root in &self.roots {
            if let Ok(rest) = path.strip_prefix(root) {
                if rest.as_os_str().is_empty() {
                    // The root is the file itself: its name is its path.
                    return path.file_name().map(Path::new).unwrap_or(path);
                }
                return rest;
            }
        }
        path
    }

    pub fn finish(self) -> CorpusDigest {
        CorpusDigest {
            sha256: hex(&self.hasher.finalize().into()),
            files: self.files,
            rule: RULE,
        }
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

    fn digest(roots: &[&str], entries: &[(&str, u64, Option<[u8; 32]>)]) -> CorpusDigest {
        let roots: Vec<PathBuf> = roots.iter().map(PathBuf::from).collect();
        let mut d = DigestBuilder::new(&roots);
        for (p, n, h) in entries {
            match h {
                Some(h) => d.counted(Path::new(p), *n, Some(h)),
                None => d.skipped(Path::new(p), *n),
            }
        }
        d.finish()
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
    }

    #[test]
    fn the_digest_is_sha256_of_the_rule_written_out() {
        let d = digest(
            &["c"],
            &[("c/a", 1, Some([0xab; 32])), ("c/b/z.bin", 20, None)],
        );
        let written = format!("a\x001\x00{}\nb/z.bin\x0020\x00skipped\n", "ab".repeat(32));
        assert_eq!(d.sha256, hex(&Sha256::digest(written.as_bytes()).into()));
        assert_eq!(d.files, 2);
    }
}
