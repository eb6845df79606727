/*!
Writing an output file whole or not at all: the bytes go to a temporary
file beside the target, which is renamed over it once complete, so a reader
(a CI step, a dashboard loading the FOCUS file) never sees half a report,
and an audit that fails leaves the previous file as it was.
*/

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name; [`Staged::commit`] puts it
/// in place. Dropped without a commit, the temporary file is removed.
/// `-` is standard output, written as it comes.
pub struct Staged {
    target: PathBuf,
    temporary: PathBuf,
    file: Option<BufWriter<Box<dyn Write>>>,
    stdout: bool,
}

impl Staged {
    pub fn create(target: &Path) -> io::Result<Staged> {
        if target.as_os_str() == "-" {
            return Ok(Staged {
                target: target.to_path_buf(),
                temporary: PathBuf::new(),
                file: Some(BufWriter::new(Box::new(io::stdout()))),
                stdout: true,
            });
        }
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{}: not a file name", target.display())))?;
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(".{}.tmp", std::process::id()));
        let temporary = target.with_file_name(temporary_name);
        let file = File::create(&temporary)?;
        Ok(Staged {
            target: target.to_path_buf(),
            temporary,
            file: Some(BufWriter::new(Box::new(file))),
            stdout: false,
        })
    }

    /// Where the bytes go until the commit; `None` for standard output.
    pub fn temporary(&self) -> Option<&Path> {
        (!self.stdout).then_some(self.temporary.as_path())
    }

    /// Flushes the file and renames it into place.
    pub fn commit(mut self) -> io::Result<()> {
        let mut file = self.file.take().expect("committed once");
        file.flush()?;
        drop(file);
        if self.stdout {
            return Ok(());
        }
        std::fs::rename(&self.temporary, &self.target).inspect_err(|_| {
            // Nothing is left behind when the file cannot be put in place.
            let _ = std::fs::remove_file(&self.temporary);
        })
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("not committed").flush()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.file.take().is_some() && !self.stdout {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.md");
        std::fs::write(&target, "old").unwrap();
        let mut staged = Staged::create(&target).unwrap();
        staged.write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        staged.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // Abandoned: the target is untouched and no temporary file is left.
        let mut staged = Staged::create(&target).unwrap();
        staged.write_all(b"half").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A commit that cannot rename (the target became a folder) fails
        // and leaves no temporary file either.
        let folder = dir.path().join("folder");
        let mut staged = Staged::create(&folder).unwrap();
        std::fs::create_dir(&folder).unwrap();
        staged.write_all(b"late").unwrap();
        assert!(staged.commit().is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
