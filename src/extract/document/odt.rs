/*!
ODT: the text of an OpenDocument text file's `content.xml` (ODF 1.2
Part 1 §5-6), read with the same zip and XML readers as DOCX.

Paragraphs and headings (`text:p`, `text:h`) end a line; `text:s` is one
space or `text:c` of them, `text:tab` a tab, `text:line-break` a line
break; a table cell ends with a tab. Everything under `office:text` that
is character data is text, so notes and frames are counted where they are
anchored. Tracked deletions (`text:tracked-changes`) are not text.
*/

use quick_xml::events::Event;
use quick_xml::Reader;

use super::package::Package;
use super::{corrupt, Format, Limits};
use crate::skip::SkipReason;

/// The text of an ODT file.
pub(super) fn extract(bytes: &[u8], limits: &Limits) -> Result<String, SkipReason> {
    let mut package = Package::open(Format::Odt, bytes, limits)?;
    if !package.has("content.xml") {
        return Err(corrupt(Format::Odt, "no content.xml part"));
    }
    let xml = package.read_text("content.xml")?;
    text_of(&xml).map_err(|e| corrupt(Format::Odt, format!("content.xml: {e}")))
}

/// The text of `office:text` in a content.xml. Spaces (`text:s`) carry a
/// count in an attribute, which the shared walk does not read, so ODF has
/// its own loop.
fn text_of(xml: &str) -> Result<String, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = String::new();
    let (mut in_body, mut skipping, mut in_paragraph) = (0usize, 0usize, 0usize);
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.name();
                match name.as_ref() {
                    "office:text" if !empty => in_body += 1,
                    "text:p" | "text:h" if !empty && skipping == 0 => in_paragraph += 1,
                    "text:tracked-changes" if !empty => skipping += 1,
                    _ if skipping > 0 && !empty => skipping += 1,
                    "text:s" if in_body > 0 && skipping == 0 => {
                        let n = e
                            .try_get_attribute("text:c")
                            .map_err(|e| e.to_string())?
                            .and_then(|a| a.value.parse().ok())
                            .unwrap_or(1usize);
                        out.extend(std::iter::repeat_n(' ', n.min(1 << 16)));
                    }
                    "text:tab" if in_body > 0 && skipping == 0 => out.push('\t'),
                    "text:line-break" if in_body > 0 && skipping == 0 => out.push('\n'),
                    _ => {}
                }
            }
            Event::End(e) => match e.name().as_ref() {
                _ if skipping > 0 => skipping -= 1,
                "office:text" => in_body = in_body.saturating_sub(1),
                "text:p" | "text:h" if in_body > 0 => {
                    in_paragraph = in_paragraph.saturating_sub(1);
                    out.push('\n');
                }
                "table:table-cell" if in_body > 0 => out.push('\t'),
                _ => {}
            },
            Event::Text(t) if in_paragraph > 0 && skipping == 0 => {
                collapse(&t.xml10_content(), &mut out)
            }
            Event::CData(t) if in_paragraph > 0 && skipping == 0 => out.push_str(t),
            Event::GeneralRef(r) if in_paragraph > 0 && skipping == 0 => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    out.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(r) {
                    out.push_str(s);
                } else {
                    return Err(format!("undeclared entity &{};", &**r));
                }
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// Appends `text` with each run of white space as one space: in ODF
/// paragraph content, spaces, tabs and line ends in the XML are layout of
/// the file, not of the document (ODF 1.2 Part 1 §6.1.2); the document's
/// own are `text:s`, `text:tab` and `text:line-break`.
fn collapse(text: &str, out: &mut String) {
    let mut space = false;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            space = true;
            continue;
        }
        if space && !out.ends_with([' ', '\n']) && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    if space && !out.ends_with([' ', '\n']) && !out.is_empty() {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::super::package::tests::zip_of;
    use super::*;

    #[test]
    fn paragraphs_spaces_and_tracked_deletions() {
        let content = r#"<office:document-content><office:body><office:text>
            <text:tracked-changes><text:changed-region><text:p>deleted</text:p></text:changed-region></text:tracked-changes>
            <text:h>Title</text:h><text:p>a<text:s text:c="3"/>b<text:tab/>c<text:line-break/>d &amp; e</text:p>
            </office:text></office:body></office:document-content>"#;
        let file = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.as_bytes()),
        ]);
        assert_eq!(
            extract(&file, &Limits::default()).unwrap(),
            "Title\na   b\tc\nd & e\n"
        );
        let empty = zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.text")]);
        assert_eq!(
            extract(&empty, &Limits::default()).unwrap_err().key(),
            "corrupt"
        );
    }
}
