/*!
Cutting a JSON or JSONL text into records, each with the line it starts on.

- A text whose first non-blank character is `[` and that parses as one JSON
  array: each element is a record (a file holding an array of
  conversations).
- Otherwise each non-blank line is a record (JSONL), except that a text
  whose first line is not JSON on its own but which parses as one JSON value
  (a pretty-printed conversation) is that one record.

Lines are cut with `memchr`-speed `split`, never by parsing across them, so
a broken line is reported alone and the lines after it are still read.
*/

use serde_json::value::RawValue;
use serde_json::Value;

use super::Malformed;

/// One record of a text: a parsed JSON value, or why the line is not one.
#[derive(Debug)]
pub enum Record {
    Value { line: u64, value: Value },
    Malformed(Malformed),
}

/// How a text holds its records.
pub enum Layout<'a> {
    /// A JSON array: its elements.
    Array(Vec<&'a RawValue>),
    /// One JSON value spread over lines, starting on `line`.
    One { line: u64, value: Value },
    /// JSONL: a record per non-blank line.
    Lines,
}

/// How `text` holds its records (see the module doc).
pub fn layout(text: &str) -> Layout<'_> {
    let start = text.trim_start();
    if start.starts_with('[') {
        if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) {
            return Layout::Array(items);
        }
    }
    if start.starts_with('{') {
        let first = start.lines().next().unwrap_or("");
        if serde_json::from_str::<&RawValue>(first).is_err() {
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                let line = 1 + newlines(&text[..text.len() - start.len()]);
                return Layout::One { line, value };
            }
        }
    }
    Layout::Lines
}

/// The records of `text`, in order.
pub fn records(text: &str) -> Box<dyn Iterator<Item = Record> + '_> {
    match layout(text) {
        Layout::Array(items) => Box::new(array_records(text, items)),
        Layout::One { line, value } => Box::new(std::iter::once(Record::Value { line, value })),
        Layout::Lines => Box::new(lines(text, 1)),
    }
}

/// The records of JSONL text whose first line is line `first_line` of its
/// file: one per non-blank line.
pub fn lines(text: &str, first_line: u64) -> impl Iterator<Item = Record> + '_ {
    text.split('\n')
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, l)| line_record(l, first_line + i as u64))
}

/// One JSONL line as a record.
pub fn line_record(line_text: &str, line: u64) -> Record {
    match serde_json::from_str::<Value>(line_text) {
        Ok(value) => Record::Value { line, value },
        Err(e) => Record::Malformed(Malformed {
            line,
            reason: format!("not valid JSON: {e}"),
        }),
    }
}

fn newlines(s: &str) -> u64 {
    s.bytes().filter(|&b| b == b'\n').count() as u64
}

/// The elements of a JSON array, each with the line its text starts on.
pub fn array_records<'a>(
    text: &'a str,
    items: Vec<&'a RawValue>,
) -> impl Iterator<Item = Record> + 'a {
    let base = text.as_ptr() as usize;
    let (mut at, mut line) = (0usize, 1u64);
    items.into_iter().map(move |raw| {
        let offset = raw.get().as_ptr() as usize - base;
        line += newlines(&text[at..offset]);
        at = offset;
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(value) => Record::Value { line, value },
            // A raw value that parsed once parses again; kept total anyway.
            Err(e) => Record::Malformed(Malformed {
                line,
                reason: format!("not valid JSON: {e}"),
            }),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Vec<(u64, bool)> {
        records(text)
            .map(|r| match r {
                Record::Value { line, .. } => (line, true),
                Record::Malformed(m) => (m.line, false),
            })
            .collect()
    }

    #[test]
    fn jsonl_lines_keep_their_numbers_around_broken_and_blank_lines() {
        let text = "{\"a\":1}\n\n{broken\n{\"b\":2}\n[1,\n";
        assert_eq!(
            summary(text),
            vec![(1, true), (3, false), (4, true), (5, false)]
        );
    }

    #[test]
    fn an_array_gives_its_elements_with_the_line_each_starts_on() {
        let text = "[\n  {\"a\": 1},\n\n  {\"b\":\n 2}, {\"c\": 3}\n]";
        assert_eq!(summary(text), vec![(2, true), (4, true), (5, true)]);
    }

    #[test]
    fn a_pretty_printed_object_is_one_record() {
        let text = "\n{\n  \"messages\": []\n}\n";
        assert_eq!(summary(text), vec![(2, true)]);
    }

    #[test]
    fn a_jsonl_file_of_arrays_is_read_line_by_line() {
        assert_eq!(summary("[1]\n[2]\n"), vec![(1, true), (2, true)]);
    }
}
