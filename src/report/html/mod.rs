/*!
`--html FILE`: the report as one self-contained page for the people who
decide budgets: a summary, charts with their numbers in tables beside them,
and where every figure came from.

Self-contained means no request of any kind when the page is opened: the
style is inline, the charts are inline SVG (drawn by plotters, see
[`charts`]), there is no script, font, image or link to fetch. The page is
an askama template (`templates/report.html`), compiled with the binary and
escaping every value; this module only turns the [`Report`] into the rows
and charts the template lays out ([`page`]). Nothing is recounted: every
figure is read from the report.

Sections appear only when the report has something for them (costs need
`-m`, the token story needs `--scenario`); a corpus of hundreds of
categories or extensions is cut to the largest [`view::TOP`] and `other`.
*/

mod charts;
mod page;

use askama::Template;

use super::Report;

/// Why the page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("cannot draw a chart: {0}")]
    Chart(String),
    #[error("cannot fill the template: {0}")]
    Template(#[from] askama::Error),
}

pub fn render(report: &Report) -> Result<String, HtmlError> {
    let page = page::Page::from_report(report).map_err(HtmlError::Chart)?;
    Ok(page.render()?)
}

/// The page, its tokenizer comparison relative to `baseline` (when it was
/// counted) instead of o200k_base: what `compare --html` writes.
pub fn render_compared(report: &Report, baseline: &str) -> Result<String, HtmlError> {
    let page = page::Page::compared_with(report, Some(baseline)).map_err(HtmlError::Chart)?;
    Ok(page.render()?)
}
