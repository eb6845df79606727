/*!
XLSX and ODS: cell text, sheet by sheet, read by `calamine` (the
maintained pure-Rust spreadsheet reader: shared strings, inline strings,
numbers as Excel shows their value, ODS repeated rows and cells).

A sheet is written as its rows, cells separated by tabs (what a TSV export
or a pipeline that flattens sheets sends), with empty cells at the end of a
row left off. Calamine opens the zip itself with no cap on what the parts
inflate to, so the package is inflated once against the budget first.
*/

use std::io::Cursor;

use calamine::{Data, Ods, Reader, Xlsx};

use super::package::Package;
use super::{corrupt, Format, Limits};
use crate::skip::SkipReason;

/// The cell text of a spreadsheet, and how many sheets it has.
pub(super) fn extract(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
) -> Result<(String, Option<u64>), SkipReason> {
    Package::open(format, bytes, limits)?.check_all()?;
    let mut out = String::new();
    let sheets = match format {
        Format::Ods => {
            let mut book: Ods<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
                .map_err(|e| corrupt(format, e))?;
            write_sheets(&mut book, format, &mut out)?
        }
        _ => {
            let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
                .map_err(|e| corrupt(format, e))?;
            write_sheets(&mut book, format, &mut out)?
        }
    };
    Ok((out, Some(sheets)))
}

fn write_sheets<RS, R>(book: &mut R, format: Format, out: &mut String) -> Result<u64, SkipReason>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
    R::Error: std::fmt::Display,
{
    let names = book.sheet_names();
    for name in &names {
        let range = book
            .worksheet_range(name)
            .map_err(|e| corrupt(format, format!("sheet {name}: {e}")))?;
        for row in range.rows() {
            let used = row
                .iter()
                .rposition(|c| *c != Data::Empty)
                .map_or(0, |i| i + 1);
            for (i, cell) in row[..used].iter().enumerate() {
                if i > 0 {
                    out.push('\t');
                }
                out.push_str(&cell.to_string());
            }
            if used > 0 {
                out.push('\n');
            }
        }
    }
    Ok(names.len() as u64)
}
