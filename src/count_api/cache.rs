/*!
Answers of a count API kept on disk, so that a run repeated on the same
corpus sends nothing new.

Keyed by the sha256 of the text sent and the model: the same text counted
for another model, or a file whose text changed, is asked again. One JSON
object per line (`{"sha256", "model", "input_tokens"}`) in
`<dir>/<provider>.jsonl`; new answers are appended at the end of a run. A
line that cannot be read is left out (and counted), never guessed at.
*/

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize)]
struct Line {
    sha256: String,
    model: String,
    input_tokens: u64,
}

pub struct Cache {
    path: Option<PathBuf>,
    known: HashMap<(String, String), u64>,
    new: Vec<Line>,
    /// Lines of the file that could not be read.
    pub unreadable: usize,
}

/// Lowercase hex sha256 of a text.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Cache {
    /// The cache of `provider` under `dir`; `None` keeps answers in memory
    /// for this run only.
    pub fn open(dir: Option<&Path>, provider: &str) -> Cache {
        let path = dir.map(|d| d.join(format!("{provider}.jsonl")));
        let mut cache = Cache {
            path,
            known: HashMap::new(),
            new: Vec::new(),
            unreadable: 0,
        };
        if let Some(Ok(file)) = cache.path.as_ref().map(std::fs::File::open) {
            for line in std::io::BufReader::new(file).lines() {
                match line
                    .ok()
                    .and_then(|l| serde_json::from_str::<Line>(&l).ok())
                {
                    Some(l) => {
                        cache.known.insert((l.sha256, l.model), l.input_tokens);
                    }
                    None => cache.unreadable += 1,
                }
            }
        }
        cache
    }

    pub fn get(&self, sha256: &str, model: &str) -> Option<u64> {
        self.known
            .get(&(sha256.to_string(), model.to_string()))
            .copied()
    }

    pub fn put(&mut self, sha256: &str, model: &str, input_tokens: u64) {
        self.known
            .insert((sha256.to_string(), model.to_string()), input_tokens);
        self.new.push(Line {
            sha256: sha256.to_string(),
            model: model.to_string(),
            input_tokens,
        });
    }

    /// Appends this run's new answers to the file.
    pub fn save(&mut self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if self.new.is_empty() {
            return Ok(());
        }
        let fail =
            |e: std::io::Error| format!("{}: cannot write the count cache: {e}", path.display());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        let mut text = String::new();
        for l in self.new.drain(..) {
            text.push_str(&serde_json::to_string(&l).expect("a cache line serialises"));
            text.push('\n');
        }
        file.write_all(text.as_bytes()).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_a_reopen_and_bad_lines_are_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Cache::open(Some(tmp.path()), "anthropic");
        c.put(&sha256_hex("hello"), "m", 7);
        c.save().unwrap();
        let file = tmp.path().join("anthropic.jsonl");
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str("not json\n");
        std::fs::write(&file, text).unwrap();
        let again = Cache::open(Some(tmp.path()), "anthropic");
        assert_eq!(again.get(&sha256_hex("hello"), "m"), Some(7));
        assert_eq!(again.get(&sha256_hex("hello"), "other"), None);
        assert_eq!(again.unreadable, 1);
    }
}
