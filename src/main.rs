//! The `tokenaudit` binary: parse the command line, run, map the result to
//! an exit code. The command line (`cli`) is the binary's; everything else
//! lives in the library.

use std::process::ExitCode;

mod cli;

/// Big blocks on huge pages (see `tokenaudit::alloc`): gemma3's cached
/// start-up was a third page faults.
#[global_allocator]
static ALLOCATOR: tokenaudit::alloc::HugeBlocks = tokenaudit::alloc::HugeBlocks;

use clap::Parser;
use cli::commands::{self, Status};
use cli::Cli;

fn main() -> ExitCode {
    let command_line: Vec<String> = std::env::args().collect();
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let cli = Cli::parse();
    match commands::run(cli, command_line) {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::GateFailed) => ExitCode::from(1),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if is_interrupted(&err) => {
            eprintln!("tokenaudit: {err:#}");
            // 128 + SIGINT, as a shell reports a process Ctrl-C stopped.
            ExitCode::from(130)
        }
        Err(err) => {
            eprintln!("tokenaudit: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The audit was stopped by Ctrl-C or SIGTERM.
fn is_interrupted(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        matches!(
            e.downcast_ref::<tokenaudit::AuditError>(),
            Some(tokenaudit::AuditError::Interrupted { .. })
        )
    })
}

/// `tokenaudit ... | head` closing the pipe early is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
