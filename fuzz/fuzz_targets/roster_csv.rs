//! Roster CSV import (`salur import`): reading never panics, every row it accepts passes the
//! row checks, and the accepted rows written back out as CSV read back as the same rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_server::domain::roster::{read_csv, RosterRow, MAX_KK_MEMBERS};

fuzz_target!(|data: &[u8]| {
    let accepted: Vec<RosterRow> = read_csv(data).into_iter().filter_map(|(_, row)| row.ok()).collect();
    for row in &accepted {
        assert!(row.validate().is_ok());
        assert!(row.household().expect("validated").len() <= MAX_KK_MEMBERS);
    }
    if accepted.is_empty() {
        return;
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in &accepted {
        out.serialize(row).expect("a row serializes");
    }
    let bytes = out.into_inner().expect("in memory");
    let again: Vec<RosterRow> = read_csv(&bytes[..])
        .into_iter()
        .map(|(line, row)| row.unwrap_or_else(|e| panic!("line {line}: {e}")))
        .collect();
    assert_eq!(again, accepted);
});
