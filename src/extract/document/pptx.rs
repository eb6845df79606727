/*!
PPTX: slide text, slide by slide in slide-number order (ECMA-376 Part 1
§19-21: DrawingML text runs `a:t`, paragraphs `a:p`, breaks `a:br`), with
the zip and XML readers DOCX uses. Speaker notes are not slides and are
left out; the count of slides is reported.
*/

use super::package::{numbered, Package};
use super::xml::{walk, Mark};
use super::{corrupt, Format, Limits};
use crate::skip::SkipReason;

/// The text of a PPTX file's slides, and how many slides there are.
pub(super) fn extract(bytes: &[u8], limits: &Limits) -> Result<(String, Option<u64>), SkipReason> {
    let mut package = Package::open(Format::Pptx, bytes, limits)?;
    if !package.has("ppt/presentation.xml") {
        return Err(corrupt(Format::Pptx, "no ppt/presentation.xml part"));
    }
    let slides = numbered(&package.names(), "ppt/slides/slide");
    let mut out = String::new();
    for name in &slides {
        let xml = package.read_text(name)?;
        walk(&xml, true, mark, &mut out)
            .map_err(|e| corrupt(Format::Pptx, format!("{name}: {e}")))?;
    }
    Ok((out, Some(slides.len() as u64)))
}

fn mark(name: &str) -> Mark {
    match name {
        "a:t" => Mark::Text,
        "a:p" => Mark::Line,
        "a:br" => Mark::Char('\n'),
        "a:tc" => Mark::Cell,
        "a:tr" => Mark::Row,
        _ => Mark::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::super::package::tests::zip_of;
    use super::*;

    #[test]
    fn slides_in_number_order() {
        let slide = |t: &str| {
            format!("<p:sld><p:txBody><a:p><a:r><a:t>{t}</a:t></a:r><a:br/><a:r><a:t>more</a:t></a:r></a:p></p:txBody></p:sld>")
        };
        let (s1, s2, s10) = (slide("one"), slide("two"), slide("ten"));
        let file = zip_of(&[
            ("ppt/presentation.xml", b"<p:presentation/>"),
            ("ppt/slides/slide10.xml", s10.as_bytes()),
            ("ppt/slides/slide1.xml", s1.as_bytes()),
            ("ppt/slides/slide2.xml", s2.as_bytes()),
            ("ppt/notesSlides/notesSlide1.xml", s1.as_bytes()),
        ]);
        let (text, slides) = extract(&file, &Limits::default()).unwrap();
        assert_eq!(text, "one\nmore\ntwo\nmore\nten\nmore\n");
        assert_eq!(slides, Some(3));
    }
}
