//! `audit --shard I/N` and `tokenaudit merge`: the merged report is the
//! single run's, byte for byte outside `run`; shards that are not a whole,
//! or were not counted alike, are refused with what is wrong.

use std::path::{Path, PathBuf};

use std::process::Command;

use crate::common::*;

/// The report without `run` (timings, threads, command line): what must be
/// identical between a single run, any thread count and any shard split.
fn canonical(path: &Path) -> String {
    let mut v = json(path);
    v.as_object_mut().unwrap().remove("run");
    serde_json::to_string_pretty(&v).unwrap()
}

/// Audits `roots` whole and as N shards for each N, merges each split, and
/// checks every merged report against the whole run's. Extra arguments go
/// to every audit (and the pricing ones to merge too).
fn check_splits(roots: &[&Path], audit_args: &[&str], merge_args: &[&str], splits: &[u32]) {
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let mut base: Vec<String> = vec!["audit".into()];
    base.extend(roots.iter().map(|r| r.display().to_string()));
    base.extend(["-q".into()]);
    base.extend(audit_args.iter().map(|s| s.to_string()));
    let audit = |extra: &[String]| {
        let mut args = base.clone();
        args.extend(extra.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert!(r.status.success(), "{args:?}: {}", stderr(&r));
    };
    let whole = o.join("whole.json");
    audit(&[
        "-j".into(),
        "2".into(),
        "--json".into(),
        whole.display().to_string(),
    ]);
    let expected = canonical(&whole);
    // The thread count does not enter.
    let one = o.join("one-thread.json");
    audit(&[
        "-j".into(),
        "1".into(),
        "--json".into(),
        one.display().to_string(),
    ]);
    assert_eq!(canonical(&one), expected, "1 thread vs 2 threads");
    let files = json(&whole)["totals"]["files_seen"].as_u64().unwrap();
    for &n in splits {
        let mut parts: Vec<PathBuf> = Vec::new();
        let mut seen = 0;
        for i in 1..=n {
            let part = o.join(format!("part-{i}-of-{n}.json"));
            audit(&[
                "--shard".into(),
                format!("{i}/{n}"),
                "--json".into(),
                part.display().to_string(),
            ]);
            let p = json(&part);
            assert_eq!(p["partial"]["shard"]["index"], i);
            assert_eq!(p["partial"]["shard"]["count"], n);
            seen += p["totals"]["files_seen"].as_u64().unwrap();
            parts.push(part);
        }
        assert_eq!(seen, files, "the {n} shards see every file once");
        // Given in reverse order: the merge does not depend on it.
        parts.reverse();
        let merged = o.join(format!("merged-{n}.json"));
        let mut args: Vec<String> = vec!["merge".into()];
        args.extend(parts.iter().map(|p| p.display().to_string()));
        args.extend(merge_args.iter().map(|s| s.to_string()));
        args.extend(["--json".into(), merged.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert!(r.status.success(), "merge of {n}: {}", stderr(&r));
        let got = canonical(&merged);
        if got != expected {
            let (g, e): (Vec<&str>, Vec<&str>) =
                (got.lines().collect(), expected.lines().collect());
            let at = g
                .iter()
                .zip(&e)
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(e.len()));
            panic!(
                "merge of {n} shards differs from the single run at line {at}:\n  merged: {:?}\n  single: {:?}",
                g.get(at),
                e.get(at)
            );
        }
        assert!(json(&merged).get("partial").is_none());
    }
}

/// The fixtures, with the inputs that reach every part of the report:
/// skipped files, a malformed chat line, several categories.
fn fixture_corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new("fixtures/corpus"), &dir.path().join("corpus"));
    let c = dir.path().join("corpus");
    std::fs::write(c.join("prompts/blob.bin"), b"\x00\x01binary").unwrap();
    std::fs::write(
        c.join("transcripts/broken.jsonl"),
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n{not json\n",
    )
    .unwrap();
    for i in 0..40 {
        std::fs::write(
            c.join(format!("prompts/p{i:02}.md")),
            format!("Prompt {i}: summarise clause {i} of the contract. ").repeat(i + 1),
        )
        .unwrap();
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn shards_merge_to_the_single_run_on_the_fixtures_priced_with_a_scenario() {
    let dir = fixture_corpus();
    let pricing = [
        "-m",
        "gpt-5.4-mini,claude-sonnet-4-6",
        "--scenario",
        "fixtures/scenario.toml",
    ];
    let mut audit = vec!["-t", "o200k_base,cl100k_base", "--lang"];
    audit.extend(pricing);
    check_splits(
        &[&dir.path().join("corpus")],
        &audit,
        &pricing,
        &[1, 2, 3, 7],
    );
}

/// Where cargo unpacked a locked dependency's sources.
fn registry_crate(name: &str) -> PathBuf {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find_map(|p| {
            p.contains(&format!("name = \"{name}\"\n"))
                .then(|| p.split("version = \"").nth(1)?.split('"').next())
                .flatten()
        })
        .unwrap_or_else(|| panic!("{name} is not in Cargo.lock"));
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap().join(".cargo"));
    let src = home.join("registry/src");
    for index in std::fs::read_dir(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display())) {
        let dir = index.unwrap().path().join(format!("{name}-{version}"));
        if dir.is_dir() {
            return dir;
        }
    }
    panic!("{name} {version}: not unpacked under {}", src.display())
}

/// A real corpus nobody here wrote: the sources of three locked
/// dependencies as cargo unpacked them (1,190 files with the versions
/// locked when this was written), through every split.
#[test]
fn shards_merge_to_the_single_run_on_a_real_corpus_of_over_1000_files() {
    let roots: Vec<PathBuf> = ["libc", "zerocopy", "rustix"]
        .iter()
        .map(|c| registry_crate(c))
        .collect();
    let files: usize = roots
        .iter()
        .map(|r| {
            walkdir::WalkDir::new(r)
                .into_iter()
                .filter(|e| e.as_ref().is_ok_and(|e| e.file_type().is_file()))
                .count()
        })
        .sum();
    assert!(files >= 1000, "only {files} files in {roots:?}");
    let refs: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    check_splits(&refs, &["--hidden"], &[], &[1, 2, 3, 7]);
}

#[test]
fn merging_shards_that_are_not_a_whole_or_not_alike_fails_and_says_why() {
    let dir = fixture_corpus();
    let corpus = dir.path().join("corpus");
    let corpus = corpus.to_str().unwrap();
    let o = dir.path();
    let part = |name: &str, extra: &[&str]| -> String {
        let p = o.join(name).display().to_string();
        let mut args = vec!["audit", corpus, "-q", "--json", p.as_str()];
        args.extend(extra);
        let r = run(&args);
        assert!(r.status.success(), "{}", stderr(&r));
        p
    };
    let a1 = part("a1.json", &["--shard", "1/2"]);
    let a2 = part("a2.json", &["--shard", "2/2"]);
    let fails = |args: &[&str], says: &[&str]| {
        let r = run(args);
        assert_eq!(r.status.code(), Some(2), "{args:?} should fail");
        let e = stderr(&r);
        for s in says {
            assert!(e.contains(s), "{args:?}: {e:?} does not say {s:?}");
        }
    };
    assert!(run(&["merge", &a1, &a2]).status.success());
    fails(&["merge", &a1, &a1, &a2], &["both shard 1/2", "twice"]);
    fails(&["merge", &a1], &["shard 2/2 is missing"]);
    let cl = part("cl.json", &["--shard", "2/2", "-t", "cl100k_base"]);
    fails(
        &["merge", &a1, &cl],
        &["not counted alike", "tokenizers", "cl100k_base sha256"],
    );
    let md = part("md.json", &["--shard", "2/2", "--exclude", "*.md"]);
    fails(&["merge", &a1, &md], &["option --exclude", "*.md"]);
    let three = part("three.json", &["--shard", "2/3"]);
    fails(&["merge", &a1, &three], &["number of shards"]);
    let whole = part("whole.json", &[]);
    fails(&["merge", &a1, &whole], &["not a shard's report"]);
    let p1 = part("p1.json", &["--shard", "1/2", "-m", "gpt-5.4-mini"]);
    let p2 = part("p2.json", &["--shard", "2/2", "-m", "gpt-5.4-mini"]);
    fails(&["merge", &p1, &p2], &["were priced", "gpt-5.4-mini"]);
    fails(
        &["merge", &p1, &p2, "-m", "gpt-5.4"],
        &["pricing options", "models"],
    );
    fails(
        &["merge", &a1, &a2, "-m", "gpt-5.4-mini"],
        &["without pricing options"],
    );
    assert!(run(&["merge", &p1, &p2, "-m", "gpt-5.4-mini"])
        .status
        .success());
    // A damaged state is refused, not misread.
    let damaged = o.join("damaged.json");
    let text = std::fs::read_to_string(&a2).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["partial"]["state"] = "AAAA".into();
    std::fs::write(&damaged, v.to_string()).unwrap();
    fails(
        &["merge", &a1, damaged.to_str().unwrap()],
        &["damaged.json", "partial.state"],
    );
    // A report whose shard index lies outside its count (edited by hand):
    // with shards 1/2 and 2/2 it would otherwise pass as a whole of three.
    let outside = o.join("outside.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["partial"]["shard"]["index"] = 3.into();
    std::fs::write(&outside, v.to_string()).unwrap();
    fails(
        &["merge", &a1, &a2, outside.to_str().unwrap()],
        &["outside.json", "shard 3/2", "not between 1 and 2"],
    );
    // Usage errors of --shard itself.
    for bad in ["0/2", "3/2", "x/2", "auto/2"] {
        let r = Command::new(bin())
            .args(["audit", corpus, "--shard", bad])
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(2), "--shard {bad}");
        assert!(stderr(&r).contains("--shard"), "{bad}: {}", stderr(&r));
    }
    let r = Command::new(bin())
        .args(["audit", corpus, "-q", "--shard", "auto/2", "--json"])
        .arg(o.join("auto.json"))
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(json(&o.join("auto.json"))["partial"]["shard"]["index"], 2);
}

/// Ctrl-C in the middle of an audit: it stops, says how far it got, exits
/// 130, and leaves no output file, whole or partial, under any name.
#[test]
fn sigint_mid_audit_stops_cleanly_and_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    // Enough text that the audit is still counting when the signal comes.
    let mut seed = 7u64;
    for f in 0..120 {
        let mut text = String::with_capacity(1 << 20);
        while text.len() < 1 << 20 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(&format!("w{} ", seed >> 44));
            if seed.is_multiple_of(13) {
                text.push('\n');
            }
        }
        std::fs::write(corpus.join(format!("f{f:03}.txt")), text).unwrap();
    }
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut child = Command::new(bin())
        .arg("audit")
        .arg(&corpus)
        .args(["-q", "-j", "1", "--json"])
        .arg(out.join("report.json"))
        .arg("--csv")
        .arg(out.join("rows.csv"))
        .arg("--html")
        .arg(out.join("report.html"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The CSV's temporary file appears once rows are being written: the
    // audit is under way.
    let started = std::time::Instant::now();
    while std::fs::read_dir(&out).unwrap().next().is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the audit never started writing"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the audit ended before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let done = child.wait_with_output().unwrap();
    let err = stderr(&done);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted after"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "output left behind: {left:?}");
}

/// `scripts/shard-audit` (the local array job) gives the single run's report.
#[test]
fn the_shard_audit_script_merges_to_the_single_run() {
    let dir = fixture_corpus();
    let corpus = dir.path().join("corpus");
    let whole = dir.path().join("whole.json");
    let r = run(&[
        "audit",
        corpus.to_str().unwrap(),
        "-q",
        "--json",
        whole.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let merged = dir.path().join("merged.json");
    let r = Command::new("scripts/shard-audit")
        .arg("3")
        .arg(dir.path().join("parts"))
        .arg(&corpus)
        .args(["-j", "1", "--"])
        .arg("--json")
        .arg(&merged)
        .env("TOKENAUDIT", bin())
        .env("JOBS", "2")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(canonical(&merged), canonical(&whole));
    let parts = std::fs::read_dir(dir.path().join("parts")).unwrap().count();
    assert_eq!(parts, 3);
}
