/*!
The XML walk that DOCX, PPTX and ODT text extraction share, on quick-xml.

Each format says, per element, what it means for text ([`Mark`]): a
paragraph ends a line, a tab is a tab, a deleted run is not text. This
module resolves the rest the same way for all of them: character data,
CDATA, and entity references (the five predefined and numeric ones; an
OOXML or ODF part declares no others).
*/

use quick_xml::events::Event;
use quick_xml::Reader;

/// What an element means for the text around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mark {
    /// Nothing: its text, if any, is read as usual.
    Pass,
    /// Its text is the document's text (`w:t`, `a:t`).
    Text,
    /// Ends a line when it closes (a paragraph, a table row).
    Line,
    /// Ends a table cell when it closes: a tab, taking the place of the
    /// line end of the cell's last paragraph (a row reads `a<TAB>b`, as
    /// python-docx and a TSV export give it; paragraphs within a cell are
    /// still lines).
    Cell,
    /// Ends a table row when it closes: a line, taking the place of the
    /// last cell's tab.
    Row,
    /// Stands for a character where it is (`w:tab`, `w:br`, `text:s`).
    Char(char),
    /// Neither it nor anything inside it is text (deleted runs, tables
    /// left out by `--docx-parts`).
    Skip,
}

/// What closing an element of mark `m` appends.
fn close(m: Mark, out: &mut String) {
    match m {
        Mark::Line => out.push('\n'),
        Mark::Cell => {
            if out.ends_with('\n') {
                out.pop();
            }
            out.push('\t');
        }
        Mark::Row => {
            if out.ends_with('\t') {
                out.pop();
            }
            out.push('\n');
        }
        _ => {}
    }
}

/// Appends the text of `xml` to `out`.
///
/// `mark` classifies elements by their qualified name (`w:p`). Text is
/// taken only inside [`Mark::Text`] elements when `text_only_in_marked` (OOXML:
/// field codes and the like sit outside `w:t`), or everywhere not skipped
/// (ODF, where text is the character data of paragraphs).
pub(super) fn walk(
    xml: &str,
    text_only_in_marked: bool,
    mark: impl Fn(&str) -> Mark,
    out: &mut String,
) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    let mut in_text = 0usize;
    let mut skipping = 0usize;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let m = mark(e.name().as_ref());
                if skipping > 0 || m == Mark::Skip {
                    skipping += 1;
                    continue;
                }
                match m {
                    Mark::Text => in_text += 1,
                    Mark::Char(c) => out.push(c),
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if skipping > 0 {
                    continue;
                }
                match mark(e.name().as_ref()) {
                    Mark::Char(c) => out.push(c),
                    m => close(m, out),
                }
            }
            Event::End(e) => {
                if skipping > 0 {
                    skipping -= 1;
                    continue;
                }
                match mark(e.name().as_ref()) {
                    Mark::Text => in_text = in_text.saturating_sub(1),
                    m => close(m, out),
                }
            }
            Event::Text(t) if skipping == 0 && (in_text > 0 || !text_only_in_marked) => {
                out.push_str(&t.xml10_content());
            }
            Event::CData(t) if skipping == 0 && (in_text > 0 || !text_only_in_marked) => {
                out.push_str(&t);
            }
            Event::GeneralRef(r) if skipping == 0 && (in_text > 0 || !text_only_in_marked) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    out.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r) {
                    out.push_str(s);
                } else {
                    return Err(format!("undeclared entity &{};", &*r));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docxish(name: &str) -> Mark {
        match name {
            "w:t" => Mark::Text,
            "w:p" => Mark::Line,
            "w:tab" => Mark::Char('\t'),
            "w:del" => Mark::Skip,
            _ => Mark::Pass,
        }
    }

    #[test]
    fn text_entities_and_marks() {
        let xml = r#"<w:body><w:p><w:r><w:t>a &amp; b&#x4E2D;</w:t><w:tab/><w:t xml:space="preserve"> c</w:t></w:r>
            <w:instrText>PAGE</w:instrText><w:del><w:r><w:t>gone</w:t></w:r></w:del></w:p><w:p><w:t><![CDATA[<x>]]></w:t></w:p></w:body>"#;
        let mut out = String::new();
        walk(xml, true, docxish, &mut out).unwrap();
        assert_eq!(out, "a & b中\t c\n<x>\n");
    }

    #[test]
    fn broken_xml_is_an_error() {
        let mut out = String::new();
        assert!(walk("<w:p><w:t>x</w:p>", true, docxish, &mut out).is_err());
        assert!(walk("<w:t>&nope;</w:t>", true, docxish, &mut out).is_err());
    }
}
