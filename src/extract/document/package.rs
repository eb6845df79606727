/*!
Zip packages (DOCX, PPTX, XLSX, ODT, ODS): which format a zip is, and its
parts read with a cap on what they inflate to.

Reading goes through the `zip` crate (the maintained reader calamine also
uses, so one copy is built). A zip bomb is a small file whose parts inflate
to gigabytes; the sizes a zip declares can lie, so every part is inflated
through a reader that stops one byte past the budget, and the budget is
shared by all the parts of one document ([`Limits::max_extracted`]).

An Office file saved with a password is not a zip at all: it is an OLE
compound file (signature `D0 CF 11 E0`) holding an `EncryptedPackage`
stream, so a file named `.docx` with that signature is reported as
encrypted.
*/

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{corrupt, Format, Limits};
use crate::skip::SkipReason;

/// The signature of an OLE compound file, the container of password
/// protected OOXML files (and of legacy .doc/.xls, which we do not read).
const COMPOUND_FILE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Which document a zip is, from its first bytes (a local file header and
/// the name of the first part) and, failing that, its extension. ODF files
/// must begin with a stored `mimetype` part; OOXML files have no fixed
/// first part, so their extension decides, or the zip is not a document.
pub(super) fn sniff(head: &[u8], by_name: Option<Format>) -> Option<Format> {
    // A local file header: the name's length at offset 26, the name at 30.
    if head.len() >= 30 {
        let name_len = u16::from_le_bytes([head[26], head[27]]) as usize;
        let extra_len = u16::from_le_bytes([head[28], head[29]]) as usize;
        let name = head.get(30..30 + name_len);
        if name == Some(b"mimetype") {
            let body = &head[(30 + name_len + extra_len).min(head.len())..];
            if body.starts_with(b"application/vnd.oasis.opendocument.text") {
                return Some(Format::Odt);
            }
            if body.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
                return Some(Format::Ods);
            }
        }
    }
    by_name.filter(|f| {
        matches!(
            f,
            Format::Docx | Format::Xlsx | Format::Pptx | Format::Odt | Format::Ods
        )
    })
}

/// An open zip package with its inflation budget.
pub(super) struct Package<'a> {
    format: Format,
    archive: ZipArchive<Cursor<&'a [u8]>>,
    budget: u64,
    limit: u64,
}

impl<'a> Package<'a> {
    /// Opens `bytes` as a zip, or says why it cannot be one.
    pub(super) fn open(
        format: Format,
        bytes: &'a [u8],
        limits: &Limits,
    ) -> Result<Self, SkipReason> {
        if bytes.starts_with(COMPOUND_FILE) {
            return Err(SkipReason::Encrypted {
                format: format.name(),
            });
        }
        let archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(format, e))?;
        Ok(Package {
            format,
            archive,
            budget: limits.max_extracted,
            limit: limits.max_extracted,
        })
    }

    /// The names of the parts, in the zip's order.
    pub(super) fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.into_owned())
            .collect()
    }

    /// Whether a part exists.
    pub(super) fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// A part's bytes, charged to the budget.
    pub(super) fn read(&mut self, name: &str) -> Result<Vec<u8>, SkipReason> {
        let format = self.format;
        let mut part = self.archive.by_name(name).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(m) if m.contains("assword") => {
                SkipReason::Encrypted {
                    format: format.name(),
                }
            }
            e => corrupt(format, format!("{name}: {e}")),
        })?;
        let mut out = Vec::new();
        part.by_ref()
            .take(self.budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| corrupt(format, format!("{name}: {e}")))?;
        if out.len() as u64 > self.budget {
            return Err(SkipReason::ExtractedTooLarge {
                format: format.name(),
                limit: self.limit,
            });
        }
        self.budget -= out.len() as u64;
        Ok(out)
    }

    /// A part as text (XML parts are UTF-8; a part that is not is corrupt).
    pub(super) fn read_text(&mut self, name: &str) -> Result<String, SkipReason> {
        let bytes = self.read(name)?;
        String::from_utf8(bytes).map_err(|e| corrupt(self.format, format!("{name}: {e}")))
    }

    /// Inflates every part once against the budget without keeping it: for
    /// readers (calamine) that open the zip themselves with no cap.
    pub(super) fn check_all(&mut self) -> Result<(), SkipReason> {
        let format = self.format;
        for i in 0..self.archive.len() {
            let mut part = self.archive.by_index(i).map_err(|e| corrupt(format, e))?;
            let read = std::io::copy(
                &mut part.by_ref().take(self.budget + 1),
                &mut std::io::sink(),
            )
            .map_err(|e| corrupt(format, e))?;
            if read > self.budget {
                return Err(SkipReason::ExtractedTooLarge {
                    format: format.name(),
                    limit: self.limit,
                });
            }
            self.budget -= read;
        }
        Ok(())
    }
}

/// Parts named `{prefix}{n}.xml` (slides, headers), ordered by `n`.
pub(super) fn numbered(names: &[String], prefix: &str) -> Vec<String> {
    let mut found: Vec<(u64, String)> = names
        .iter()
        .filter_map(|n| {
            let k = n.strip_prefix(prefix)?.strip_suffix(".xml")?.parse().ok()?;
            Some((k, n.clone()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    /// A zip of `(name, bytes)` parts, deflated.
    pub fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in parts {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn a_zip_bomb_is_stopped_by_the_limit() {
        // 64 MiB of zeros deflate to about 64 KiB.
        let zeros = vec![0u8; 64 << 20];
        let bomb = zip_of(&[("word/document.xml", &zeros)]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let limits = Limits {
            max_extracted: 1 << 20,
            ..Limits::default()
        };
        let mut package = Package::open(Format::Docx, &bomb, &limits).unwrap();
        assert_eq!(
            package.read("word/document.xml"),
            Err(SkipReason::ExtractedTooLarge {
                format: "docx",
                limit: 1 << 20
            })
        );
        let mut package = Package::open(Format::Xlsx, &bomb, &limits).unwrap();
        assert_eq!(
            package.check_all().unwrap_err().key(),
            "extracted-too-large"
        );
        // Under a larger limit the same part reads whole.
        let limits = Limits {
            max_extracted: 65 << 20,
            ..Limits::default()
        };
        let mut package = Package::open(Format::Docx, &bomb, &limits).unwrap();
        assert_eq!(package.read("word/document.xml").unwrap().len(), 64 << 20);
    }

    #[test]
    fn the_budget_is_shared_by_the_parts() {
        let part = vec![b'a'; 600];
        let zip = zip_of(&[("a.xml", &part), ("b.xml", &part)]);
        let limits = Limits {
            max_extracted: 1000,
            ..Limits::default()
        };
        let mut package = Package::open(Format::Pptx, &zip, &limits).unwrap();
        assert!(package.read("a.xml").is_ok());
        assert_eq!(
            package.read("b.xml").unwrap_err().key(),
            "extracted-too-large"
        );
    }

    #[test]
    fn truncated_and_compound_files_are_reported() {
        let zip = zip_of(&[("word/document.xml", b"<w:document/>")]);
        let limits = Limits::default();
        let cut = &zip[..zip.len() / 2];
        assert_eq!(
            Package::open(Format::Docx, cut, &limits)
                .err()
                .unwrap()
                .key(),
            "corrupt"
        );
        let mut ole = COMPOUND_FILE.to_vec();
        ole.extend_from_slice(&[0; 512]);
        assert_eq!(
            Package::open(Format::Docx, &ole, &limits).err(),
            Some(SkipReason::Encrypted { format: "docx" })
        );
    }

    #[test]
    fn numbered_parts_sort_by_number() {
        let names: Vec<String> = [
            "ppt/slides/slide10.xml",
            "ppt/slides/slide2.xml",
            "ppt/x.xml",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            numbered(&names, "ppt/slides/slide"),
            vec!["ppt/slides/slide2.xml", "ppt/slides/slide10.xml"]
        );
    }
}
