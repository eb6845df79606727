/*!
E-mail (EML, MBOX): what a model is sent of a message: its subject and its
text body, and the text of attachments in a format we read.

`mail-parser` does the MIME work (transfer encodings, charsets, nested
multiparts, RFC 8621's choice of which parts are the text body); an HTML
body part goes through our own visible-text reader so that it counts as an
HTML file would. Attachments are recognised as files are (signature, then
name); nested messages are read as messages. Recursion stops at
[`MAX_DEPTH`]: an attachment deeper than that is left out, as are
attachments in formats we do not read (images, archives).

An MBOX is read message by message (mail-parser's iterator over `From `
separator lines); its unit is the message.
*/

use std::path::Path;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders};

use super::{corrupt, detect, extract as extract_document, html, Format, Limits};
use crate::skip::SkipReason;

/// Messages within messages, or documents attached to them, deeper than
/// this are left out: a message that attaches itself cannot loop.
const MAX_DEPTH: usize = 4;

/// The text of one message (`depth` levels down from the file).
pub(super) fn extract_message(
    bytes: &[u8],
    limits: &Limits,
    depth: usize,
) -> Result<String, SkipReason> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| corrupt(Format::Eml, "no header block"))?;
    let mut out = String::new();
    message_text(&message, limits, depth, &mut out)?;
    Ok(out)
}

/// The text of every message in an MBOX, and how many messages there are.
pub(super) fn extract_mbox(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(String, Option<u64>), SkipReason> {
    let mut out = String::new();
    let mut messages = 0;
    for message in mail_parser::mailbox::mbox::MessageIterator::new(bytes) {
        let message = message.map_err(|e| corrupt(Format::Mbox, e))?;
        messages += 1;
        let parsed = MessageParser::default()
            .parse(message.contents())
            .ok_or_else(|| corrupt(Format::Mbox, format!("message {messages}: no header block")))?;
        message_text(&parsed, limits, 0, &mut out)?;
        if out.len() as u64 > limits.max_extracted {
            return Err(SkipReason::ExtractedTooLarge {
                format: Format::Mbox.name(),
                limit: limits.max_extracted,
            });
        }
    }
    if messages == 0 {
        return Err(corrupt(Format::Mbox, "no `From ` line starts a message"));
    }
    Ok((out, Some(messages)))
}

fn message_text(
    message: &Message<'_>,
    limits: &Limits,
    depth: usize,
    out: &mut String,
) -> Result<(), SkipReason> {
    if let Some(subject) = message.subject() {
        out.push_str(subject);
        out.push('\n');
    }
    for part in message.text_bodies() {
        body_text(part, out);
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    for part in message.attachments() {
        if let Some(nested) = part.message() {
            message_text(nested, limits, depth + 1, out)?;
            continue;
        }
        let bytes = part.contents();
        let name = part.attachment_name().unwrap_or("");
        let Some(format) = detect(Path::new(name), bytes) else {
            continue;
        };
        // A document attached that cannot be read is left out rather than
        // failing the message; its text is not something the model is sent.
        let text = match format {
            Format::Eml => extract_message(bytes, limits, depth + 1).ok(),
            _ => extract_document(format, bytes, limits).ok().map(|e| e.text),
        };
        if let Some(text) = text {
            out.push_str(&text);
            out.push('\n');
        }
    }
    Ok(())
}

/// A text-body part's text: plain as it is, HTML as visible text.
fn body_text(part: &MessagePart<'_>, out: &mut String) {
    let Some(text) = part.text_contents() else {
        return;
    };
    if part.is_text_html() {
        out.push_str(&html::visible_text(text));
    } else {
        out.push_str(text);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::super::docx::tests::docx;
    use super::*;
    use base64::Engine as _;

    fn message(subject: &str, attachment: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut m = format!(
            "From: a@example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
             <p>Dear <b>client</b>,</p><script>x()</script>\r\n"
        );
        if let Some((name, bytes)) = attachment {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            m.push_str(&format!(
                "--b\r\nContent-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
            ));
        }
        m.push_str("--b--\r\n");
        m.into_bytes()
    }

    #[test]
    fn subject_body_and_a_docx_attachment() {
        let contract = docx(&["Term of the lease."], &[]);
        let eml = message("Lease", Some(("lease.docx", &contract)));
        let text = extract_message(&eml, &Limits::default(), 0).unwrap();
        assert!(text.starts_with("Lease\n"), "{text:?}");
        assert!(text.contains("Dear client,"), "{text:?}");
        assert!(!text.contains("x()"), "{text:?}");
        assert!(text.contains("Term of the lease."), "{text:?}");
        // An attachment we do not read is left out.
        let eml = message("Photo", Some(("p.png", b"\x89PNG\r\n\x1a\n\0\0")));
        let text = extract_message(&eml, &Limits::default(), 0).unwrap();
        assert_eq!(text.trim_end(), "Photo\nDear client,");
    }

    #[test]
    fn mbox_counts_messages() {
        let mut mbox = Vec::new();
        for s in ["One", "Two"] {
            mbox.extend_from_slice(b"From a@example.com Mon Jan  1 00:00:00 2024\n");
            mbox.extend_from_slice(&message(s, None));
        }
        let (text, messages) = extract_mbox(&mbox, &Limits::default()).unwrap();
        assert_eq!(messages, Some(2));
        assert!(text.contains("One\n") && text.contains("Two\n"), "{text:?}");
        assert_eq!(
            extract_mbox(b"no separator", &Limits::default())
                .unwrap_err()
                .key(),
            "corrupt"
        );
    }
}
