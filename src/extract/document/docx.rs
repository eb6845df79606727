/*!
DOCX: the text of a WordprocessingML package, part by part as the user
chooses (`--docx-parts`).

A zip reader and an XML reader (`zip`, `quick-xml`) do the parsing, the
same two crates calamine reads XLSX with, so DOCX adds nothing to the
build; what this file decides is only which elements are text. That
follows ECMA-376 Part 1 §17.3: runs' `w:t`
(never `w:delText`, deleted text, or `w:instrText`, field codes), `w:tab`
a tab, `w:br`/`w:cr` a line break, a paragraph a line, a table cell a
tab and a row a line.

Order: body, then headers, footers, footnotes, endnotes and comments, each
kind in part-number order (a header part holds the text of every page it
is repeated on only once, as a document pipeline would send it).
*/

use std::str::FromStr;

use super::package::{numbered, Package};
use super::xml::{walk, Mark};
use super::{corrupt, Format, Limits};
use crate::skip::SkipReason;

/// Which parts of a word-processing document are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocxParts {
    pub body: bool,
    pub tables: bool,
    pub headers: bool,
    pub footers: bool,
    pub footnotes: bool,
    pub comments: bool,
}

impl Default for DocxParts {
    /// What a document pipeline usually sends: everything a reader of the
    /// printed document sees. Comments are review notes, not the document.
    fn default() -> Self {
        DocxParts {
            body: true,
            tables: true,
            headers: true,
            footers: true,
            footnotes: true,
            comments: false,
        }
    }
}

impl FromStr for DocxParts {
    type Err = String;

    /// A comma-separated list of `body`, `tables`, `headers`, `footers`,
    /// `footnotes` (with endnotes), `comments`, or `all`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = DocxParts {
            body: false,
            tables: false,
            headers: false,
            footers: false,
            footnotes: false,
            comments: false,
        };
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "body" => parts.body = true,
                "tables" => parts.tables = true,
                "headers" => parts.headers = true,
                "footers" => parts.footers = true,
                "footnotes" => parts.footnotes = true,
                "comments" => parts.comments = true,
                "all" => {
                    parts = DocxParts {
                        body: true,
                        tables: true,
                        headers: true,
                        footers: true,
                        footnotes: true,
                        comments: true,
                    }
                }
                other => {
                    return Err(format!(
                        "unknown part `{other}` (body, tables, headers, footers, footnotes, comments, all)"
                    ))
                }
            }
        }
        Ok(parts)
    }
}

/// The text of the chosen parts of a DOCX file.
pub(super) fn extract(bytes: &[u8], limits: &Limits) -> Result<String, SkipReason> {
    let mut package = Package::open(Format::Docx, bytes, limits)?;
    if !package.has("word/document.xml") {
        return Err(corrupt(Format::Docx, "no word/document.xml part"));
    }
    let parts = limits.docx_parts;
    let names = package.names();
    let mut chosen = Vec::new();
    if parts.body || parts.tables {
        chosen.push("word/document.xml".to_string());
    }
    if parts.headers {
        chosen.extend(numbered(&names, "word/header"));
    }
    if parts.footers {
        chosen.extend(numbered(&names, "word/footer"));
    }
    if parts.footnotes {
        chosen.extend(
            ["word/footnotes.xml", "word/endnotes.xml"]
                .iter()
                .filter(|n| names.iter().any(|m| m == *n))
                .map(|n| n.to_string()),
        );
    }
    if parts.comments && names.iter().any(|n| n == "word/comments.xml") {
        chosen.push("word/comments.xml".to_string());
    }
    let mut out = String::new();
    for name in chosen {
        let xml = package.read_text(&name)?;
        let is_body = name == "word/document.xml";
        walk(&xml, true, |n| mark(n, is_body, parts), &mut out)
            .map_err(|e| corrupt(Format::Docx, format!("{name}: {e}")))?;
    }
    Ok(out)
}

/// What each WordprocessingML element means for the text. In the body,
/// `--docx-parts` may leave out the tables or everything but the tables.
fn mark(name: &str, is_body: bool, parts: DocxParts) -> Mark {
    match name {
        "w:t" => Mark::Text,
        "w:p" => Mark::Line,
        "w:tab" | "w:ptab" => Mark::Char('\t'),
        "w:br" | "w:cr" => Mark::Char('\n'),
        "w:noBreakHyphen" => Mark::Char('\u{2011}'),
        "w:tc" => Mark::Cell,
        "w:tr" => Mark::Row,
        "w:tbl" if is_body && !parts.tables => Mark::Skip,
        "w:del" | "w:delText" | "w:instrText" => Mark::Skip,
        // Properties: `w:tabs/w:tab` there are tab stops, not tabs.
        "w:pPr" | "w:rPr" | "w:tblPr" | "w:tcPr" | "w:sectPr" => Mark::Skip,
        // Footnote separators are lines drawn, not text.
        "w:separator" | "w:continuationSeparator" => Mark::Skip,
        _ => Mark::Pass,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::package::tests::zip_of;
    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    /// A DOCX with the body paragraphs and table given, one header and one
    /// comment.
    pub fn docx(paragraphs: &[&str], cells: &[&str]) -> Vec<u8> {
        let mut body = String::new();
        for p in paragraphs {
            body.push_str(&format!("<w:p><w:r><w:t>{p}</w:t></w:r></w:p>"));
        }
        if !cells.is_empty() {
            body.push_str("<w:tbl><w:tr>");
            for c in cells {
                body.push_str(&format!(
                    "<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>"
                ));
            }
            body.push_str("</w:tr></w:tbl>");
        }
        body.push_str(r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>Stops</w:t></w:r></w:p>"#);
        let document = format!("<w:document {W}><w:body>{body}</w:body></w:document>");
        let header = format!("<w:hdr {W}><w:p><w:r><w:t>HEADER</w:t></w:r></w:p></w:hdr>");
        let comments = format!(
            "<w:comments {W}><w:comment><w:p><w:r><w:t>COMMENT</w:t></w:r></w:p></w:comment></w:comments>"
        );
        zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", document.as_bytes()),
            ("word/header1.xml", header.as_bytes()),
            ("word/comments.xml", comments.as_bytes()),
        ])
    }

    #[test]
    fn parts_are_chosen() {
        let file = docx(&["Clause 1.", "Clause 2."], &["a", "b"]);
        let with = |parts: &str| {
            let limits = Limits {
                docx_parts: parts.parse().unwrap(),
                ..Limits::default()
            };
            extract(&file, &limits).unwrap()
        };
        assert_eq!(
            with("body,tables,headers"),
            "Clause 1.\nClause 2.\na\tb\nStops\nHEADER\n"
        );
        assert_eq!(with("body"), "Clause 1.\nClause 2.\nStops\n");
        assert_eq!(with("comments"), "COMMENT\n");
        assert!(with("all").contains("COMMENT"));
        assert!(!extract(&file, &Limits::default())
            .unwrap()
            .contains("COMMENT"));
        assert!("body,pictures".parse::<DocxParts>().is_err());
    }

    #[test]
    fn broken_packages_are_corrupt() {
        let limits = Limits::default();
        let no_document = zip_of(&[("word/other.xml", b"<x/>")]);
        assert_eq!(extract(&no_document, &limits).unwrap_err().key(), "corrupt");
        let bad_xml = zip_of(&[("word/document.xml", b"<w:document><w:p></w:document>")]);
        assert_eq!(extract(&bad_xml, &limits).unwrap_err().key(), "corrupt");
        let file = docx(&["x"], &[]);
        assert_eq!(
            extract(&file[..file.len() - 30], &limits)
                .unwrap_err()
                .key(),
            "corrupt"
        );
    }
}
