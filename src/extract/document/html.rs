/*!
HTML and XHTML: the text a reader of the rendered page sees.

`scraper` (html5ever, the HTML5 parsing algorithm browsers implement)
builds the tree, so broken markup is repaired the way a browser repairs
it. What is visible is decided here, after CSS 2.1's default style sheet
for HTML: `head`, `script`, `style`, `template`, `noscript` and elements
with the `hidden` attribute are not rendered; block elements start a new
line; `br` breaks a line; table cells are separated by tabs; runs of white
space collapse to one space, except inside `pre` and `textarea`.
*/

use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// The visible text of an HTML file's bytes (decoded as the load stage
/// decodes text files: see [`crate::load`]).
pub(super) fn extract(bytes: &[u8]) -> String {
    visible_text(&String::from_utf8_lossy(bytes))
}

/// The visible text of an HTML document.
pub fn visible_text(html: &str) -> String {
    let document = Html::parse_document(html);
    let mut out = Text::default();
    let mut hidden = 0usize;
    let mut preformatted = 0usize;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if hidden > 0 || is_hidden(name) || e.attr("hidden").is_some() {
                        hidden += 1;
                        continue;
                    }
                    if matches!(name, "pre" | "textarea") {
                        preformatted += 1;
                    }
                    if is_block(name) {
                        out.line();
                    }
                    match name {
                        "br" => out.hard_break(),
                        "td" | "th" => out.cell(),
                        _ => {}
                    }
                }
                Node::Text(t) if hidden == 0 => out.push(t, preformatted > 0),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    let name = e.name();
                    if hidden > 0 {
                        hidden -= 1;
                        continue;
                    }
                    if matches!(name, "pre" | "textarea") {
                        preformatted -= 1;
                    }
                    if is_block(name) {
                        out.line();
                    }
                }
            }
        }
    }
    out.finish()
}

/// Elements the default style sheet does not render (`display: none`).
fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "head" | "script" | "style" | "template" | "noscript" | "title" | "meta" | "link"
    )
}

/// Elements the default style sheet displays as blocks (or table rows,
/// list items): their text starts on a line of its own.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "caption"
            | "dd"
            | "details"
            | "dialog"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "html"
            | "legend"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "tfoot"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// The text being built: white space collapsed as a browser collapses it.
#[derive(Default)]
struct Text {
    out: String,
    /// A space is owed before the next visible character.
    space: bool,
}

impl Text {
    fn push(&mut self, text: &str, preformatted: bool) {
        if preformatted {
            self.out.push_str(text);
            self.space = false;
            return;
        }
        // Pieces between runs of white space; an empty piece is white
        // space at the start or the end. Every boundary owes one space.
        for (i, word) in text.split(|c: char| c.is_ascii_whitespace()).enumerate() {
            if i > 0 {
                self.space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.space && !self.at_line_start() {
                self.out.push(' ');
            }
            self.space = false;
            self.out.push_str(word);
        }
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with(['\n', '\t'])
    }

    /// Ends the current line unless it is empty.
    fn line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.space = false;
    }

    fn hard_break(&mut self) {
        self.out.push('\n');
        self.space = false;
    }

    fn cell(&mut self) {
        if !self.at_line_start() {
            self.out.push('\t');
        }
        self.space = false;
    }

    fn finish(mut self) -> String {
        self.line();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_text_with_collapsed_space() {
        let html = r#"<!doctype html><html><head><title>T</title><style>p{}</style>
            <script>var x = "<p>no</p>";</script></head>
            <body><h1>Lease   agreement</h1><p>Between <b>A</b>
            and <i>B</i>.</p><div hidden>secret</div><noscript>enable js</noscript>
            <table><tr><td>Rent</td><td>100</td></tr></table>
            <pre>  two  spaces</pre>line<br>break</body></html>"#;
        assert_eq!(
            visible_text(html),
            "Lease agreement\nBetween A and B.\nRent\t100\n  two  spaces\nline\nbreak\n"
        );
    }

    #[test]
    fn broken_markup_is_repaired_not_rejected() {
        // The stray `</div>` is ignored and `<b>` opens inside the second
        // paragraph, as in a browser.
        assert_eq!(
            visible_text("<p>one<p>two</div><b>three"),
            "one\ntwothree\n"
        );
        assert_eq!(visible_text(""), "");
    }

    #[test]
    fn words_keep_the_single_spaces_between_them() {
        assert_eq!(
            visible_text("<p>one two\nthree <b>four</b> five</p>"),
            "one two three four five\n"
        );
    }
}
