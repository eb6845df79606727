//! Prints the text tokenaudit extracts from a document, as `--parse auto`
//! would count it, or the reason it would be skipped:
//! `cargo run --release --example extract_text -- FILE`.

use std::path::Path;
use std::process::ExitCode;

use tokenaudit::extract::document::{self, Limits};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: extract_text FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(format) = document::detect(Path::new(&path), &bytes) else {
        eprintln!("{path}: not a document: counted as text");
        return ExitCode::from(1);
    };
    let limits = Limits::default();
    let result = document::guarded(format, &limits.clone(), move || {
        document::extract(format, &bytes, &limits)
    });
    match result {
        Ok(extracted) => {
            print!("{}", extracted.text);
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("{path}: skipped: {reason}");
            ExitCode::from(1)
        }
    }
}
