//! CSV files staff open in a spreadsheet: a text cell that starts like a formula (`=`, `+`, `-`,
//! `@`, or a tab or carriage return, which spreadsheets also treat so) is written with a leading
//! apostrophe, so a worker's note or a name typed on a phone cannot run in an auditor's
//! spreadsheet (the OWASP "CSV injection" advice).

use std::borrow::Cow;

/// `value` as a spreadsheet shows it and never runs it.
pub fn spreadsheet_cell(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// A CSV document (header first) with every data cell made safe by [`spreadsheet_cell`].
pub fn spreadsheet_safe(csv_text: &str) -> Result<String, csv::Error> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv_text.as_bytes());
    let mut out = csv::Writer::from_writer(Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        if i == 0 {
            out.write_record(&record)?;
        } else {
            out.write_record(record.iter().map(|v| spreadsheet_cell(v).into_owned()).collect::<Vec<_>>())?;
        }
    }
    let bytes = out.into_inner().map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_not_run() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_cell(bad), format!("'{bad}"));
        }
        for fine in ["Siti", "600000", "", "a=b", "blt-2026-11"] {
            assert_eq!(spreadsheet_cell(fine), fine);
        }
        let csv = "name,note\nSiti,=cmd|' /C calc'!A0\nBudi,plain\n";
        let safe = spreadsheet_safe(csv).unwrap();
        assert_eq!(safe, "name,note\nSiti,'=cmd|' /C calc'!A0\nBudi,plain\n");
    }
}
