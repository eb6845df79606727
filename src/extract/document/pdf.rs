/*!
PDF: the text layer, page by page, read by `pdf-extract` on `lopdf`.

pdf-extract is pure Rust on lopdf (which also decrypts), a small build;
its text is checked against poppler's `pdftotext` on the PDFs that
`scripts/fetch-document-corpus` takes from package registries (README,
"Documents").

lopdf opens a file encrypted with an empty user password itself, as
viewers do; a file whose user password is not empty is reported as
encrypted. Pages are walked one by one (pdf-extract's own page loop stops
silently at the first page that fails; here a failing page fails the
file). A file with pages but no text on any of them is a scan: reported
as needing OCR with its page count, not counted as zero tokens.
pdf-extract still has `unwrap`s on malformed pages: the panic is caught
by the guard around every extraction (see the parent module).
*/

use lopdf::Document;
use pdf_extract::{output_doc_page, PlainTextOutput};

use super::{corrupt, Format};
use crate::skip::SkipReason;

/// Whether `head` starts a PDF. The header may follow up to 1 KiB of junk
/// (readers accept it: PDF 32000-1 §7.5.2 and its implementation notes).
pub(super) fn signature(head: &[u8]) -> bool {
    head[..head.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// The text of a PDF, and its page count.
pub(super) fn extract(bytes: &[u8]) -> Result<(String, Option<u64>), SkipReason> {
    if !signature(bytes) {
        return Err(corrupt(Format::Pdf, "no %PDF- header"));
    }
    let document = Document::load_mem(bytes).map_err(|e| corrupt(Format::Pdf, e))?;
    // Loading decrypts with the empty password when that opens the file;
    // an encrypted file left without a decryption state needs a password.
    if document.is_encrypted() && document.encryption_state.is_none() {
        return Err(SkipReason::Encrypted { format: "pdf" });
    }
    let pages = document.get_pages();
    let mut out = String::new();
    for &number in pages.keys() {
        let mut page = String::new();
        output_doc_page(&document, &mut PlainTextOutput::new(&mut page), number)
            .map_err(|e| corrupt(Format::Pdf, format!("page {number}: {e}")))?;
        out.push_str(&page);
    }
    if !pages.is_empty() && out.trim().is_empty() {
        return Err(SkipReason::NoTextLayer {
            pages: pages.len() as u64,
        });
    }
    Ok((out, Some(pages.len() as u64)))
}

#[cfg(test)]
mod tests {
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
        let (text, pages) = extract(&file).unwrap();
        assert_eq!(pages, Some(2));
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
        let (text, pages) = extract(&open).unwrap();
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
