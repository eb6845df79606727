/*!
XLSX and ODS: cell text, sheet by sheet, read by `calamine` (the
maintained pure-Rust spreadsheet reader: shared strings, inline strings,
numbers as Excel shows their value, ODS repeated rows and cells).

A sheet is written as its rows, cells separated by tabs (what a TSV export
or a pipeline that flattens sheets sends), with empty cells at the end of a
row left off. A cell is written as a reader sees it, not as it is stored:
a date is stored as a day number (39083) but shown and exported as a date,
so it is written in ISO 8601 (`2007-01-01`, with the time when it has one;
calamine's `chrono` feature does the calendar), a duration as `h:mm:ss`,
and a boolean as Excel shows it (`TRUE`). Calamine opens the zip itself with no cap on what the parts
inflate to, so the package is inflated once against the budget first.
*/

use std::io::Cursor;

use calamine::{Data, ExcelDateTime, Ods, Reader, Xlsx};

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
                write_cell(cell, out);
            }
            if used > 0 {
                out.push('\n');
            }
        }
    }
    Ok(names.len() as u64)
}

/// One cell's text as a reader of the sheet sees it.
fn write_cell(cell: &Data, out: &mut String) {
    use std::fmt::Write;
    match cell {
        Data::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(d) => write_date(d, out),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn write_date(d: &ExcelDateTime, out: &mut String) {
    use std::fmt::Write;
    if d.is_duration() {
        if let Some(t) = d.as_duration() {
            let s = t.num_seconds();
            let sign = if s < 0 { "-" } else { "" };
            let s = s.unsigned_abs();
            let _ = write!(out, "{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
            return;
        }
    } else if let Some(t) = d.as_datetime() {
        let value = d.as_f64();
        let shown = if (0.0..1.0).contains(&value) {
            // A time of day with no date (a cell formatted h:mm): Excel
            // shows the time, not the day before its calendar starts.
            t.format("%H:%M:%S")
        } else if t.time() == chrono::NaiveTime::MIN {
            t.format("%Y-%m-%d")
        } else {
            t.format("%Y-%m-%d %H:%M:%S")
        };
        let _ = write!(out, "{shown}");
        return;
    }
    // Out of the calendar's range: the stored number, as Excel would
    // show it (#### aside).
    let _ = write!(out, "{d}");
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType::{DateTime, TimeDelta};

    use super::*;

    fn shown(value: f64, kind: calamine::ExcelDateTimeType) -> String {
        let mut out = String::new();
        write_date(&ExcelDateTime::new(value, kind, false), &mut out);
        out
    }

    #[test]
    fn dates_times_and_durations_are_written_as_a_reader_sees_them() {
        // 39083 is 2007-01-01 in Excel's 1900 system.
        assert_eq!(shown(39083.0, DateTime), "2007-01-01");
        assert_eq!(shown(39083.5, DateTime), "2007-01-01 12:00:00");
        // A time of day alone (a cell formatted h:mm:ss).
        assert_eq!(shown(0.52, DateTime), "12:28:48");
        assert_eq!(shown(1.5, TimeDelta), "36:00:00");
        assert_eq!(shown(-0.0625, TimeDelta), "-1:30:00");
    }
}
