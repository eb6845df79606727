/*!
Discover: turn the paths a user gave into the list of files to audit.

Walks directories with walkdir, applies the hidden/symlink/glob/size filters
and assigns each file its category. A path that cannot be walked becomes a
[`Skipped`] entry, never a silent drop: this is where the accounting
invariant starts. Reading the files is not this module's job (see `load`).
*/

use std::io;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::skip::SkipReason;

/// A file to be read: where it is, how big discovery saw it, and the
/// category it is attributed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The path as reached by the walk (the root given, joined with the
    /// relative path), or `-` for standard input.
    pub path: PathBuf,
    pub len: u64,
    pub category: String,
}

impl Source {
    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// A file discovery reached but will not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub category: String,
    pub bytes: u64,
    pub reason: SkipReason,
}

/// What discovery found: files to read and files already skipped, both
/// sorted by path so that reports are deterministic.
#[derive(Debug, Default)]
pub struct Discovery {
    pub sources: Vec<Source>,
    pub skipped: Vec<Skipped>,
}

/// `--category NAME=GLOB`, in the order given: the first match wins.
#[derive(Clone, Debug)]
pub struct CategoryRule {
    pub name: String,
    glob: globset::GlobMatcher,
}

impl CategoryRule {
    /// Parses `NAME=GLOB`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, glob) = spec
            .split_once('=')
            .ok_or_else(|| format!("--category `{spec}`: expected NAME=GLOB"))?;
        if name.is_empty() {
            return Err(format!("--category `{spec}`: empty category name"));
        }
        let glob = Glob::new(glob)
            .map_err(|e| format!("--category `{spec}`: {e}"))?
            .compile_matcher();
        Ok(CategoryRule {
            name: name.to_string(),
            glob,
        })
    }
}

/// The decisions that shape a walk, made once from the command line.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub include: Option<GlobSet>,
    pub exclude: Option<GlobSet>,
    pub hidden: bool,
    pub follow: bool,
    pub max_file_size: Option<u64>,
    pub categories: Vec<CategoryRule>,
}

/// Compiles repeated `--include`/`--exclude` globs into one matcher.
pub fn glob_set(globs: &[String], flag: &str) -> Result<Option<GlobSet>, String> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        builder.add(Glob::new(g).map_err(|e| format!("{flag} `{g}`: {e}"))?);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| format!("{flag}: {e}"))
}

impl Filters {
    /// The category of a file at `rel` (relative to its root).
    fn category(&self, rel: &Path) -> String {
        if let Some(rule) = self.categories.iter().find(|r| r.glob.is_match(rel)) {
            return rule.name.clone();
        }
        let mut parts = rel.components();
        match (parts.next(), parts.next()) {
            (Some(first), Some(_)) => first.as_os_str().to_string_lossy().into_owned(),
            _ => ".".to_string(),
        }
    }

    fn excluded(&self, rel: &Path) -> bool {
        self.exclude.as_ref().is_some_and(|set| set.is_match(rel))
    }

    fn included(&self, rel: &Path) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(rel))
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with('.') && n != "." && n != "..")
}

/// Walks every root. Roots given explicitly are always visited, even when
/// hidden or a symlink, as ripgrep does: the user named them.
pub fn discover(roots: &[PathBuf], filters: &Filters) -> Discovery {
    let mut out = Discovery::default();
    for root in roots {
        if root.as_os_str() == "-" {
            out.sources.push(Source {
                path: root.clone(),
                len: 0,
                category: "stdin".to_string(),
            });
            continue;
        }
        walk_root(root, filters, &mut out);
    }
    out.sources.sort_by(|a, b| a.path.cmp(&b.path));
    out.sources.dedup_by(|a, b| a.path == b.path);
    out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk_root(root: &Path, filters: &Filters, out: &mut Discovery) {
    let walker = WalkDir::new(root)
        .follow_links(filters.follow)
        .follow_root_links(true)
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            if !filters.hidden && is_hidden(e.file_name()) {
                return false;
            }
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            !filters.excluded(rel)
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(root).to_path_buf();
                let rel = path.strip_prefix(root).unwrap_or(&path);
                if !filters.included(rel) && err.loop_ancestor().is_none() {
                    // A file the filters would not have selected anyway.
                    continue;
                }
                out.skipped.push(Skipped {
                    category: filters.category(rel),
                    path: path.clone(),
                    bytes: 0,
                    reason: walk_error_reason(&err, &path),
                });
                continue;
            }
        };
        // A root the user named is followed even when it is a link (walkdir
        // still reports the link's own type for it).
        let file_type = if entry.depth() == 0 && entry.path_is_symlink() {
            match std::fs::metadata(entry.path()) {
                Ok(m) => m.file_type(),
                Err(_) => entry.file_type(),
            }
        } else {
            entry.file_type()
        };
        if file_type.is_dir() {
            continue;
        }
        let path = entry.path();
        let rel = if entry.depth() == 0 {
            Path::new(path.file_name().unwrap_or(path.as_os_str()))
        } else {
            path.strip_prefix(root).unwrap_or(path)
        };
        if !filters.included(rel) {
            continue;
        }
        let category = filters.category(rel);
        let skip = |reason, bytes| Skipped {
            path: path.to_path_buf(),
            category: category.clone(),
            bytes,
            reason,
        };
        if file_type.is_symlink() {
            // Only reached without --follow (walkdir resolves links when
            // following). A link whose target is missing is told apart.
            let reason = if std::fs::metadata(path).is_err() {
                SkipReason::BrokenSymlink
            } else {
                SkipReason::Symlink
            };
            out.skipped.push(skip(reason, 0));
            continue;
        }
        if !file_type.is_file() {
            out.skipped.push(skip(SkipReason::NotRegularFile, 0));
            continue;
        }
        let len = match entry.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                out.skipped
                    .push(skip(SkipReason::WalkError(e.to_string()), 0));
                continue;
            }
        };
        if let Some(limit) = filters.max_file_size {
            if len > limit {
                out.skipped.push(skip(SkipReason::TooLarge { limit }, len));
                continue;
            }
        }
        out.sources.push(Source {
            path: path.to_path_buf(),
            len,
            category,
        });
    }
}

fn walk_error_reason(err: &walkdir::Error, path: &Path) -> SkipReason {
    if err.loop_ancestor().is_some() {
        return SkipReason::SymlinkLoop;
    }
    if let Some(io) = err.io_error() {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && io.kind() == io::ErrorKind::NotFound {
            return SkipReason::BrokenSymlink;
        }
        if is_link && io.raw_os_error() == Some(40) {
            // ELOOP: the OS gave up resolving a cycle of links.
            return SkipReason::SymlinkLoop;
        }
        return SkipReason::WalkError(io.to_string());
    }
    SkipReason::WalkError(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_is_first_component_or_dot() {
        let f = Filters::default();
        assert_eq!(f.category(Path::new("contracts/a/b.txt")), "contracts");
        assert_eq!(f.category(Path::new("top.txt")), ".");
    }

    #[test]
    fn category_rules_first_match_wins() {
        let f = Filters {
            categories: vec![
                CategoryRule::parse("legal=**/*.md").unwrap(),
                CategoryRule::parse("docs=**/*.md").unwrap(),
            ],
            ..Filters::default()
        };
        assert_eq!(f.category(Path::new("x/y.md")), "legal");
        assert_eq!(f.category(Path::new("x/y.txt")), "x");
        assert!(CategoryRule::parse("nameonly").is_err());
    }
}
