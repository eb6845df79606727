//! End-to-end: the real binary on the bundled corpus. Counts are checked
//! against tiktoken-rs, the reference implementation, file by file.

use crate::common::*;

const ENCODINGS: [&str; 4] = ["o200k_base", "cl100k_base", "p50k_base", "r50k_base"];

fn reference(encoding: &str, text: &str) -> usize {
    let bpe = match encoding {
        "o200k_base" => tiktoken_rs::o200k_base_singleton(),
        "cl100k_base" => tiktoken_rs::cl100k_base_singleton(),
        "p50k_base" => tiktoken_rs::p50k_base_singleton(),
        "r50k_base" => tiktoken_rs::r50k_base_singleton(),
        _ => unreachable!(),
    };
    bpe.encode_ordinary(text).len()
}

#[test]
fn fixture_counts_equal_tiktoken_rs_with_one_and_many_threads() {
    let tmp = tempfile::tempdir().unwrap();
    for threads in ["1", "2", "4"] {
        let csv_path = tmp.path().join(format!("rows-{threads}.csv"));
        let json_path = tmp.path().join(format!("report-{threads}.json"));
        // Whole files as text: the chat files are counted by conversation
        // otherwise (tests/it/transcripts.rs).
        let out = run(&[
            "audit",
            "fixtures/corpus",
            "--parse",
            "text",
            "-t",
            &ENCODINGS.join(","),
            "-j",
            threads,
            "--csv",
            csv_path.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let rows = csv_rows(&csv_path);
        assert!(rows.len() >= 10);
        let mut totals = [0usize; 4];
        for row in &rows {
            assert_eq!(row["status"], "counted", "{row:?}");
            let text = std::fs::read_to_string(&row["path"]).unwrap();
            assert_eq!(row["chars"], text.chars().count().to_string());
            for (i, enc) in ENCODINGS.iter().enumerate() {
                let want = reference(enc, &text);
                totals[i] += want;
                assert_eq!(
                    row[&format!("tokens_{enc}")],
                    want.to_string(),
                    "{enc} on {}",
                    row["path"]
                );
            }
        }
        let report = json(&json_path);
        assert_eq!(report["schema"], "tokenaudit.report/v1");
        for (i, enc) in ENCODINGS.iter().enumerate() {
            assert_eq!(report["totals"]["tokens"][enc], totals[i] as u64);
        }
        let cats = report["by_category"].as_object().unwrap();
        for c in ["contracts", "prompts", "transcripts", "code", "."] {
            assert!(cats.contains_key(c), "category {c} missing");
        }
        let sum: u64 = cats
            .values()
            .map(|c| c["tokens"]["o200k_base"].as_u64().unwrap())
            .sum();
        assert_eq!(
            sum,
            report["totals"]["tokens"]["o200k_base"].as_u64().unwrap()
        );
    }
}

#[test]
fn canonical_json_does_not_depend_on_thread_count() {
    let strip_run = |s: String| {
        let mut v: serde_json::Value = serde_json::from_str(&s).unwrap();
        v.as_object_mut().unwrap().remove("run");
        v
    };
    let one = run(&["audit", "fixtures/corpus", "-j", "1", "--json", "-"]);
    let two = run(&["audit", "fixtures/corpus", "-j", "2", "--json", "-"]);
    assert_eq!(strip_run(stdout(&one)), strip_run(stdout(&two)));
}

#[test]
fn categories_and_filters() {
    let out = run(&[
        "audit",
        "fixtures/corpus",
        "--include",
        "**/*.txt",
        "--exclude",
        "prompts/**",
        "--category",
        "legal=contracts/**",
        "--json",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let cats: Vec<&String> = report["by_category"].as_object().unwrap().keys().collect();
    assert_eq!(cats, vec![".", "legal"]);
    assert_eq!(report["by_extension"].as_object().unwrap().len(), 1);
}

#[test]
fn stdin_is_audited() {
    let text = "Count me from standard input, please.\n";
    let out = run_with_input(&["audit", "-", "-t", "cl100k_base", "--json", "-"], text);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["totals"]["tokens"]["cl100k_base"],
        reference("cl100k_base", text) as u64
    );
}

/// A chat log piped in is counted as the conversation a model is sent,
/// as the same bytes saved as `.jsonl` are, not as raw JSON text.
#[test]
fn chat_records_on_stdin_are_read_as_chat() {
    let log = "{\"messages\":[{\"role\":\"user\",\"content\":\"Summarise the contract.\"},\
               {\"role\":\"assistant\",\"content\":\"It runs for two years.\"}]}\n";
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("chat.jsonl");
    std::fs::write(&saved, log).unwrap();
    let from_file: serde_json::Value = serde_json::from_str(&stdout(&run(&[
        "audit",
        saved.to_str().unwrap(),
        "--json",
        "-",
    ])))
    .unwrap();
    let out = run_with_input(&["audit", "-", "--json", "-"], log);
    let piped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(piped["transcripts"]["conversations"], 1, "{piped}");
    assert_eq!(piped["transcripts"], from_file["transcripts"]);
    assert_eq!(piped["totals"]["tokens"], from_file["totals"]["tokens"]);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let unknown = run(&["audit", "fixtures/corpus", "-t", "gpt-9"]);
    assert_eq!(unknown.status.code(), Some(2));
    let msg = stderr(&unknown);
    assert!(msg.contains("unknown tokenizer `gpt-9`"), "{msg}");
    assert!(
        msg.contains("o200k_base") && msg.contains("r50k_base"),
        "{msg}"
    );
    assert_eq!(msg.trim().lines().count(), 1);

    let missing = run(&["audit", "no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no/such/dir"));

    let bad_glob = run(&["audit", "fixtures", "--include", "a[b"]);
    assert_eq!(bad_glob.status.code(), Some(2));
    assert!(stderr(&bad_glob).contains("--include"));

    // The OS's reason once, not once per layer of the error.
    let scenario = run(&["audit", "fixtures/corpus", "--scenario", "no/such.toml"]);
    assert_eq!(scenario.status.code(), Some(2));
    let msg = stderr(&scenario);
    assert!(
        msg.starts_with("tokenaudit: no/such.toml: cannot read"),
        "{msg}"
    );
    assert_eq!(msg.matches("(os error 2)").count(), 1, "{msg}");

    let threads = run(&["audit", "fixtures/corpus", "-j", "100000"]);
    assert_eq!(threads.status.code(), Some(2));
    assert!(
        stderr(&threads).contains("--threads 100000: at most 1024"),
        "{}",
        stderr(&threads)
    );

    let bad_flag = run(&["audit", "--no-such-flag"]);
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn closed_stdout_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin())
        .args([
            "audit",
            "fixtures/corpus",
            "--csv",
            "-",
            "-t",
            "cl100k_base,o200k_base",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn strict_fails_when_files_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.bin"), b"\0\0").unwrap();
    let dir = tmp.path().to_str().unwrap();
    assert_eq!(run(&["audit", dir]).status.code(), Some(0));
    let strict = run(&["audit", dir, "--strict"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(stderr(&strict).contains("skipped"));
}

/// An audit of a folder that holds its own reports lists them as skipped,
/// `own-output`, instead of counting them: a report half written under its
/// temporary name, or the previous run's that this one replaces, is not the
/// corpus. The totals and the corpus digest are then the same on every run,
/// and the same as with the reports written elsewhere.
#[test]
fn own_reports_inside_the_corpus_are_skipped_not_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::write(
        corpus.join("a.txt"),
        "Count this sentence, and only this.\n",
    )
    .unwrap();
    let dir = corpus.to_str().unwrap();
    let elsewhere = tmp.path().join("elsewhere.json");
    let out = run(&[
        "audit",
        dir,
        "--hidden",
        "--json",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let alone = json(&elsewhere);
    assert_eq!(alone["totals"]["files_seen"], 1);

    let report = corpus.join("report.json");
    let rows = corpus.join("files.csv");
    let summary = corpus.join("summary.md");
    for round in 1..=2 {
        let out = run(&[
            "audit",
            dir,
            "--hidden",
            "--json",
            report.to_str().unwrap(),
            "--csv",
            rows.to_str().unwrap(),
            "--markdown",
            summary.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let got = json(&report);
        assert_eq!(got["totals"]["tokens"], alone["totals"]["tokens"]);
        assert_eq!(got["totals"]["files_counted"], 1);
        assert_eq!(
            got["provenance"]["corpus_digest"],
            alone["provenance"]["corpus_digest"]
        );
        // Round 1 meets the three temporary files; round 2 also the three
        // reports round 1 left, which it replaces.
        let skipped: Vec<_> = csv_rows(&rows)
            .into_iter()
            .filter(|r| r["status"] == "skipped")
            .collect();
        assert_eq!(skipped.len(), 3 * round, "{skipped:?}");
        for row in &skipped {
            assert!(row["reason"].starts_with("own-output"), "{row:?}");
        }
        let totals = &got["totals"];
        assert_eq!(totals["files_skipped"], 3 * round as u64);
        // Not a fault of the corpus: --strict passes.
        let strict = run(&[
            "audit",
            dir,
            "--hidden",
            "--strict",
            "--json",
            report.to_str().unwrap(),
        ]);
        assert_eq!(strict.status.code(), Some(0), "{}", stderr(&strict));
        assert_eq!(
            totals["files_seen"].as_u64(),
            Some(totals["files_counted"].as_u64().unwrap() + 3 * round as u64)
        );
    }
}

/// An output that cannot be written fails at once, before anything is
/// counted (`cannot create`, not `cannot write` after the audit), and
/// leaves nothing behind; so do two flags writing one file, or two writing
/// to standard output.
#[test]
fn outputs_are_checked_before_counting() {
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no/such/folder/report.json");
    // The corpus is standard input, held open: a run that counted before
    // looking at its outputs would wait on it for ever.
    let mut child = Command::new(bin())
        .args(["audit", "-", "--csv"])
        .arg(tmp.path().join("files.csv"))
        .arg("--json")
        .arg(&missing)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("the run read its input before checking its outputs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!("cannot create {}", missing.display())),
        "{msg}"
    );
    assert_eq!(stdout(&out), "");

    let folder = run(&["audit", "fixtures/corpus", "--json", "fixtures"]);
    assert_eq!(folder.status.code(), Some(2));
    assert!(
        stderr(&folder).contains("--json fixtures: a folder"),
        "{}",
        stderr(&folder)
    );

    let same = tmp.path().join("report.json");
    let same = same.to_str().unwrap();
    let twice = run(&[
        "audit",
        "fixtures/corpus",
        "--json",
        same,
        "--markdown",
        same,
    ]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        stderr(&twice).contains("--json and --markdown both write"),
        "{}",
        stderr(&twice)
    );
    let piped = run(&[
        "check",
        "fixtures/corpus",
        "-m",
        "gpt-4o",
        "--max-context",
        "--json",
        "-",
        "--junit",
        "-",
    ]);
    assert_eq!(piped.status.code(), Some(2));
    assert!(
        stderr(&piped).contains("both write to standard output"),
        "{}",
        stderr(&piped)
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// What `.gitignore` files (in a git work tree) and `.ignore` files
/// ignore is listed as skipped, `ignored`, with its rule, and an ignored
/// folder is one entry, not entered; `--no-ignore` counts it all, and a
/// root named on the command line is audited even when ignored.
#[test]
fn ignore_files_leave_out_what_they_ignore_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let files = [
        ".git/info/exclude",
        ".gitignore",
        "src/main.rs",
        "src/debug.log",
        "src/sub/.gitignore",
        "src/sub/keep.log",
        "src/sub/.ignore",
        "src/sub/draft.md",
        "target/debug/out.txt",
        "target/debug/more.txt",
        "notes/secret.txt",
        "notes/todo.txt",
    ];
    let rules = [
        (".git/info/exclude", "secret.txt\n"),
        (".gitignore", "/target\n*.log\n"),
        ("src/sub/.gitignore", "!keep.log\n"),
        ("src/sub/.ignore", "draft.md\n"),
    ];
    for f in files {
        let path = repo.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = rules
            .iter()
            .find(|(r, _)| *r == f)
            .map_or("words to count\n", |r| r.1);
        std::fs::write(&path, text).unwrap();
    }
    let dir = repo.to_str().unwrap();
    let rows = tmp.path().join("files.csv");
    let audit = |extra: &[&str]| {
        let mut args = vec!["audit", dir, "--csv", rows.to_str().unwrap(), "--json", "-"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let mut seen: Vec<(String, String)> = csv_rows(&rows)
            .into_iter()
            .map(|r| {
                let path = r["path"].strip_prefix(dir).unwrap().to_string();
                // An ignored file says how large it is; a folder, not
                // entered, 0.
                if r["reason"].starts_with("ignored") {
                    let size = std::fs::metadata(&r["path"]).unwrap();
                    let expect = if size.is_dir() { 0 } else { size.len() };
                    assert_eq!(r["bytes"], expect.to_string(), "{r:?}");
                }
                (path, r["reason"].clone())
            })
            .collect();
        seen.sort();
        (report, seen)
    };

    let (report, seen) = audit(&[]);
    let reason = |path: &str| reason_of(&seen, path);
    let ignored_by = |path: &str, rule: &str, file: &str| {
        let r = reason(path);
        assert!(
            r.starts_with(&format!("ignored: by `{rule}` in ")),
            "{path}: {r}"
        );
        assert!(r.contains(file), "{path}: {r}");
    };
    ignored_by("/target", "/target", ".gitignore");
    assert!(reason("/target").contains("a folder, not entered"));
    assert!(!reason("/src/debug.log").contains("folder"));
    ignored_by("/src/debug.log", "*.log", ".gitignore");
    ignored_by("/notes/secret.txt", "secret.txt", ".git/info/exclude");
    ignored_by("/src/sub/draft.md", "draft.md", ".ignore");
    // A deeper `!` rule wins over the outer one; the rest is counted.
    for counted in ["/src/main.rs", "/src/sub/keep.log", "/notes/todo.txt"] {
        assert_eq!(reason(counted), "", "{counted}");
    }
    assert!(
        !seen.iter().any(|(p, _)| p.starts_with("/target/")),
        "{seen:?}"
    );
    let totals = &report["totals"];
    assert_eq!(totals["files_skipped"], 4);
    assert_eq!(
        totals["files_seen"].as_u64().unwrap(),
        totals["files_counted"].as_u64().unwrap() + 4
    );

    // --no-ignore: every file counted, the ignore files themselves too.
    let (all, seen) = audit(&["--no-ignore", "--hidden"]);
    assert_eq!(all["totals"]["files_skipped"], 0, "{seen:?}");
    assert!(seen.iter().any(|(p, _)| p == "/target/debug/out.txt"));

    // Named on the command line, an ignored folder is audited.
    let target = repo.join("target");
    let out = run(&["audit", target.to_str().unwrap(), "--json", "-"]);
    let named: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(named["totals"]["files_counted"], 2);

    // A root that is a link to the work tree: its own rules still apply.
    #[cfg(unix)]
    {
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&repo, &link).unwrap();
        let out = run(&["audit", link.to_str().unwrap(), "--json", "-"]);
        let linked: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(linked["totals"]["files_skipped"], 4, "{linked}");
    }

    // Outside a git work tree `.gitignore` means nothing; `.ignore` does.
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    let (plain, seen) = audit(&[]);
    assert_eq!(plain["totals"]["files_skipped"], 1, "{seen:?}");
    assert!(reason_of(&seen, "/src/sub/draft.md").starts_with("ignored"));
}

/// The CSV's reason for `path` (empty: counted); the path must be listed.
fn reason_of(seen: &[(String, String)], path: &str) -> String {
    seen.iter()
        .find(|(p, _)| p == path)
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| panic!("{path} not listed: {seen:?}"))
}
