/*!
Aggregate: fold per-file results into a [`Tally`].

A `Tally` is a commutative monoid: merging the tallies of two disjoint sets of
files gives the tally of their union, whatever the order. That is what lets
the audit run on many threads with no shared state, and later be split across
processes and merged. Sizes go into a fixed-size log-bucket [`Histogram`]
rather than a list of every file, so memory does not grow with the corpus.
*/

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::content::ContentClass;
use crate::count::fields::FieldCounts;
pub use crate::count::file::{
    merge_by_class, merge_by_language, merge_by_script, ByClass, ByLanguage, ByScript, ClassTally,
    FileTally, LanguageTally, ScriptTally,
};
use crate::count::transcript::{TranscriptCounts, MALFORMED_KEPT};
use crate::count::RecordCounts;
use crate::discover::Skipped;
use crate::extract::chat::Malformed;

/// The group of `key` in `map`, created empty if new: the key is copied
/// only then, not for every file added.
fn group<'m>(map: &'m mut BTreeMap<String, Group>, key: &str) -> &'m mut Group {
    if !map.contains_key(key) {
        map.insert(key.to_string(), Group::default());
    }
    map.get_mut(key).expect("just inserted")
}

/// Sums over a set of counted files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub files: u64,
    /// Pages, sheets, slides or messages of the documents that have them.
    pub pages: u64,
    pub bytes: u64,
    pub chars: u64,
    pub lines: u64,
    /// Per tokenizer, in selection order.
    pub tokens: Vec<u64>,
    /// Tokens per document, per tokenizer: what projections take their
    /// p50–p90 document sizes from.
    pub distribution: Vec<Histogram>,
}

impl Group {
    fn add(&mut self, f: &FileTally) {
        self.files += 1;
        self.pages += f.pages.unwrap_or(0);
        self.bytes += f.bytes;
        self.chars += f.chars;
        self.lines += f.lines;
        add_vec(&mut self.tokens, &f.tokens);
        if self.distribution.len() < f.tokens.len() {
            self.distribution
                .resize(f.tokens.len(), Histogram::default());
        }
        for (h, &t) in self.distribution.iter_mut().zip(&f.tokens) {
            h.record(t);
        }
    }

    fn merge(&mut self, other: &Group) {
        self.files += other.files;
        self.pages += other.pages;
        self.bytes += other.bytes;
        self.chars += other.chars;
        self.lines += other.lines;
        add_vec(&mut self.tokens, &other.tokens);
        if self.distribution.len() < other.distribution.len() {
            self.distribution
                .resize(other.distribution.len(), Histogram::default());
        }
        for (a, b) in self.distribution.iter_mut().zip(&other.distribution) {
            a.merge(b);
        }
    }
}

fn add_vec(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// Token counts per document in log-spaced buckets.
///
/// Values below 1024 have a bucket each (exact); above, each power of two is
/// split into 128 buckets, so a reported quantile is at most 1/128 (0.79%)
/// below the true value. The structure is a sparse map, so its size is bounded
/// by the number of buckets (under 8,000 for any u64), not by the corpus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    buckets: BTreeMap<u32, u64>,
    count: u64,
    max: u64,
}

const EXACT_BELOW: u64 = 1024;
const SUB_BUCKETS_LOG2: u32 = 7;

impl Histogram {
    /// The stated bound on how far a quantile may be below the true value.
    pub const RELATIVE_ERROR: f64 = 1.0 / (1u64 << SUB_BUCKETS_LOG2) as f64;

    pub fn record(&mut self, value: u64) {
        *self.buckets.entry(bucket_of(value)).or_insert(0) += 1;
        self.count += 1;
        self.max = self.max.max(value);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (b, n) in &other.buckets {
            *self.buckets.entry(*b).or_insert(0) += n;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The lower bound of the bucket holding the `q`-quantile (nearest-rank
    /// definition), or 0 for an empty histogram. Never above `max`.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return lower_bound(*b).min(self.max);
            }
        }
        self.max
    }

    /// `(bucket lower bound, count)` pairs, ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.buckets.iter().map(|(b, n)| (lower_bound(*b), *n))
    }
}

fn bucket_of(v: u64) -> u32 {
    if v < EXACT_BELOW {
        return v as u32;
    }
    let exp = 63 - v.leading_zeros(); // >= 10
    let sub = (v >> (exp - SUB_BUCKETS_LOG2)) & ((1 << SUB_BUCKETS_LOG2) - 1);
    EXACT_BELOW as u32 + (exp - 10) * (1 << SUB_BUCKETS_LOG2) + sub as u32
}

fn lower_bound(b: u32) -> u64 {
    if (b as u64) < EXACT_BELOW {
        return b as u64;
    }
    let k = b - EXACT_BELOW as u32;
    let exp = 10 + (k >> SUB_BUCKETS_LOG2);
    let sub = (k & ((1 << SUB_BUCKETS_LOG2) - 1)) as u64;
    (1u64 << exp) | (sub << (exp - SUB_BUCKETS_LOG2))
}

/// The N largest documents by token count of the first tokenizer; ties are
/// broken by path so that the result does not depend on processing order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Largest {
    pub entries: Vec<(u64, PathBuf)>,
}

pub const LARGEST_KEPT: usize = 10;

impl Largest {
    fn offer(&mut self, tokens: u64, path: &std::path::Path) {
        if self.entries.len() == LARGEST_KEPT {
            let last = &self.entries[LARGEST_KEPT - 1];
            if (tokens, std::cmp::Reverse(path)) <= (last.0, std::cmp::Reverse(last.1.as_path())) {
                return;
            }
        }
        self.entries.push((tokens, path.to_path_buf()));
        self.normalize();
    }

    fn merge(&mut self, other: &Largest) {
        self.entries.extend(other.entries.iter().cloned());
        self.normalize();
    }

    fn normalize(&mut self) {
        self.entries
            .sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        self.entries.dedup();
        self.entries.truncate(LARGEST_KEPT);
    }
}

/// A stratified sample of documents, for `--count-api`: per category and
/// dominant content class, the `per_stratum` documents whose path hashes
/// lowest. The choice does not depend on the order files are counted in, so
/// samples of shards merge into the sample of the whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocSample {
    pub per_stratum: usize,
    pub strata: BTreeMap<(String, ContentClass), Vec<SampledDoc>>,
}

/// One sampled document and its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampledDoc {
    /// Stable hash of the path: the sampling order.
    pub key: u64,
    pub path: PathBuf,
    pub bytes: u64,
    /// The class with the most bytes in the document.
    pub class: ContentClass,
    pub tokens: Vec<u64>,
    pub classes: ByClass,
}

impl DocSample {
    pub fn new(per_stratum: usize) -> Self {
        DocSample {
            per_stratum,
            strata: BTreeMap::new(),
        }
    }

    fn offer(&mut self, f: &FileTally) {
        use std::hash::{Hash, Hasher};
        // A chat file's count is its conversations in each tokenizer's chat
        // format, not one user message of its text: it is not sent, and
        // takes its class's fitted multiplier.
        // Nor is a CSV or JSON file's text: its rows are the documents.
        if f.transcript.is_some() || f.fields.is_some() {
            return;
        }
        let Some(class) = f
            .classes
            .iter()
            .max_by_key(|(c, t)| (t.bytes, std::cmp::Reverse(**c)))
            .map(|(c, _)| *c)
        else {
            return;
        };
        // FxHasher has no random seed: the same path hashes alike in every run.
        let mut h = rustc_hash::FxHasher::default();
        f.path.hash(&mut h);
        let doc = SampledDoc {
            key: h.finish(),
            path: f.path.clone(),
            bytes: f.bytes,
            class,
            tokens: f.tokens.clone(),
            classes: f.classes.clone(),
        };
        let list = self.strata.entry((f.category.clone(), class)).or_default();
        list.push(doc);
        Self::trim(list, self.per_stratum);
    }

    fn trim(list: &mut Vec<SampledDoc>, n: usize) {
        list.sort_by(|a, b| (a.key, &a.path).cmp(&(b.key, &b.path)));
        list.truncate(n);
    }

    fn merge(&mut self, other: &DocSample) {
        for (k, docs) in &other.strata {
            let list = self.strata.entry(k.clone()).or_default();
            list.extend(docs.iter().cloned());
            Self::trim(list, self.per_stratum);
        }
    }

    /// Every sampled document, by stratum.
    pub fn documents(&self) -> impl Iterator<Item = &SampledDoc> {
        self.strata.values().flatten()
    }
}

/// Everything the audit measured, independent of how it is rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Counted files.
    pub counted: Group,
    /// Files seen and not counted, in path order, with their reasons.
    pub skipped: Vec<Skipped>,
    /// Bytes of the skipped files.
    pub bytes_skipped: u64,
    /// Counted files per category.
    pub by_category: BTreeMap<String, Group>,
    /// Counted files per extension (lowercase, `(none)` without one).
    pub by_extension: BTreeMap<String, Group>,
    /// Counted files per top folder (the first folder below the root,
    /// `.` for files directly in it), whatever `--category` says: filled by
    /// [`Tally::add_to_folder`], since a file's root is the walk's to know.
    pub by_folder: BTreeMap<String, Group>,
    /// By what files were read as (`text`, `pdf`, `docx`, ...).
    pub by_format: BTreeMap<String, Group>,
    /// Counted text per content class.
    pub by_class: ByClass,
    /// Counted text per dominant script of each piece.
    pub by_script: ByScript,
    /// Counted text per detected language of each piece (`--lang`).
    #[serde(with = "language_keys")]
    pub by_language: ByLanguage,
    /// The largest documents by the first tokenizer's count (bounded).
    pub largest: Largest,
    /// Chat files' figures summed, with malformed records by path (the
    /// first [`MALFORMED_KEPT`] in path and line order); `None` when no
    /// file was read as chat.
    pub transcripts: Option<Transcripts>,
    /// CSV and JSON fields files' figures summed, with malformed rows by
    /// path (the first [`MALFORMED_KEPT`]); `None` when no file was read
    /// by fields.
    pub fields: Option<Fields>,
    /// Documents to send to a provider's count API, when asked for (not
    /// carried by a shard's report: `--count-api` and `--shard` exclude
    /// each other).
    #[serde(skip)]
    pub sample: Option<DocSample>,
}

/// The record figures (chat transcripts, CSV and JSON fields) of every file
/// read by records, with the malformed records by path: the first
/// [`MALFORMED_KEPT`] in path and line order (the counts keep the total).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records<C> {
    pub counts: C,
    pub malformed: Vec<(PathBuf, Malformed)>,
}

/// The transcript figures of every chat file.
pub type Transcripts = Records<TranscriptCounts>;

/// The figures of every CSV and JSON fields file.
pub type Fields = Records<FieldCounts>;

impl<C: RecordCounts> Records<C> {
    /// One file's records. Its malformed records are listed here with its
    /// path, not in the summed counts.
    fn add(&mut self, path: &std::path::Path, file: &C) {
        let kept = std::mem::take(self.counts.malformed_kept());
        self.counts.merge_part(file);
        *self.counts.malformed_kept() = kept;
        for m in file.malformed_listed() {
            self.malformed.push((path.to_path_buf(), m.clone()));
        }
        self.normalize();
    }

    fn merge(&mut self, other: &Records<C>) {
        self.counts.merge_part(&other.counts);
        self.malformed.extend(other.malformed.iter().cloned());
        self.normalize();
    }

    fn normalize(&mut self) {
        self.malformed.sort();
        self.malformed.truncate(MALFORMED_KEPT);
    }
}

impl Tally {
    pub fn files_seen(&self) -> u64 {
        self.counted.files + self.skipped.len() as u64
    }

    pub fn bytes_seen(&self) -> u64 {
        self.counted.bytes + self.bytes_skipped
    }

    pub fn add_file(&mut self, f: &FileTally) {
        self.counted.add(f);
        if let Some(t) = &f.transcript {
            self.transcripts
                .get_or_insert_with(Transcripts::default)
                .add(&f.path, t);
        }
        if let Some(x) = &f.fields {
            self.fields
                .get_or_insert_with(Fields::default)
                .add(&f.path, x);
        }
        group(&mut self.by_category, &f.category).add(f);
        group(&mut self.by_extension, &f.extension()).add(f);
        group(&mut self.by_format, f.format).add(f);
        merge_by_class(&mut self.by_class, &f.classes);
        merge_by_script(&mut self.by_script, &f.scripts);
        merge_by_language(&mut self.by_language, &f.languages);
        if let Some(sample) = self.sample.as_mut() {
            sample.offer(f);
        }
        if let Some(&first) = f.tokens.first() {
            self.largest.offer(first, &f.path);
        }
    }

    /// Attributes a counted file (already added by [`Tally::add_file`]) to
    /// its top folder.
    pub fn add_to_folder(&mut self, folder: &str, f: &FileTally) {
        group(&mut self.by_folder, folder).add(f);
    }

    pub fn add_skipped(&mut self, s: Skipped) {
        self.bytes_skipped += s.bytes;
        let at = self.skipped.partition_point(|x| x.path < s.path);
        self.skipped.insert(at, s);
    }

    /// Combines two tallies of disjoint file sets.
    pub fn merge(&mut self, other: &Tally) {
        self.counted.merge(&other.counted);
        for s in &other.skipped {
            self.add_skipped(s.clone());
        }
        for (k, g) in &other.by_category {
            self.by_category.entry(k.clone()).or_default().merge(g);
        }
        for (k, g) in &other.by_extension {
            self.by_extension.entry(k.clone()).or_default().merge(g);
        }
        for (k, g) in &other.by_format {
            self.by_format.entry(k.clone()).or_default().merge(g);
        }
        for (k, g) in &other.by_folder {
            self.by_folder.entry(k.clone()).or_default().merge(g);
        }
        merge_by_class(&mut self.by_class, &other.by_class);
        merge_by_script(&mut self.by_script, &other.by_script);
        merge_by_language(&mut self.by_language, &other.by_language);
        if let (Some(a), Some(b)) = (self.sample.as_mut(), other.sample.as_ref()) {
            a.merge(b);
        }
        self.largest.merge(&other.largest);
        if let Some(t) = &other.transcripts {
            self.transcripts
                .get_or_insert_with(Transcripts::default)
                .merge(t);
        }
        if let Some(x) = &other.fields {
            self.fields.get_or_insert_with(Fields::default).merge(x);
        }
    }
}

/// `by_language` in a shard's state: its keys are `&'static str` codes,
/// read back through the interner.
mod language_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{ByLanguage, LanguageTally};

    pub fn serialize<S: Serializer>(m: &ByLanguage, s: S) -> Result<S::Ok, S::Error> {
        m.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ByLanguage, D::Error> {
        let owned = BTreeMap::<String, LanguageTally>::deserialize(d)?;
        Ok(owned
            .into_iter()
            .map(|(k, v)| (crate::skip::intern(k), v))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentClass;
    use crate::extract::Parser;
    use crate::skip::SkipReason;

    fn file(path: &str, cat: &str, bytes: u64, tokens: &[u64]) -> FileTally {
        FileTally {
            path: path.into(),
            category: cat.into(),
            encoding: "UTF-8",
            format: if path.ends_with(".pdf") {
                "pdf"
            } else {
                "text"
            },
            pages: path.ends_with(".pdf").then_some(2),
            extractor: path.ends_with(".pdf").then_some("pdf-extract"),
            bytes,
            chars: bytes,
            lines: 1,
            tokens: tokens.to_vec(),
            parser: Parser::Text,
            transcript: None,
            fields: None,
            sha256: None,
            scripts: ByScript::new(),
            languages: ByLanguage::new(),
            classes: ByClass::from([(
                if cat == "ja" {
                    ContentClass::Cjk
                } else {
                    ContentClass::LatinProse
                },
                ClassTally {
                    pieces: 1,
                    bytes,
                    tokens: tokens.to_vec(),
                },
            )]),
        }
    }

    fn tally_of(files: &[FileTally], skipped: &[Skipped]) -> Tally {
        let mut t = Tally::default();
        for f in files {
            t.add_file(f);
        }
        for s in skipped {
            t.add_skipped(s.clone());
        }
        t
    }

    #[test]
    fn merge_equals_tally_of_union_in_any_order() {
        let files: Vec<FileTally> = (0..40)
            .map(|i| {
                file(
                    &format!("c{}/f{i}.{}", i % 3, ["txt", "md", "pdf"][i % 3]),
                    &format!("c{}", i % 3),
                    100 + i as u64 * 37,
                    &[i as u64 * 1000 + 7, i as u64 * 3],
                )
            })
            .collect();
        let skipped: Vec<Skipped> = (0..5)
            .map(|i| Skipped {
                path: format!("s{i}").into(),
                category: ".".into(),
                bytes: i,
                reason: SkipReason::Binary,
            })
            .collect();
        let whole = tally_of(&files, &skipped);
        let mut a = tally_of(&files[..17], &skipped[3..]);
        let b = tally_of(&files[17..], &skipped[..3]);
        let mut b2 = b.clone();
        a.merge(&b);
        b2.merge(&tally_of(&files[..17], &skipped[3..]));
        assert_eq!(a, whole);
        assert_eq!(b2, whole);
        assert_eq!(whole.files_seen(), 45);
        assert_eq!(whole.largest.entries.len(), LARGEST_KEPT);
        assert_eq!(whole.largest.entries[0].0, 39_007);
    }

    #[test]
    fn files_group_by_lowercase_extension_and_category() {
        let mut tally = Tally::default();
        for (path, cat) in [
            ("a/x.md", "a"),
            ("a/Y.MD", "a"),
            ("b/z.Md", "b"),
            ("b/README", "b"),
            ("c/été.ÉTÉ", "c"),
            ("c/w.ŉ", "c"),
        ] {
            tally.add_file(&file(path, cat, 10, &[3]));
        }
        let files = |m: &BTreeMap<String, Group>| {
            m.iter()
                .map(|(k, g)| (k.clone(), g.files))
                .collect::<Vec<_>>()
        };
        let owned = |v: &[(&str, u64)]| {
            v.iter()
                .map(|&(k, n)| (k.to_string(), n))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            files(&tally.by_extension),
            // "ŉ" lowercases to itself though it is not ASCII.
            owned(&[("(none)", 1), ("md", 3), ("été", 1), ("ŉ", 1)])
        );
        assert_eq!(
            files(&tally.by_category),
            owned(&[("a", 2), ("b", 2), ("c", 2)])
        );
    }

    #[test]
    fn the_sample_is_the_same_whatever_the_order_and_split() {
        let files: Vec<FileTally> = (0..30)
            .map(|i| {
                file(
                    &format!("d/f{i}.txt"),
                    ["ja", "en"][i % 2],
                    10 + i as u64,
                    &[i as u64],
                )
            })
            .collect();
        let sampled = |fs: &[FileTally]| {
            let mut t = Tally {
                sample: Some(DocSample::new(3)),
                ..Tally::default()
            };
            for f in fs {
                t.add_file(f);
            }
            t
        };
        let whole = sampled(&files);
        let s = whole.sample.as_ref().unwrap();
        assert_eq!(s.strata.len(), 2);
        assert!(s.strata.values().all(|v| v.len() == 3));
        let key = (String::from("ja"), ContentClass::Cjk);
        assert!(s.strata[&key].iter().all(|d| d.class == ContentClass::Cjk));
        let mut rev: Vec<FileTally> = files.clone();
        rev.reverse();
        let mut a = sampled(&rev[..11]);
        a.merge(&sampled(&rev[11..]));
        assert_eq!(a.sample, whole.sample);
    }

    #[test]
    fn histogram_quantiles_within_stated_error() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, truth) in [(0.5, 50_000u64), (0.9, 90_000), (0.99, 99_000)] {
            let got = h.quantile(q);
            assert!(got <= truth, "{q}: {got} > {truth}");
            let err = (truth - got) as f64 / truth as f64;
            assert!(err <= Histogram::RELATIVE_ERROR, "{q}: {got} vs {truth}");
        }
        assert_eq!(h.max(), 100_000);
        // Exact below 1024.
        let mut small = Histogram::default();
        for v in [3, 5, 7, 900] {
            small.record(v);
        }
        assert_eq!(small.quantile(0.5), 5);
        assert_eq!(small.quantile(1.0), 900);
    }

    #[test]
    fn buckets_round_trip_lower_bounds() {
        for v in [0u64, 1, 1023, 1024, 1025, 5000, 1 << 40, u64::MAX] {
            let lb = lower_bound(bucket_of(v));
            assert!(lb <= v);
            assert_eq!(bucket_of(lb), bucket_of(v));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Merging is associative and commutative and equals adding every
        /// file to one tally, for any files split any way into three parts.
        #[test]
        fn merge_is_associative_and_commutative(
            files in proptest::collection::vec(
                (0u8..4, 0u64..5_000, proptest::collection::vec(0u64..200_000, 2)),
                0..40,
            ),
            split in proptest::collection::vec(0u8..3, 40),
            skipped in proptest::collection::vec((0u8..4, 0u64..100), 0..6),
        ) {
            let fs: Vec<FileTally> = files
                .iter()
                .enumerate()
                .map(|(i, (c, b, t))| file(&format!("c{c}/f{i}.txt"), &format!("c{c}"), *b, t))
                .collect();
            let sk: Vec<Skipped> = skipped
                .iter()
                .enumerate()
                .map(|(i, (c, b))| Skipped {
                    path: format!("c{c}/s{i}.bin").into(),
                    category: format!("c{c}"),
                    bytes: *b,
                    reason: SkipReason::Corrupt { format: "pdf", message: format!("m{i}") },
                })
                .collect();
            let part = |k: u8| {
                let f: Vec<FileTally> = fs.iter().enumerate().filter(|(i, _)| split[*i] == k).map(|(_, f)| f.clone()).collect();
                let s: Vec<Skipped> = sk.iter().enumerate().filter(|(i, _)| split[*i] == k).map(|(_, s)| s.clone()).collect();
                tally_of(&f, &s)
            };
            let (a, b, c) = (part(0), part(1), part(2));
            let whole = tally_of(&fs, &sk);
            let mut ab_c = a.clone();
            ab_c.merge(&b);
            ab_c.merge(&c);
            let mut bc = b.clone();
            bc.merge(&c);
            let mut a_bc = a.clone();
            a_bc.merge(&bc);
            let mut cba = c.clone();
            cba.merge(&b);
            cba.merge(&a);
            proptest::prop_assert_eq!(&ab_c, &whole);
            proptest::prop_assert_eq!(&a_bc, &whole);
            proptest::prop_assert_eq!(&cba, &whole);
        }
    }
}
