//! End-to-end: documents through the real binary under `--parse auto` (the
//! default). Every file below is built here, with lopdf (the PDF library the
//! extractor reads with, writing) and the zip crate, so each bad case is
//! exactly the one named: a scan, a password, a truncation, a zip bomb, a
//! font that makes pdf-extract panic (the fallback reader, pdf_oxide, reads
//! it). Expected token figures are
//! tiktoken-rs counts of the text the document holds.

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::Path;

use crate::common::*;
use lopdf::content::{Content, Operation};
use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
use lopdf::{dictionary, Document, Object, Stream, StringFormat};

/// A page of a built PDF: text in Helvetica, an image and no text (a
/// scanned page), or text in a font whose encoding the extractor does not
/// know (pdf-extract panics on it).
#[derive(Clone, Copy)]
enum Page<'a> {
    Text(&'a str),
    Scan,
    BadFont(&'a str),
}

/// A PDF of `pages`, encrypted with `user_password` if given.
fn pdf(pages: &[Page], user_password: Option<&str>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let bad_font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "NoSuchEncoding",
    });
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![0, 255, 255, 0],
    ));
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font, "F2" => bad_font },
        "XObject" => dictionary! { "Im1" => image },
    });
    let text_ops = |font: &str, text: &str| {
        vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![font.into(), 12.into()]),
            Operation::new("Td", vec![72.into(), 700.into()]),
            Operation::new(
                "Tj",
                vec![Object::String(
                    text.as_bytes().to_vec(),
                    StringFormat::Literal,
                )],
            ),
            Operation::new("ET", vec![]),
        ]
    };
    let mut kids = Vec::new();
    for page in pages {
        let operations = match *page {
            Page::Text(text) => text_ops("F1", text),
            Page::BadFont(text) => text_ops("F2", text),
            Page::Scan => vec![
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
        let content = Content { operations }.encode().unwrap();
        let content = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let id = Object::String(b"0123456789abcdef".to_vec(), StringFormat::Hexadecimal);
    doc.trailer.set("ID", Object::Array(vec![id.clone(), id]));
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

/// A zip of `(name, bytes)` parts, deflated.
fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

/// A DOCX whose body is `paragraphs`.
fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<w:p><w:r><w:t>{p}</w:t></w:r></w:p>"))
        .collect();
    let document = format!("<w:document {W}><w:body>{body}</w:body></w:document>");
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", document.as_bytes()),
    ])
}

/// Audits `dir` with o200k, `extra` flags; the JSON report and the CSV rows
/// by file name.
fn audit(
    dir: &Path,
    extra: &[&str],
) -> (serde_json::Value, HashMap<String, HashMap<String, String>>) {
    let out_dir = tempfile::tempdir().unwrap();
    let csv = out_dir.path().join("rows.csv");
    let mut args = vec![
        "audit",
        dir.to_str().unwrap(),
        "-t",
        "o200k_base",
        "--json",
        "-",
        "--csv",
        csv.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = csv_rows(&csv)
        .into_iter()
        .map(|r| {
            let name = Path::new(&r["path"])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, r)
        })
        .collect();
    (report, rows)
}

#[test]
fn pdf_docx_and_html_are_counted_by_their_text_and_every_bad_file_has_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    put(
        "contract.pdf",
        &pdf(
            &[
                Page::Text("The Supplier shall deliver the goods."),
                Page::Text("Payment is due within thirty days."),
            ],
            None,
        ),
    );
    put(
        "scan.pdf",
        &pdf(&[Page::Scan, Page::Scan, Page::Scan], None),
    );
    put(
        "locked.pdf",
        &pdf(&[Page::Text("Confidential.")], Some("secret")),
    );
    put(
        "open-encrypted.pdf",
        &pdf(&[Page::Text("Readable without a password.")], Some("")),
    );
    let whole = pdf(&[Page::Text("Cut short.")], None);
    put("truncated.pdf", &whole[..whole.len() / 2]);
    put("panics.pdf", &pdf(&[Page::BadFont("Never read.")], None));
    put(
        "terms.docx",
        &docx(&["Clause 1. Definitions.", "Clause 2. Term."]),
    );
    let d = docx(&["Cut short."]);
    put("broken.docx", &d[..d.len() - 40]);
    // 64 MiB of one byte deflates to about 64 KiB: over a 1 MiB limit.
    put(
        "bomb.docx",
        &zip_of(&[("word/document.xml", &vec![b' '; 64 << 20])]),
    );
    put(
        "page.html",
        b"<html><head><title>T</title><style>p{}</style><script>var x=1;</script></head>\
          <body><p>Visible   words.</p><p hidden>gone</p></body></html>",
    );
    put("notes.txt", b"Plain text stays text.\n");

    let (report, rows) = audit(dir.path(), &["--max-extracted-size", "1M"]);

    let tokens = |name: &str| rows[name]["tokens_o200k_base"].parse::<u64>().unwrap();
    let cell = |name: &str, col: &str| rows[name][col].clone();

    // Counted, by the text a pipeline would send.
    assert_eq!(cell("contract.pdf", "status"), "counted");
    assert_eq!(cell("contract.pdf", "format"), "pdf");
    assert_eq!(cell("contract.pdf", "parse"), "document");
    assert_eq!(cell("contract.pdf", "pages"), "2");
    assert_eq!(cell("contract.pdf", "extractor"), "pdf-extract");
    let pdf_tokens = tokens("contract.pdf");
    let words = o200k("The Supplier shall deliver the goods. Payment is due within thirty days.");
    // pdf-extract separates the two pages' lines with newlines, which
    // o200k may count apart from the words: a few tokens either way.
    assert!(
        pdf_tokens >= words && pdf_tokens <= words + 4,
        "{pdf_tokens} vs {words}"
    );
    assert_eq!(cell("open-encrypted.pdf", "status"), "counted");
    assert_eq!(cell("open-encrypted.pdf", "pages"), "1");
    assert!(tokens("open-encrypted.pdf") >= o200k("Readable without a password."));
    // pdf-extract panics on the font; pdf_oxide reads the page.
    assert_eq!(cell("panics.pdf", "status"), "counted");
    assert_eq!(cell("panics.pdf", "extractor"), "pdf_oxide");
    assert_eq!(cell("panics.pdf", "pages"), "1");
    let fallback = tokens("panics.pdf");
    let words = o200k("Never read.");
    assert!(
        fallback >= words && fallback <= words + 2,
        "{fallback} vs {words}"
    );
    assert_eq!(cell("terms.docx", "format"), "docx");
    assert_eq!(cell("terms.docx", "extractor"), "zip+quick-xml");
    assert_eq!(
        tokens("terms.docx"),
        o200k("Clause 1. Definitions.\nClause 2. Term.\n")
    );
    assert_eq!(cell("page.html", "format"), "html");
    assert_eq!(tokens("page.html"), o200k("Visible words.\n"));
    assert_eq!(cell("notes.txt", "format"), "text");
    assert_eq!(cell("notes.txt", "extractor"), "");
    assert_eq!(tokens("notes.txt"), o200k("Plain text stays text.\n"));

    // Skipped, each with its reason.
    let reason = |name: &str| {
        assert_eq!(cell(name, "status"), "skipped", "{name}");
        cell(name, "reason")
    };
    assert_eq!(
        reason("scan.pdf"),
        "no text layer (scanned; needs OCR): pdf, 3 pages"
    );
    assert_eq!(cell("scan.pdf", "pages"), "3");
    assert_eq!(reason("locked.pdf"), "encrypted (password required): pdf");
    assert!(
        reason("truncated.pdf").starts_with("corrupt: not a readable pdf"),
        "{}",
        reason("truncated.pdf")
    );
    assert!(reason("broken.docx").starts_with("corrupt: not a readable docx"));
    assert_eq!(
        reason("bomb.docx"),
        "extracted-too-large: docx unpacks to over --max-extracted-size of 1048576 bytes"
    );
    for name in [
        "scan.pdf",
        "locked.pdf",
        "truncated.pdf",
        "broken.docx",
        "bomb.docx",
    ] {
        assert!(!cell(name, "format").is_empty(), "{name} names its format");
    }

    // Every file counted or skipped; the totals reconcile.
    let totals = &report["totals"];
    assert_eq!(rows.len(), 11);
    assert_eq!(totals["files_counted"], 6, "{totals}");
    assert_eq!(totals["files_skipped"], 5, "{totals}");
    let formats = &report["by_format"];
    assert_eq!(formats["pdf"]["files"], 3);
    assert_eq!(formats["pdf"]["pages"], 4);
    assert_eq!(formats["docx"]["files"], 1);
    assert_eq!(formats["html"]["files"], 1);
    assert_eq!(formats["text"]["files"], 1);
    let by_format_tokens: u64 = formats
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["tokens"]["o200k_base"].as_u64().unwrap())
        .sum();
    assert_eq!(
        by_format_tokens,
        totals["tokens"]["o200k_base"].as_u64().unwrap()
    );
}

#[test]
fn parse_text_keeps_the_raw_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let html = "<p>Visible</p><script>hidden()</script>\n";
    std::fs::write(dir.path().join("page.html"), html).unwrap();
    std::fs::write(
        dir.path().join("contract.pdf"),
        pdf(&[Page::Text("Words.")], None),
    )
    .unwrap();
    let (_, rows) = audit(dir.path(), &["--parse", "text"]);
    assert_eq!(rows["page.html"]["format"], "text");
    assert_eq!(
        rows["page.html"]["tokens_o200k_base"],
        o200k(html).to_string()
    );
    // A PDF's bytes are not text: skipped as binary, as before.
    assert_eq!(rows["contract.pdf"]["status"], "skipped");
    assert!(rows["contract.pdf"]["reason"].starts_with("binary"));
}

#[test]
fn docx_parts_choose_what_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let document = format!(
        "<w:document {W}><w:body><w:p><w:r><w:t>Body.</w:t></w:r></w:p></w:body></w:document>"
    );
    let comments = format!(
        "<w:comments {W}><w:comment><w:p><w:r><w:t>Reviewer note.</w:t></w:r></w:p></w:comment></w:comments>"
    );
    std::fs::write(
        dir.path().join("a.docx"),
        zip_of(&[
            ("word/document.xml", document.as_bytes()),
            ("word/comments.xml", comments.as_bytes()),
        ]),
    )
    .unwrap();
    let (_, default) = audit(dir.path(), &[]);
    assert_eq!(
        default["a.docx"]["tokens_o200k_base"],
        o200k("Body.\n").to_string()
    );
    let (_, all) = audit(dir.path(), &["--docx-parts", "all"]);
    assert_eq!(
        all["a.docx"]["tokens_o200k_base"],
        o200k("Body.\nReviewer note.\n").to_string()
    );
}

const SML: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// An XLSX of two sheets, each one row of an inline string and a number.
fn xlsx() -> Vec<u8> {
    let workbook = format!(
        r#"<workbook xmlns="{SML}" xmlns:r="{REL}"><sheets><sheet name="Terms" sheetId="1" r:id="rId1"/><sheet name="Fees" sheetId="2" r:id="rId2"/></sheets></workbook>"#
    );
    let rels = format!(
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/worksheet" Target="worksheets/sheet2.xml"/></Relationships>"#
    );
    let sheet = |label: &str, n: u32| {
        format!(
            r#"<worksheet xmlns="{SML}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{label}</t></is></c><c r="B1"><v>{n}</v></c></row></sheetData></worksheet>"#
        )
    };
    let (s1, s2) = (sheet("Rent", 1200), sheet("Deposit", 300));
    let package_rels = format!(
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", package_rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", s1.as_bytes()),
        ("xl/worksheets/sheet2.xml", s2.as_bytes()),
    ])
}

/// A PPTX of the slides given, one paragraph each.
fn pptx(slides: &[&str]) -> Vec<u8> {
    let a = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main""#;
    let xml: Vec<String> = slides
        .iter()
        .map(|t| format!("<p:sld {a}><a:p><a:r><a:t>{t}</a:t></a:r></a:p></p:sld>"))
        .collect();
    let names: Vec<String> = (1..=slides.len())
        .map(|i| format!("ppt/slides/slide{i}.xml"))
        .collect();
    let mut parts: Vec<(&str, &[u8])> = vec![("ppt/presentation.xml", b"<p:presentation/>")];
    for (n, x) in names.iter().zip(&xml) {
        parts.push((n, x.as_bytes()));
    }
    zip_of(&parts)
}

#[test]
fn spreadsheets_decks_opendocument_and_mail_are_counted_by_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    put("fees.xlsx", &xlsx());
    put("deck.pptx", &pptx(&["Quarterly review", "Next steps"]));
    let content = r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text><text:h>Terms</text:h><text:p>Either party may end it.</text:p></office:text></office:body></office:document-content>"#;
    put(
        "terms.odt",
        &zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.as_bytes()),
        ]),
    );
    put(
        "note.eml",
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Renewal\r\n\
          Content-Type: text/plain; charset=utf-8\r\n\r\nPlease sign by Friday.\r\n",
    );
    let (report, rows) = audit(dir.path(), &[]);
    let tokens = |name: &str| rows[name]["tokens_o200k_base"].parse::<u64>().unwrap();
    for (name, format, pages) in [
        ("fees.xlsx", "xlsx", "2"),
        ("deck.pptx", "pptx", "2"),
        ("terms.odt", "odt", ""),
        ("note.eml", "eml", ""),
    ] {
        assert_eq!(
            rows[name]["status"], "counted",
            "{name}: {}",
            rows[name]["reason"]
        );
        assert_eq!(rows[name]["format"], format, "{name}");
        assert_eq!(rows[name]["pages"], pages, "{name}");
    }
    assert_eq!(tokens("fees.xlsx"), o200k("Rent\t1200\nDeposit\t300\n"));
    assert_eq!(tokens("deck.pptx"), o200k("Quarterly review\nNext steps\n"));
    assert_eq!(
        tokens("terms.odt"),
        o200k("Terms\nEither party may end it.\n")
    );
    let eml = tokens("note.eml");
    let words = o200k("Renewal\nPlease sign by Friday.");
    assert!(eml >= words && eml <= words + 3, "{eml} vs {words}");
    assert_eq!(report["totals"]["files_skipped"], 0);
    assert_eq!(report["by_format"]["xlsx"]["pages"], 2);
    assert_eq!(report["by_format"]["pptx"]["pages"], 2);
}

#[test]
fn a_caught_extractor_panic_is_not_printed_and_the_fallback_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("panics.pdf"),
        pdf(&[Page::BadFont("Never read.")], None),
    )
    .unwrap();
    let out = run(&["audit", dir.path().to_str().unwrap(), "--csv", "-", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(",counted,"), "{}", stdout(&out));
    assert!(stdout(&out).contains(",pdf_oxide,"), "{}", stdout(&out));
    assert!(
        !stderr(&out).contains("panicked"),
        "the default panic message leaked: {}",
        stderr(&out)
    );
}

/// The reports people read show what each format came to, as the JSON
/// does: the Markdown and HTML "By format" tables, row for row.
#[test]
fn markdown_and_html_reports_show_the_per_format_table() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    put(
        "contract.pdf",
        &pdf(&[Page::Text("The Supplier shall deliver.")], None),
    );
    put("terms.docx", &docx(&["Clause 1. Definitions."]));
    put("notes.txt", b"Plain text stays text.\n");
    let out = tempfile::tempdir().unwrap();
    let (md, html, json) = (
        out.path().join("r.md"),
        out.path().join("r.html"),
        out.path().join("r.json"),
    );
    let run_out = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "-q",
        "--markdown",
        md.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run_out.status.code(), Some(0), "{}", stderr(&run_out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let formats = report["by_format"].as_object().unwrap();
    assert_eq!(formats.len(), 3, "{formats:?}");
    let expected: Vec<(String, String, String)> = formats
        .iter()
        .map(|(k, f)| {
            (
                k.clone(),
                f["files"].to_string(),
                f["tokens"]["o200k_base"].to_string(),
            )
        })
        .collect();

    let md = std::fs::read_to_string(&md).unwrap();
    let section = md
        .split("### By format")
        .nth(1)
        .expect("a By format section in the Markdown");
    for (format, files, tokens) in &expected {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| {format} |")))
            .unwrap_or_else(|| panic!("no {format} row in {section}"));
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells[1], files, "{row}");
        assert_eq!(cells.last().unwrap(), tokens, "{row}");
    }

    let page = scraper::Html::parse_document(&std::fs::read_to_string(&html).unwrap());
    let rows: Vec<Vec<String>> = page
        .select(&scraper::Selector::parse("table[data-table=\"formats\"] tbody tr").unwrap())
        .map(|tr| {
            tr.select(&scraper::Selector::parse("td").unwrap())
                .map(|td| td.text().collect::<String>())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for ((format, files, tokens), row) in expected.iter().zip(&rows) {
        assert_eq!(&row[0], format);
        assert_eq!(&row[1], files);
        assert_eq!(row.last().unwrap(), tokens);
    }
}
