/*!
Reads tiktoken-style rank files: one `BASE64 RANK` pair per line, as in
OpenAI's `.tiktoken` files, Llama 3 and 4's `tokenizer.model` and Qwen's
`qwen.tiktoken`.

The file holds only ordinary tokens; special tokens and the split pattern are
defined by the code that ships with it, so the pattern is an argument here
(see `patterns`).
*/

use base64::Engine as _;

use crate::tokenize::sources::ranked::RankedVocab;

/// Parses rank-file `data` (from `path`, named in errors). Ranks must be
/// exactly `0..n`, in any order.
pub fn parse(data: &[u8], path: &str, pattern: &str) -> Result<RankedVocab, String> {
    let text = std::str::from_utf8(data)
        .map_err(|e| format!("{path}: expected a tiktoken rank file (ASCII text), {e}"))?;
    let mut slots: Vec<Option<Vec<u8>>> = Vec::new();
    let mut lines = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let lineno = i + 1;
        let bad = |what: &str| format!("{path}:{lineno}: expected `BASE64 RANK`, {what}");
        let (b64, rank) = line.split_once(' ').ok_or_else(|| bad("found no space"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| bad(&format!("base64 does not decode: {e}")))?;
        let rank: usize = rank
            .trim()
            .parse()
            .map_err(|_| bad(&format!("rank `{rank}` is not a number")))?;
        if rank >= slots.len() {
            slots.resize(rank + 1, None);
        }
        if slots[rank].replace(bytes).is_some() {
            return Err(format!("{path}:{lineno}: rank {rank} appears twice"));
        }
        lines += 1;
    }
    if lines == 0 {
        return Err(format!(
            "{path}: expected a tiktoken rank file, found no ranks"
        ));
    }
    let ranks = slots
        .into_iter()
        .enumerate()
        .map(|(rank, bytes)| {
            bytes
                .ok_or_else(|| format!("{path}: expected ranks 0..{lines}, rank {rank} is missing"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RankedVocab {
        ranks,
        pattern: pattern.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranks_in_any_order() {
        // "IQ==" is "!", "Ig==" is "\"", "YWI=" is "ab".
        let v = parse(b"Ig== 1\nIQ== 0\r\nYWI= 2\n", "x.tiktoken", r"\S+").unwrap();
        assert_eq!(v.ranks, vec![b"!".to_vec(), b"\"".to_vec(), b"ab".to_vec()]);
        assert_eq!(v.pattern, r"\S+");
    }

    #[test]
    fn errors_name_the_file_line_and_expectation() {
        let e = parse(b"IQ== 0\nnot-base64! 1\n", "x.tiktoken", "").unwrap_err();
        assert!(e.starts_with("x.tiktoken:2: expected `BASE64 RANK`"), "{e}");
        let e = parse(b"IQ== 0\nIg== 2\n", "x.tiktoken", "").unwrap_err();
        assert!(e.contains("rank 1 is missing"), "{e}");
        let e = parse(b"IQ== 0\nIg== 0\n", "x.tiktoken", "").unwrap_err();
        assert!(e.contains("rank 0 appears twice"), "{e}");
        let e = parse(b"{\"json\": 1}", "x.tiktoken", "").unwrap_err();
        assert!(e.contains("expected `BASE64 RANK`"), "{e}");
    }
}
