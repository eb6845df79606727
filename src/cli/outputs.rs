/*!
The files a command was asked to write, opened before it counts anything.

Each is created at once under its temporary name ([`Staged`]), so a
destination that cannot be written (a folder that does not exist, no
permission, two flags naming one file) fails in milliseconds rather than
after an hour of counting; and their paths go to the walk
([`OwnOutputs`]), so that an audit of the folder that holds them lists them
as skipped (`own-output`) instead of counting them.
*/

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tokenaudit::discover::{self, OwnOutputs};
use tokenaudit::report::write::Staged;

/// One output file, created and waiting for its contents.
pub struct Output {
    path: PathBuf,
    staged: Staged,
}

impl Output {
    /// Writes the contents and puts the file in place (`-`: standard
    /// output).
    pub fn write(self, contents: &[u8]) -> Result<()> {
        let Output { path, mut staged } = self;
        staged
            .write_all(contents)
            .and_then(|()| staged.commit())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The open file, for output written as it is made (the CSV's rows).
    pub fn into_staged(self) -> Staged {
        self.staged
    }
}

/// The outputs of one command, opened one flag at a time.
#[derive(Default)]
pub struct Outputs {
    /// Each flag given and the file it writes, folder resolved (`None`:
    /// standard output), to refuse a second flag for the same file.
    opened: Vec<(&'static str, Option<PathBuf>)>,
    /// What the walk must not count.
    pub own: OwnOutputs,
}

impl Outputs {
    /// Opens the file `flag` names, if it was given.
    pub fn open(&mut self, flag: &'static str, path: Option<&Path>) -> Result<Option<Output>> {
        let Some(path) = path else {
            return Ok(None);
        };
        let target = if path.as_os_str() == "-" {
            None
        } else {
            Some(discover::resolve_folder(path).unwrap_or_else(|| path.to_path_buf()))
        };
        if let Some((other, _)) = self.opened.iter().find(|(_, t)| *t == target) {
            match target {
                None => bail!(
                    "{other} and {flag} both write to standard output (-): give one of them a file"
                ),
                Some(_) => bail!(
                    "{other} and {flag} both write {}: give each its own file",
                    path.display()
                ),
            }
        }
        if path.is_dir() {
            bail!("{flag} {}: a folder; give a file name", path.display());
        }
        let staged =
            Staged::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        if let Some(temporary) = staged.temporary() {
            self.own.add(path);
            self.own.add(temporary);
        }
        self.opened.push((flag, target));
        Ok(Some(Output {
            path: path.to_path_buf(),
            staged,
        }))
    }

    /// Whether any output goes to standard output: then the terminal table
    /// does not.
    pub fn any_to_stdout(&self) -> bool {
        self.opened.iter().any(|(_, t)| t.is_none())
    }
}

/// Writes `output`'s contents if it was asked for.
pub fn write_if(output: Option<Output>, contents: impl FnOnce() -> Result<String>) -> Result<()> {
    match output {
        Some(output) => output.write(contents()?.as_bytes()),
        None => Ok(()),
    }
}
