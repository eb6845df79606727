/*!
Reads Mistral's Tekken vocabulary files (`tekken.json`, from mistral-common).

The file is JSON: `config.pattern` is the split regex, and `vocab[]` lists
`{rank, token_bytes (base64)}`. Only the first `default_vocab_size -
default_num_special_tokens` entries are byte-pair ranks: mistral-common cuts
the list there and numbers the special tokens (which are not in `vocab`) before
them, so counts do not depend on the rest.
*/

use base64::Engine as _;
use serde::Deserialize;

use crate::tokenize::sources::ranked::RankedVocab;

#[derive(Deserialize)]
struct TekkenFile {
    config: TekkenConfig,
    vocab: Vec<TekkenEntry>,
}

#[derive(Deserialize)]
struct TekkenConfig {
    pattern: String,
    default_vocab_size: usize,
    default_num_special_tokens: usize,
}

#[derive(Deserialize)]
struct TekkenEntry {
    rank: usize,
    token_bytes: String,
}

/// Parses a `tekken.json` (`data`, read from `path`, named in errors).
pub fn parse(data: &[u8], path: &str) -> Result<RankedVocab, String> {
    let file: TekkenFile = serde_json::from_slice(data).map_err(|e| {
        format!("{path}: expected Tekken JSON with `config.pattern`, `config.default_vocab_size`, `config.default_num_special_tokens` and `vocab[].token_bytes`: {e}")
    })?;
    let TekkenConfig {
        pattern,
        default_vocab_size,
        default_num_special_tokens,
    } = file.config;
    let n = default_vocab_size
        .checked_sub(default_num_special_tokens)
        .ok_or_else(|| {
            format!("{path}: expected default_vocab_size ({default_vocab_size}) >= default_num_special_tokens ({default_num_special_tokens})")
        })?;
    if file.vocab.len() < n {
        return Err(format!(
            "{path}: expected at least {n} vocab entries (default_vocab_size - default_num_special_tokens), found {}",
            file.vocab.len()
        ));
    }
    let ranks = file
        .vocab
        .into_iter()
        .take(n)
        .enumerate()
        .map(|(i, entry)| {
            if entry.rank != i {
                return Err(format!(
                    "{path}: expected vocab[{i}].rank = {i}, found {}",
                    entry.rank
                ));
            }
            base64::engine::general_purpose::STANDARD
                .decode(&entry.token_bytes)
                .map_err(|e| format!("{path}: vocab[{i}].token_bytes is not base64: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RankedVocab { ranks, pattern })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_ranks_before_the_special_tokens() {
        let json = br#"{"config": {"pattern": "\\S+", "default_vocab_size": 4,
            "default_num_special_tokens": 2, "version": "v3"},
            "vocab": [{"rank": 0, "token_bytes": "YQ==", "token_str": "a"},
                      {"rank": 1, "token_bytes": "Yg==", "token_str": "b"},
                      {"rank": 2, "token_bytes": "YWI=", "token_str": "ab"}]}"#;
        let v = parse(json, "t.json").unwrap();
        assert_eq!(v.ranks, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(v.pattern, r"\S+");
    }

    #[test]
    fn errors_name_the_file_and_expectation() {
        let e = parse(b"{}", "t.json").unwrap_err();
        assert!(e.starts_with("t.json: expected Tekken JSON"), "{e}");
        let json = br#"{"config": {"pattern": "", "default_vocab_size": 3,
            "default_num_special_tokens": 0}, "vocab": [{"rank": 0, "token_bytes": "YQ=="}]}"#;
        let e = parse(json, "t.json").unwrap_err();
        assert!(e.contains("expected at least 3 vocab entries"), "{e}");
    }
}
