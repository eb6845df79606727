/*!
What each subcommand does with its decided configuration: run the pipeline
and write the outputs the user asked for.
*/

use std::io::Write;

use anyhow::{bail, Context, Result};

use crate::audit::{Audit, NoRows, RowSink};
use crate::cli::{self, AuditArgs, Cli, Command};
use crate::report::{csv::CsvRows, table};
use crate::tokenize;

/// The process exit status of a completed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: done (an audit with skipped files is still done).
    Success,
    /// 1: a gate (budget, context window) failed.
    GateFailed,
}

pub fn run(cli: Cli, command_line: Vec<String>) -> Result<Status> {
    match cli.command {
        Command::Audit(args) => audit(*args, command_line),
        Command::Tokenizers => {
            let mut out = std::io::stdout().lock();
            for name in tokenize::builtin::NAMES {
                let t = tokenize::resolve(name)?;
                let info = t.info();
                writeln!(
                    out,
                    "{:<14} {:<10} {:>8}  {}",
                    info.name, info.family, info.vocab_size, info.source
                )?;
            }
            Ok(Status::Success)
        }
    }
}

fn audit(args: AuditArgs, command_line: Vec<String>) -> Result<Status> {
    let json = args.json.clone();
    let csv = args.csv.clone();
    let strict = args.strict;
    let config = args.into_config(command_line)?;
    let names: Vec<String> = config
        .tokenizers
        .iter()
        .map(|t| t.info().name.clone())
        .collect();
    let audit = Audit::new(config);

    let mut csv_rows = match &csv {
        Some(path) => Some(CsvRows::new(cli::output(path)?, &names)?),
        None => None,
    };
    let report = match csv_rows.as_mut() {
        Some(rows) => audit.run_with_rows(rows as &mut dyn RowSink),
        None => audit.run_with_rows(&mut NoRows),
    }
    .context("audit failed")?;
    if let Some(rows) = csv_rows {
        rows.finish().context("cannot write the CSV")?;
    }
    if let Some(path) = &json {
        let mut out = cli::output(path)?;
        out.write_all(report.to_json().as_bytes())?;
        out.flush()?;
    }
    let stdout_taken = [&json, &csv]
        .iter()
        .any(|p| p.as_deref() == Some(std::path::Path::new("-")));
    if !stdout_taken {
        let mut out = std::io::stdout().lock();
        out.write_all(table::render(&report).as_bytes())?;
        out.flush()?;
    }
    if strict && report.totals.files_skipped > 0 {
        bail!(
            "{} files were skipped (--strict); the report lists them",
            report.totals.files_skipped
        );
    }
    Ok(Status::Success)
}
