//! Nothing lost: every kind of bad input is either counted or listed as
//! skipped with its reason, and the totals reconcile.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::common::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap();
}

fn is_root() -> bool {
    // Root reads a mode-000 file anyway; then the audit must run as another
    // user for the permission case to mean anything.
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Builds the folder of bad inputs and returns the expected outcome per
/// file name: `Ok(encoding)` if counted, `Err(reason_key)` if skipped.
fn build(dir: &Path) -> HashMap<&'static str, Result<&'static str, &'static str>> {
    let mut expect = HashMap::new();
    write(dir, "empty.txt", b"");
    expect.insert("empty.txt", Ok("UTF-8"));
    write(
        dir,
        "binary.bin",
        b"\x7fELF\x02\x01\x01\0\0\0binary payload",
    );
    expect.insert("binary.bin", Err("binary"));
    write(
        dir,
        "latin1.txt",
        b"Le caf\xe9 \xe9tait d\xe9j\xe0 ferm\xe9 quand nous sommes arriv\xe9s \xe0 la gare.\n",
    );
    expect.insert("latin1.txt", Ok("windows-1252"));
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "UTF-16 text: привет, 你好\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    write(dir, "utf16.txt", &utf16);
    expect.insert("utf16.txt", Ok("UTF-16LE"));
    write(dir, "bom.txt", b"\xEF\xBB\xBFwith a byte-order mark\n");
    expect.insert("bom.txt", Ok("UTF-8"));
    write(
        dir,
        "malformed.json",
        b"{\"role\": \"user\", \"content\": \"unterminated",
    );
    expect.insert("malformed.json", Ok("UTF-8"));
    write(dir, "huge.txt", &b"x".repeat(300 * 1024));
    expect.insert("huge.txt", Err("too-large"));
    write(dir, "noperm.txt", b"secret\n");
    fs::set_permissions(dir.join("noperm.txt"), fs::Permissions::from_mode(0o000)).unwrap();
    expect.insert("noperm.txt", Err("unreadable"));
    symlink(dir.join("does-not-exist"), dir.join("broken-link")).unwrap();
    expect.insert("broken-link", Err("broken-symlink"));
    fs::create_dir(dir.join("sub")).unwrap();
    write(&dir.join("sub"), "ok.md", b"# Fine\nA normal file.\n");
    expect.insert("ok.md", Ok("UTF-8"));
    symlink("..", dir.join("sub").join("loop")).unwrap();
    expect.insert("loop", Err("symlink-loop"));
    let fifo = dir.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    expect.insert("pipe", Err("not-a-regular-file"));
    expect
}

#[test]
fn every_bad_input_is_accounted_for() {
    audit_bad_inputs(true);
}

/// Without `--max-file-size` the walk does not ask for sizes (`load` does):
/// the skipped rows must still carry each file's size.
#[test]
fn every_bad_input_is_accounted_for_without_a_size_limit() {
    audit_bad_inputs(false);
}

fn audit_bad_inputs(size_limit: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("corpus");
    fs::create_dir(&root).unwrap();
    let mut expect = build(&root);
    if !size_limit {
        expect.insert("huge.txt", Ok("UTF-8"));
    }
    let json_path = tmp.path().join("report.json");
    let csv_path = tmp.path().join("files.csv");

    let mut cmd = if is_root() {
        // Run as `nobody` so that the mode-000 file is really unreadable.
        for p in [tmp.path(), root.as_path(), &root.join("sub")] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o777)).unwrap();
        }
        let exe = tmp.path().join("tokenaudit");
        fs::copy(bin(), &exe).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(exe);
        c
    } else {
        Command::new(bin())
    };
    let out = cmd
        .arg("audit")
        .arg(&root)
        .args(["--follow", "-t", "o200k_base,cl100k_base"])
        .args(if size_limit {
            &["--max-file-size", "256K"][..]
        } else {
            &[]
        })
        .arg("--json")
        .arg(&json_path)
        .arg("--csv")
        .arg(&csv_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));

    let report = json(&json_path);
    let rows = csv_rows(&csv_path);
    let totals = &report["totals"];
    let seen = totals["files_seen"].as_u64().unwrap();
    let counted = totals["files_counted"].as_u64().unwrap();
    let skipped = totals["files_skipped"].as_u64().unwrap();
    assert_eq!(seen, counted + skipped);
    assert_eq!(seen as usize, expect.len(), "rows: {rows:#?}");
    assert_eq!(rows.len(), expect.len());
    assert_eq!(
        totals["bytes"].as_u64().unwrap(),
        totals["bytes_counted"].as_u64().unwrap() + totals["bytes_skipped"].as_u64().unwrap()
    );
    assert_eq!(report["skipped"].as_array().unwrap().len() as u64, skipped);

    for row in &rows {
        let name = Path::new(&row["path"])
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let want = expect
            .get(name)
            .unwrap_or_else(|| panic!("unexpected row {row:?}"));
        match want {
            Ok(encoding) => {
                assert_eq!(row["status"], "counted", "{name}: {row:?}");
                assert_eq!(&row["encoding"], encoding, "{name}");
                assert!(!row["tokens_o200k_base"].is_empty());
            }
            Err(key) => {
                assert_eq!(row["status"], "skipped", "{name}: {row:?}");
                let meta = fs::symlink_metadata(&row["path"]).unwrap();
                if meta.is_file() {
                    assert_eq!(row["bytes"], meta.len().to_string(), "{name}");
                }
                assert!(
                    row["reason"].starts_with(key),
                    "{name}: reason {:?}, want {key}",
                    row["reason"]
                );
                assert!(row["tokens_o200k_base"].is_empty());
            }
        }
    }
    let empty = rows
        .iter()
        .find(|r| r["path"].ends_with("empty.txt"))
        .unwrap();
    assert_eq!(empty["tokens_o200k_base"], "0");
    assert_eq!(empty["bytes"], "0");

    // The decoded Latin-1 text is what was counted.
    let latin1 = rows
        .iter()
        .find(|r| r["path"].ends_with("latin1.txt"))
        .unwrap();
    let text = "Le café était déjà fermé quand nous sommes arrivés à la gare.\n";
    let reference = tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len();
    assert_eq!(latin1["tokens_o200k_base"], reference.to_string());
    assert_eq!(latin1["chars"], text.chars().count().to_string());

    // The sum of the per-file rows is the total.
    let sum: u64 = rows
        .iter()
        .filter_map(|r| r["tokens_cl100k_base"].parse::<u64>().ok())
        .sum();
    assert_eq!(sum, totals["tokens"]["cl100k_base"].as_u64().unwrap());
}

#[test]
fn symlinks_are_listed_not_followed_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "real.txt", b"real text\n");
    symlink(root.join("real.txt"), root.join("link.txt")).unwrap();
    symlink(root.join("missing"), root.join("dangling")).unwrap();
    let json_path = tmp.path().join("r.json");
    let out = run(&[
        "audit",
        root.to_str().unwrap(),
        "--exclude",
        "r.json",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&json_path);
    assert_eq!(report["totals"]["files_counted"], 1);
    let reasons: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason_key"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["broken-symlink", "symlink"]);
}

#[test]
fn a_root_given_as_a_link_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    write(&real, "a.txt", b"alpha\n");
    symlink(&real, tmp.path().join("dir-link")).unwrap();
    symlink(real.join("a.txt"), tmp.path().join("file-link")).unwrap();
    for root in ["dir-link", "file-link"] {
        let out = run(&[
            "audit",
            tmp.path().join(root).to_str().unwrap(),
            "--json",
            "-",
        ]);
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(report["totals"]["files_counted"], 1, "{root}");
        assert_eq!(report["totals"]["files_skipped"], 0, "{root}");
    }
}
