/*!
Extract: decide which text of a document a model would actually be sent.

For `--parse text` that is the whole file, as one input segment. Under
`--parse auto` documents (PDF, DOCX, HTML, ...) are first turned into their
text by [`document`]; other formats (chat transcripts, tables) add their own
parser here and produce several segments with roles; the counting stage
only ever sees segments.
*/

pub mod document;

use serde::Serialize;

/// How files are parsed into segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Parse {
    /// Each file by what it is: documents (PDF, DOCX, ODT, HTML, XLSX, ODS,
    /// PPTX, EML, MBOX) by their text, anything else as text.
    #[default]
    Auto,
    /// The whole file is model input, as its bytes decode.
    Text,
}

/// Who a segment is attributed to. Plain text is all `input`; transcripts
/// distinguish system, user, assistant and tool turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Input,
}

/// A run of text with one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub role: Role,
    pub text: &'a str,
}

/// The segments of one document's text.
pub fn extract(text: &str, parse: Parse) -> Vec<Segment<'_>> {
    match parse {
        Parse::Auto | Parse::Text => vec![Segment {
            role: Role::Input,
            text,
        }],
    }
}
