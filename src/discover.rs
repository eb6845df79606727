/*!
Discover: turn the paths a user gave into the stream of files to audit.

Walks directories with walkdir, applies the hidden/symlink/glob/size filters
and the ignore files (`.gitignore`, `.ignore`), and assigns each file its
category. A path that cannot be walked, an ignored one, or one of this run's
own reports becomes a [`Skipped`] entry, never a silent drop: this is where
the accounting invariant starts. Reading the files is not this module's job
(see `load`).

The walk is a stream, not a list: [`discover`] yields entries in path order
(`Path` ordering, component by component) as it reaches them, so memory does
not grow with the number of files. The order comes from the walk itself: a
depth-first walk that visits each directory's children sorted by name
reaches paths in component-wise order, because a directory's subtree is a
contiguous range of that order, placed where the directory's name sorts
among its siblings (`a` < `a/b` < `a.txt`: components compare `a` < `a.txt`
before `b` is looked at). Several roots are merged, see [`discover`].
*/

use std::io;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::skip::SkipReason;

/// A file to be read: where it is, how big discovery saw it (if it
/// looked), and the category it is attributed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The path as reached by the walk (the root given, joined with the
    /// relative path), or `-` for standard input.
    pub path: PathBuf,
    /// The size discovery saw. It looks only when a filter needs the size
    /// before the file is read (`--max-file-size`); otherwise `load` asks
    /// the opened file, which costs no path lookup. Asking by path was 60%
    /// of the walk's CPU time on a tree of small files (perf, 15,073 files),
    /// and the walk is one thread while the counting is all the others.
    pub len: Option<u64>,
    pub category: String,
}

impl Source {
    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }

    /// The file's size for a skipped entry's row: what discovery saw, else
    /// what the file system says now, else 0 (it cannot be asked).
    pub fn bytes_for_report(&self) -> u64 {
        self.len
            .or_else(|| std::fs::metadata(&self.path).ok().map(|m| m.len()))
            .unwrap_or(0)
    }
}

/// A file discovery reached but will not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub category: String,
    pub bytes: u64,
    pub reason: SkipReason,
}

/// One file discovery reached: to be read, or already skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Read(Source),
    Skip(Skipped),
}

impl Entry {
    pub fn path(&self) -> &Path {
        match self {
            Entry::Read(s) => &s.path,
            Entry::Skip(s) => &s.path,
        }
    }

    /// Whether `self` comes before `other` in the stream: by path, and for
    /// the same path a file to read before a skipped one.
    fn precedes(&self, other: &Entry) -> bool {
        let skipped = |e: &Entry| matches!(e, Entry::Skip(_));
        (self.path(), skipped(self)) < (other.path(), skipped(other))
    }
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
    pub own_outputs: OwnOutputs,
    /// Leave out what `.gitignore` and `.ignore` files ignore, as git and
    /// ripgrep do; each ignored file or folder is reported skipped,
    /// `ignored`, with the rule (folders are not entered).
    pub ignore_files: bool,
}

/// The files this run writes (its reports, and their temporary names while
/// they are written). The walk reports them skipped (`own-output`) instead
/// of counting them: a folder audited with `--json report.json` inside it
/// would otherwise count a report half written, or last run's, which this
/// run replaces; and the totals would change from one run to the next.
///
/// Kept as folder-resolved paths (the folder made absolute, links and `..`
/// resolved; the file itself may not exist yet). A walked file is resolved
/// only when its name is one of theirs, so the walk pays nothing else.
#[derive(Clone, Debug, Default)]
pub struct OwnOutputs {
    files: Vec<PathBuf>,
}

impl OwnOutputs {
    /// Adds a file the run writes. A path in a folder that does not exist
    /// is left out: the walk cannot reach it.
    pub fn add(&mut self, path: &Path) {
        if let Some(resolved) = resolve_folder(path) {
            self.files.push(resolved);
        }
    }

    fn contains(&self, path: &Path) -> bool {
        let name = path.file_name();
        name.is_some()
            && self.files.iter().any(|f| f.file_name() == name)
            && resolve_folder(path).is_some_and(|p| self.files.contains(&p))
    }
}

/// `path` with its folder resolved (absolute, no links, no `..`) and its
/// file name kept as given: two spellings of one file compare equal.
pub fn resolve_folder(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(folder).ok()?.join(name))
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

/// The first folder below the root of a file at `rel` (relative to its
/// root), or `.` for a file directly in the root: the default category, and
/// the report's attribution by top folder whatever `--category` says.
pub fn top_folder(rel: &Path) -> String {
    let mut parts = rel.components();
    match (parts.next(), parts.next()) {
        (Some(first), Some(_)) => first.as_os_str().to_string_lossy().into_owned(),
        _ => ".".to_string(),
    }
}

impl Filters {
    /// The category of a file at `rel` (relative to its root).
    fn category(&self, rel: &Path) -> String {
        if let Some(rule) = self.categories.iter().find(|r| r.glob.is_match(rel)) {
            return rule.name.clone();
        }
        top_folder(rel)
    }

    fn excluded(&self, rel: &Path) -> bool {
        self.exclude.as_ref().is_some_and(|set| set.is_match(rel))
    }

    fn included(&self, rel: &Path) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(rel))
    }
}

/// `path` relative to the `root` it was walked from. Walked paths are the
/// root's bytes, a separator and the rest, so the rest is sliced off
/// without parsing components (`Path::strip_prefix` does, and the walk
/// needs this twice per file); anything else takes the general way.
fn relative<'p>(root: &Path, path: &'p Path) -> &'p Path {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let (r, p) = (root.as_os_str().as_bytes(), path.as_os_str().as_bytes());
        if let Some(rest) = p.strip_prefix(r) {
            let rest = if r.ends_with(b"/") {
                Some(rest)
            } else {
                rest.strip_prefix(b"/")
            };
            if let Some(rest) = rest.filter(|rest| !rest.starts_with(b"/")) {
                return Path::new(std::ffi::OsStr::from_bytes(rest));
            }
        }
    }
    path.strip_prefix(root).unwrap_or(path)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with('.') && n != "." && n != "..")
}

/// Walks every root, yielding its files in path order. Roots given
/// explicitly are always visited, even when hidden or a symlink, as ripgrep
/// does: the user named them.
///
/// Each root is its own sorted stream, and the streams are merged (k-way,
/// one head per root). Disjoint roots would not need it: a root's entries
/// all have it as a prefix, so they form one contiguous range of the order,
/// and walking the roots in sorted order would do. But a root inside another
/// (`a` and `a/x`) or given twice interleaves with it, and a merge handles
/// every case with one rule. A path reached from several roots is yielded
/// once: a file to read wins over a skipped one (an explicit root that is a
/// link, also reached unfollowed through its parent), then the root given
/// first (its category is the one reported). Memory is one walk per root,
/// whatever the number of files.
pub fn discover<'a>(
    roots: &'a [PathBuf],
    filters: &'a Filters,
) -> impl Iterator<Item = Entry> + 'a {
    let streams = roots
        .iter()
        .map(|root| -> Box<dyn Iterator<Item = Entry> + 'a> {
            if root.as_os_str() == "-" {
                Box::new(std::iter::once(Entry::Read(Source {
                    path: root.clone(),
                    len: None,
                    category: "stdin".to_string(),
                })))
            } else {
                Box::new(walk_root(root, filters))
            }
        })
        .map(|rest| RootStream {
            head: None,
            started: false,
            rest,
        })
        .collect();
    Merge { streams }
}

/// One root's walk with its next entry pulled out, for the merge. The
/// first entry is pulled on the first `next` of the merge, not when the
/// stream is built: building a walk does no I/O.
struct RootStream<'a> {
    head: Option<Entry>,
    started: bool,
    rest: Box<dyn Iterator<Item = Entry> + 'a>,
}

impl RootStream<'_> {
    fn start(&mut self) {
        if !self.started {
            self.started = true;
            self.head = self.rest.next();
        }
    }

    fn take(&mut self) -> Option<Entry> {
        let entry = self.head.take();
        self.head = self.rest.next();
        entry
    }
}

/// The k-way merge of per-root streams, each already in path order.
struct Merge<'a> {
    streams: Vec<RootStream<'a>>,
}

impl Iterator for Merge<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        for stream in &mut self.streams {
            stream.start();
        }
        // A linear scan: there are as many streams as roots given, a few.
        // Only a head strictly before replaces the best so far, so on a tie
        // the root given first wins.
        let first = self
            .streams
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.head.as_ref().map(|head| (i, head)))
            .reduce(|best, next| if next.1.precedes(best.1) { next } else { best })?
            .0;
        let entry = self.streams[first].take()?;
        // Other roots may reach the same path; one root never yields a path
        // twice, so its own stream is not checked (nothing is, for one root).
        for (_, stream) in self
            .streams
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i != first)
        {
            while stream
                .head
                .as_ref()
                .is_some_and(|e| e.path() == entry.path())
            {
                stream.take();
            }
        }
        Some(entry)
    }
}

/// One root's entries, in path order (see the module comment for why
/// sorting each directory by name gives that order).
fn walk_root<'a>(root: &'a Path, filters: &'a Filters) -> impl Iterator<Item = Entry> + 'a {
    let rules = filters
        .ignore_files
        .then(|| IgnoreRules::for_root(root))
        .flatten();
    let walk = WalkDir::new(root)
        .follow_links(filters.follow)
        .follow_root_links(true)
        // By name, compared as whole paths: siblings share the path up to
        // their names, so the order is the same, and comparing bytes skips
        // parsing each name out of its path twice per comparison (parsing
        // components, here and in `strip_prefix`, was a third of the walk
        // thread's time on the benchmark tree).
        .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
        .into_iter()
        .filter_entry(move |e| {
            if e.depth() == 0 {
                return true;
            }
            if !filters.hidden && is_hidden(e.file_name()) {
                return false;
            }
            !filters.excluded(relative(root, e.path()))
        });
    RootWalk {
        root,
        filters,
        walk,
        rules,
    }
}

/// A root's walk with its ignore files applied (when asked: `rules`).
struct RootWalk<'a, W> {
    root: &'a Path,
    filters: &'a Filters,
    walk: W,
    rules: Option<IgnoreRules>,
}

impl<P> Iterator for RootWalk<'_, walkdir::FilterEntry<walkdir::IntoIter, P>>
where
    P: FnMut(&walkdir::DirEntry) -> bool,
{
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let entry = self.walk.next()?;
            if let (Some(rules), Ok(e)) = (self.rules.as_mut(), &entry) {
                let is_dir = e.file_type().is_dir();
                rules.leave_to(e.depth());
                let rel = relative(self.root, e.path());
                if e.depth() > 0 && !rules.frames.is_empty() {
                    if let Some(mut rule) = rules.ignoring(&rules.absolute(rel), is_dir) {
                        if is_dir {
                            self.walk.skip_current_dir();
                        }
                        // A folder is reported only when no --include could
                        // have left all its files out anyway, under the
                        // category its files would have had.
                        let (shown, category) = if is_dir {
                            let inside = rel.join("_");
                            (
                                self.filters.include.is_none(),
                                self.filters.category(&inside),
                            )
                        } else {
                            (self.filters.included(rel), self.filters.category(rel))
                        };
                        if shown {
                            // A file's size is one stat away and says what
                            // was left out (a folder is not entered: 0).
                            let bytes = if is_dir {
                                // Said, or its 0 B reads as an empty folder.
                                rule.push_str("; a folder, not entered");
                                0
                            } else {
                                e.metadata().map_or(0, |m| m.len())
                            };
                            return Some(Entry::Skip(Skipped {
                                path: e.path().to_path_buf(),
                                category,
                                bytes,
                                reason: SkipReason::Ignored { rule },
                            }));
                        }
                        continue;
                    }
                }
                // The root is a folder (rules exist only for one), even
                // when walkdir reports a link named as the root by its own
                // type.
                if is_dir || e.depth() == 0 {
                    let folder = rules.absolute(rel);
                    rules.enter(e.depth() as isize, &folder);
                }
            }
            if let Some(out) = classify(self.root, self.filters, entry) {
                return Some(out);
            }
        }
    }
}

/// The ignore files' rules that apply where the walk is, innermost first
/// (`ripgrep`'s and git's precedence): a folder's `.ignore`, then its
/// `.gitignore`, then its parent's, up to the repository's top, and the
/// repository's `.git/info/exclude` last. `.gitignore` and the exclude file
/// count only in a git work tree (a folder with `.git` at or above the
/// root); `.ignore` counts at or below the root anywhere, and above it
/// inside a work tree. The global `core.excludesFile` is left out on
/// purpose: it is one person's machine, and two machines must audit one
/// clone alike (shards are merged).
///
/// Rules are matched on absolute paths, since a repository's own files lie
/// above the root as given.
struct IgnoreRules {
    /// The root, absolute and resolved.
    root: PathBuf,
    /// In a git work tree: `.gitignore` files count.
    git: bool,
    /// Each matcher and the walk depth of its folder (above the root: -1).
    frames: Vec<(isize, ignore::gitignore::Gitignore)>,
}

impl IgnoreRules {
    /// The rules above a root folder; `None` for a root that is a file or
    /// cannot be resolved (nothing below it to ignore).
    fn for_root(root: &Path) -> Option<IgnoreRules> {
        let root = std::fs::canonicalize(root).ok()?;
        if !root.is_dir() {
            return None;
        }
        let top = root.ancestors().find(|a| a.join(".git").exists());
        let mut rules = IgnoreRules {
            git: top.is_some(),
            frames: Vec::new(),
            root: root.clone(),
        };
        if let Some(top) = top {
            rules.push(-1, &top.join(".git/info/exclude"), top);
            // From the top down to the root's parent: outermost first.
            let above: Vec<&Path> = root
                .ancestors()
                .skip(1)
                .take_while(|a| a.starts_with(top))
                .collect();
            for folder in above.into_iter().rev() {
                rules.enter(-1, folder);
            }
        }
        Some(rules)
    }

    /// `rel` (a walked path relative to the root) made absolute.
    fn absolute(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// Drops the rules of folders the walk has left: an entry at `depth`
    /// lies under none of the folders at that depth or deeper.
    fn leave_to(&mut self, depth: usize) {
        while self
            .frames
            .last()
            .is_some_and(|&(d, _)| d >= depth as isize)
        {
            self.frames.pop();
        }
    }

    /// Takes in the ignore files of `folder`, at walk depth `depth`.
    fn enter(&mut self, depth: isize, folder: &Path) {
        if self.git {
            self.push(depth, &folder.join(".gitignore"), folder);
        }
        self.push(depth, &folder.join(".ignore"), folder);
    }

    fn push(&mut self, depth: isize, file: &Path, folder: &Path) {
        if !file.is_file() {
            return;
        }
        let mut builder = ignore::gitignore::GitignoreBuilder::new(folder);
        // A line that is not a valid pattern is passed over, as git does.
        let _ = builder.add(file);
        if let Ok(matcher) = builder.build() {
            if !matcher.is_empty() {
                self.frames.push((depth, matcher));
            }
        }
    }

    /// The rule that ignores `path` (absolute), as the reason words it;
    /// `None` when no rule does, or the deciding rule is a `!` exception.
    fn ignoring(&self, path: &Path, is_dir: bool) -> Option<String> {
        for (_, matcher) in self.frames.iter().rev() {
            match matcher.matched(path, is_dir) {
                ignore::Match::None => continue,
                ignore::Match::Whitelist(_) => return None,
                ignore::Match::Ignore(glob) => {
                    let file = glob.from().map_or_else(
                        || matcher.path().display().to_string(),
                        |f| f.display().to_string(),
                    );
                    return Some(format!("`{}` in {file}", glob.original()));
                }
            }
        }
        None
    }
}

/// What one step of the walk is: a file to read, a skipped file, or nothing
/// to report (a directory, a file the filters do not select).
fn classify(
    root: &Path,
    filters: &Filters,
    entry: walkdir::Result<walkdir::DirEntry>,
) -> Option<Entry> {
    let entry = match entry {
        Ok(entry) => entry,
        Err(err) => {
            // An error that names no path (reading a directory's entries
            // failed midway) is reported against the root: the only path
            // known. It then comes out of path order, the one exception.
            let path = err.path().unwrap_or(root).to_path_buf();
            let rel = relative(root, &path);
            if !filters.included(rel) && err.loop_ancestor().is_none() {
                // A file the filters would not have selected anyway.
                return None;
            }
            return Some(Entry::Skip(Skipped {
                category: filters.category(rel),
                reason: walk_error_reason(&err, &path),
                path,
                bytes: 0,
            }));
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
        return None;
    }
    let path = entry.path();
    let rel = if entry.depth() == 0 {
        Path::new(path.file_name().unwrap_or(path.as_os_str()))
    } else {
        relative(root, path)
    };
    if !filters.included(rel) {
        return None;
    }
    let category = filters.category(rel);
    let skip = |reason, bytes| {
        Some(Entry::Skip(Skipped {
            path: path.to_path_buf(),
            category: category.clone(),
            bytes,
            reason,
        }))
    };
    if filters.own_outputs.contains(path) {
        return skip(SkipReason::OwnOutput, 0);
    }
    if file_type.is_symlink() {
        // Only reached without --follow (walkdir resolves links when
        // following). A link whose target is missing is told apart.
        let reason = if std::fs::metadata(path).is_err() {
            SkipReason::BrokenSymlink
        } else {
            SkipReason::Symlink
        };
        return skip(reason, 0);
    }
    if !file_type.is_file() {
        return skip(SkipReason::NotRegularFile, 0);
    }
    let mut len = None;
    if let Some(limit) = filters.max_file_size {
        let size = match entry.metadata() {
            Ok(m) => m.len(),
            Err(e) => return skip(SkipReason::WalkError(e.to_string()), 0),
        };
        if size > limit {
            return skip(SkipReason::TooLarge { limit }, size);
        }
        len = Some(size);
    }
    Some(Entry::Read(Source {
        // The walk's own path, moved rather than copied.
        path: entry.into_path(),
        len,
        category,
    }))
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
    fn relative_paths_equal_strip_prefix() {
        for (root, path) in [
            ("a", "a/x"),
            ("a", "a/b/x.txt"),
            ("a/", "a/b/x"),
            ("a/.", "a/./x"),
            (".", "./x"),
            ("./a", "./a/x"),
            ("/", "/etc/x"),
            ("/tmp", "/tmp/a/b"),
            ("a//b", "a//b/x"),
            ("a", "a"),
            ("a/", "a/"),
            ("a", "a//x"),
        ] {
            let (root, path) = (Path::new(root), Path::new(path));
            let expected = path.strip_prefix(root).unwrap();
            assert_eq!(relative(root, path), expected, "{root:?} {path:?}");
            // Same bytes, not only equal paths: globs match the bytes.
            assert_eq!(
                relative(root, path).as_os_str(),
                expected.as_os_str(),
                "{root:?} {path:?}"
            );
        }
    }

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

#[cfg(test)]
mod stream_order {
    //! The stream's order is the one collecting every entry and sorting by
    //! path would give: what reports promise, now without the list.
    use super::*;

    /// A tree whose names put component-wise order and byte order of whole
    /// paths at odds (`a/b` < `a.txt` by components, not by bytes), with
    /// upper case, non-ASCII, a hidden file, a symlink and a too-large file.
    fn tricky_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "a.txt",
            "a-b",
            "a/b",
            "a/b.c/d",
            "a/b-c",
            "a0",
            "B",
            "b/Z",
            "b/z",
            "é/ß.txt",
            "z/é",
            "z/e\u{301}",
            "a b/c",
            ".hidden",
            "big",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let body = if file == "big" {
                "x".repeat(100)
            } else {
                file.to_string()
            };
            std::fs::write(&path, body).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("a/link")).unwrap();
        dir
    }

    /// What discovery used to do: every entry of every root, sorted by path
    /// (stable, so the root given first wins a tie), one per path.
    fn collected_and_sorted(roots: &[PathBuf], filters: &Filters) -> Vec<Entry> {
        let mut all: Vec<Entry> = roots
            .iter()
            .flat_map(|root| discover(std::slice::from_ref(root), filters))
            .collect();
        all.sort_by(|a, b| {
            let skipped = |e: &Entry| matches!(e, Entry::Skip(_));
            (a.path(), skipped(a)).cmp(&(b.path(), skipped(b)))
        });
        all.dedup_by(|a, b| a.path() == b.path());
        all
    }

    fn paths(entries: &[Entry]) -> Vec<&Path> {
        entries.iter().map(Entry::path).collect()
    }

    #[test]
    fn one_root_streams_in_path_order() {
        let dir = tricky_tree();
        let filters = Filters {
            max_file_size: Some(50),
            ..Filters::default()
        };
        let roots = [dir.path().to_path_buf()];
        let streamed: Vec<Entry> = discover(&roots, &filters).collect();
        let rel: Vec<String> = streamed
            .iter()
            .map(|e| {
                let p = e.path().strip_prefix(dir.path()).unwrap();
                p.to_string_lossy().into_owned()
            })
            .collect();
        // Written out, so the test does not trust `Path`'s order alone.
        let expected = [
            "B",
            "a/b",
            "a/b-c",
            "a/b.c/d",
            "a/link",
            "a b/c",
            "a-b",
            "a.txt",
            "a0",
            "b/Z",
            "b/z",
            "big",
            "z/e\u{301}",
            "z/é",
            "é/ß.txt",
        ];
        assert_eq!(rel, expected);
        assert_eq!(streamed, collected_and_sorted(&roots, &filters));
        // Hidden files are not walked; the link and the large file are
        // skipped, in their place.
        let reasons: Vec<(&Path, &SkipReason)> = streamed
            .iter()
            .filter_map(|e| match e {
                Entry::Skip(s) => Some((s.path.as_path(), &s.reason)),
                Entry::Read(_) => None,
            })
            .collect();
        let link = dir.path().join("a/link");
        let big = dir.path().join("big");
        assert_eq!(
            reasons,
            vec![
                (link.as_path(), &SkipReason::Symlink),
                (big.as_path(), &SkipReason::TooLarge { limit: 50 })
            ]
        );
    }

    #[test]
    fn overlapping_and_repeated_roots_merge_into_one_sorted_stream() {
        let dir = tricky_tree();
        let filters = Filters::default();
        let root = dir.path();
        let roots = vec![
            root.join("z"),
            root.join("a"),
            root.to_path_buf(),
            root.join("a"),
            root.join("a.txt"),
            root.join("a/link"),
        ];
        let streamed: Vec<Entry> = discover(&roots, &filters).collect();
        let whole: Vec<Entry> = discover(&[root.to_path_buf()], &filters).collect();
        assert_eq!(streamed, collected_and_sorted(&roots, &filters));
        // Every path once, the same paths as walking the parent alone.
        assert_eq!(paths(&streamed), paths(&whole));
        // The root given first decides the category: `z` and `a` came
        // before the parent.
        let category = |rel: &str| {
            streamed
                .iter()
                .find(|e| e.path() == root.join(rel))
                .map(|e| match e {
                    Entry::Read(s) => s.category.clone(),
                    Entry::Skip(s) => s.category.clone(),
                })
                .unwrap()
        };
        assert_eq!(category("z/é"), ".");
        assert_eq!(category("a/b.c/d"), "b.c");
        assert_eq!(category("b/z"), "b");
        // `a/link` named as a root is followed and read, which wins over
        // the same link reached unfollowed through `a`.
        #[cfg(unix)]
        assert!(matches!(
            streamed.iter().find(|e| e.path() == root.join("a/link")),
            Some(Entry::Read(_))
        ));
    }

    #[test]
    fn disjoint_roots_given_out_of_order_come_out_sorted() {
        let dir = tricky_tree();
        let root = dir.path();
        let roots = vec![root.join("b"), root.join("a.txt"), root.join("a/b.c")];
        let streamed: Vec<Entry> = discover(&roots, &Filters::default()).collect();
        let expected = [
            root.join("a/b.c/d"),
            root.join("a.txt"),
            root.join("b/Z"),
            root.join("b/z"),
        ];
        assert_eq!(
            paths(&streamed),
            expected.iter().map(PathBuf::as_path).collect::<Vec<_>>()
        );
    }
}
