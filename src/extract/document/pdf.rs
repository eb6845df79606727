/*!
PDF: the text layer, page by page, read by `pdf-extract` on `lopdf`, and
by `pdf_oxide` where pdf-extract gives up.

Both were compared on the registry corpus's 65 PDFs against poppler's
`pdftotext` (README, "Documents"; the same whitespace-collapsed o200k
count the accuracy test uses). Of the 34 files with a text layer,
pdf_oxide 0.3.78 came within 3% on 32 and pdf-extract 0.10 on 29, and they
fail differently: pdf-extract panics on Type 1C fonts with only a built-in
encoding (three Chinese TeX manuals), where pdf_oxide reads them exactly;
pdf_oxide misreads a Cyrillic font's built-in encoding as Latin-1
(`eskd.pdf`: mojibake, +31% tokens, silently), where pdf-extract is right.
A panic is loud and a wrong text is not, so pdf-extract reads first and
pdf_oxide reads only a file pdf-extract panics or fails on; the report
names the library that read each file (`extractor`). pdf_oxide is built
without its default features (colour profiles, legacy RC4 crypto).

lopdf opens a file encrypted with an empty user password itself, as
viewers do; a file whose user password is not empty is reported as
encrypted. Pages are walked one by one (pdf-extract's own page loop stops
silently at the first page that fails; here a failing page fails the
file). A file with pages but no text on any of them is a scan: reported
as needing OCR with its page count, not counted as zero tokens. Both
libraries still have `unwrap`s on malformed input: a panic of either is
caught (the guard around every extraction catches what escapes here).
*/

use lopdf::Document;
use pdf_extract::{output_doc_page, PlainTextOutput};

use super::{corrupt, Format};
use crate::skip::SkipReason;

/// Whether `head` starts a PDF. The header may follow up to 1 KiB of junk
/// (readers accept it: PDF 32000-1 §7.5.2 and its implementation notes).
fn signature(head: &[u8]) -> bool {
    head[..head.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// The library that reads PDFs, and the one that reads what it cannot.
pub(super) const READER: &str = "pdf-extract";
const FALLBACK: &str = "pdf_oxide";

/// The text of a PDF, its page count, and the library that read it.
pub(super) fn extract(bytes: &[u8]) -> Result<(String, Option<u64>, &'static str), SkipReason> {
    if !signature(bytes) {
        return Err(corrupt(Format::Pdf, "no %PDF- header"));
    }
    // A file lopdf cannot parse (truncated, not a PDF) is corrupt: the
    // fallback is for text pdf-extract cannot decode, not for repairing
    // files, which would count what is left of one as if it were whole.
    let document = Document::load_mem(bytes).map_err(|e| corrupt(Format::Pdf, e))?;
    // Loading decrypts with the empty password when that opens the file;
    // an encrypted file left without a decryption state needs a password.
    if document.is_encrypted() && document.encryption_state.is_none() {
        return Err(SkipReason::Encrypted { format: "pdf" });
    }
    let (text, pages, reader) = match caught(|| read_pages(&document)) {
        Ok((text, pages)) => (text, pages, READER),
        Err(first) => match caught(|| read_with_fallback(bytes)) {
            Ok((text, pages)) => (text, pages, FALLBACK),
            Err(second) => return Err(both_failed(first, second)),
        },
    };
    if pages > 0 && text.trim().is_empty() {
        return Err(SkipReason::NoTextLayer { pages });
    }
    Ok((text, Some(pages), reader))
}

/// Why one library could not read a file: an error it returned, or the
/// message of its panic.
enum Failure {
    Error(String),
    Panic(String),
}

/// Runs `read`, with a panic turned into a [`Failure`].
fn caught<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(result) => result.map_err(Failure::Error),
        Err(panic) => Err(Failure::Panic(super::panic_message(&*panic))),
    }
}

/// The skip reason when neither library reads a file: pdf-extract's
/// failure first (it is the reader), the fallback's beside it.
fn both_failed(first: Failure, second: Failure) -> SkipReason {
    let said = |f: &Failure| match f {
        Failure::Error(m) | Failure::Panic(m) => m.clone(),
    };
    let message = format!("{} ({FALLBACK}: {})", said(&first), said(&second));
    match first {
        Failure::Error(_) => corrupt(Format::Pdf, message),
        Failure::Panic(_) => SkipReason::ExtractFailed {
            format: "pdf",
            message,
        },
    }
}

/// Every page's text, by pdf-extract.
fn read_pages(document: &Document) -> Result<(String, u64), String> {
    let pages = document.get_pages();
    let mut out = String::new();
    for &number in pages.keys() {
        let mut page = String::new();
        output_doc_page(document, &mut PlainTextOutput::new(&mut page), number)
            .map_err(|e| format!("page {number}: {e}"))?;
        out.push_str(&page);
    }
    Ok((out, pages.len() as u64))
}

/// Every page's text, by pdf_oxide, a line break after each page.
fn read_with_fallback(bytes: &[u8]) -> Result<(String, u64), String> {
    let document = pdf_oxide::PdfDocument::from_bytes(bytes.to_vec()).map_err(|e| e.to_string())?;
    let pages = document.page_count().map_err(|e| e.to_string())?;
    let mut out = String::new();
    for index in 0..pages {
        let page = document
            .extract_text(index)
            .map_err(|e| format!("page {}: {e}", index + 1))?;
        out.push_str(&page);
        out.push('\n');
    }
    Ok((out, pages as u64))
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_both_readers_fail_the_reason_gives_both_and_a_panic_stays_a_panic() {
        let panicked = both_failed(
            Failure::Panic("missing unicode map".into()),
            Failure::Error("page 3: bad font".into()),
        );
        assert_eq!(
            panicked,
            SkipReason::ExtractFailed {
                format: "pdf",
                message: "missing unicode map (pdf_oxide: page 3: bad font)".into()
            }
        );
        let failed = both_failed(
            Failure::Error("page 2: bad stream".into()),
            Failure::Panic("index out of bounds".into()),
        );
        assert_eq!(failed.key(), "corrupt");
        assert!(failed
            .to_string()
            .ends_with("page 2: bad stream (pdf_oxide: index out of bounds)"));
    }

    use lopdf::content::{Content, Operation};
    use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
    use lopdf::{dictionary, Object, Stream, StringFormat};

    use super::*;

    /// A PDF of `pages`, each the text given, or an image and no text for
    /// `None` (a scanned page); encrypted with `user_password` if given.
    fn pdf(pages: &[Option<&str>], user_password: Option<&str>) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let image = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            },
            vec![0, 255, 255, 0],
        ));
        let resources = doc.add_object(dictionary! {
            "Font" => dictionary! { "F1" => font },
            "XObject" => dictionary! { "Im1" => image },
        });
        let mut kids = Vec::new();
        for text in pages {
            let operations = match text {
                Some(text) => vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new("Td", vec![72.into(), 700.into()]),
                    Operation::new(
                        "Tj",
                        vec![Object::String(
                            text.as_bytes().to_vec(),
                            StringFormat::Literal,
                        )],
                    ),
                    Operation::new("ET", vec![]),
                ],
                None => vec![
                    Operation::new("q", vec![]),
                    Operation::new(
                        "cm",
                        vec![
                            500.into(),
                            0.into(),
                            0.into(),
                            700.into(),
                            50.into(),
                            50.into(),
                        ],
                    ),
                    Operation::new("Do", vec!["Im1".into()]),
                    Operation::new("Q", vec![]),
                ],
            };
            let content = Content { operations };
            let content = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
            kids.push(Object::Reference(doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "Resources" => resources, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            })));
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        doc.trailer.set(
            "ID",
            Object::Array(vec![
                Object::String(b"0123456789abcdef".to_vec(), StringFormat::Hexadecimal),
                Object::String(b"0123456789abcdef".to_vec(), StringFormat::Hexadecimal),
            ]),
        );
        if let Some(user_password) = user_password {
            let version = EncryptionVersion::V2 {
                document: &doc,
                owner_password: "owner",
                user_password,
                key_length: 128,
                permissions: Permissions::default(),
            };
            let state = EncryptionState::try_from(version).unwrap();
            doc.encrypt(&state).unwrap();
        }
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn text_pages_are_extracted_and_counted() {
        let file = pdf(&[Some("Clause one."), Some("Clause two.")], None);
        let (text, pages, reader) = extract(&file).unwrap();
        assert_eq!(pages, Some(2));
        assert_eq!(reader, "pdf-extract");
        assert!(text.contains("Clause one."), "{text:?}");
        assert!(text.contains("Clause two."), "{text:?}");
        assert!(text.find("one").unwrap() < text.find("two").unwrap());
    }

    #[test]
    fn a_scanned_pdf_needs_ocr_and_says_how_many_pages() {
        let file = pdf(&[None, None, None], None);
        assert_eq!(extract(&file), Err(SkipReason::NoTextLayer { pages: 3 }));
        // One page of text among scans is a text PDF.
        let file = pdf(&[None, Some("Signed."), None], None);
        assert_eq!(extract(&file).unwrap().1, Some(3));
    }

    #[test]
    fn a_password_is_required_unless_it_is_empty() {
        let locked = pdf(&[Some("Confidential terms.")], Some("secret"));
        assert_eq!(
            extract(&locked),
            Err(SkipReason::Encrypted { format: "pdf" })
        );
        // Encrypted with an empty user password: opens as in a viewer.
        let open = pdf(&[Some("Confidential terms.")], Some(""));
        assert!(
            Document::load_mem(&open).unwrap().is_encrypted(),
            "the test file must really be encrypted"
        );
        let (text, pages, _) = extract(&open).unwrap();
        assert!(text.contains("Confidential terms."), "{text:?}");
        assert_eq!(pages, Some(1));
    }

    #[test]
    fn truncated_and_corrupt_pdfs_are_reported() {
        let file = pdf(&[Some("Whole.")], None);
        for cut in [file.len() / 3, 20, 9] {
            let reason = extract(&file[..cut]).unwrap_err();
            assert_eq!(reason.key(), "corrupt", "cut at {cut}: {reason}");
        }
        assert_eq!(extract(b"%PDF-1.7\ngarbage").unwrap_err().key(), "corrupt");
        assert_eq!(extract(b"no header").unwrap_err().key(), "corrupt");
    }
}
