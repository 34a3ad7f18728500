//! Days as the programme counts them: Western Indonesian Time (UTC+7).

/// Offset of WIB from UTC.
pub const WIB_OFFSET_MS: i64 = 7 * 3600 * 1000;

/// The WIB day number (days since 1970-01-01) of a Unix time in milliseconds.
pub fn wib_day(unix_ms: i64) -> i64 {
    (unix_ms + WIB_OFFSET_MS).div_euclid(86_400_000)
}

/// Year, month (1-12) and day of a day number since 1970-01-01 (Howard Hinnant's civil-from-days).
fn ymd(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` of a day number since 1970-01-01.
pub fn civil_date(days: i64) -> String {
    let (y, m, d) = ymd(days);
    format!("{y:04}-{m:02}-{d:02}")
}

const BULAN: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// Indonesia's three time zones: a recipient reads a time in their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// Western (UTC+7): Sumatra, Java, West and Central Kalimantan.
    Wib,
    /// Central (UTC+8): Bali, Nusa Tenggara, South, East and North Kalimantan, Sulawesi.
    Wita,
    /// Eastern (UTC+9): Maluku and Papua.
    Wit,
}

impl TimeZone {
    /// The zone of a province by its two-digit Kemendagri code (the first two digits of a region
    /// code or NIK); WIB, the programme's own, for a code it does not know.
    pub fn of_province(code: &str) -> Self {
        match code.get(..2) {
            Some("51" | "52" | "53" | "63" | "64" | "65" | "71" | "72" | "73" | "74" | "75" | "76") => Self::Wita,
            Some(p) if p.starts_with('8') || p.starts_with('9') => Self::Wit,
            _ => Self::Wib,
        }
    }

    /// Hours ahead of UTC.
    pub fn offset_ms(self) -> i64 {
        match self {
            Self::Wib => WIB_OFFSET_MS,
            Self::Wita => WIB_OFFSET_MS + 3_600_000,
            Self::Wit => WIB_OFFSET_MS + 7_200_000,
        }
    }

    /// The abbreviation Indonesians write after a time.
    pub fn label(self) -> &'static str {
        match self {
            Self::Wib => "WIB",
            Self::Wita => "WITA",
            Self::Wit => "WIT",
        }
    }
}

/// `7 Desember 2026, 14.52 WIB`: a moment as an Indonesian reader writes it (day, month name, the
/// time with a full stop), in Western Indonesian Time.
pub fn indonesian_minute(unix_ms: i64) -> String {
    indonesian_minute_in(unix_ms, TimeZone::Wib)
}

/// [`indonesian_minute`] in the reader's own zone: `7 Desember 2026, 15.52 WITA`.
pub fn indonesian_minute_in(unix_ms: i64, zone: TimeZone) -> String {
    let local = unix_ms.saturating_add(zone.offset_ms());
    let (y, m, d) = ymd(local.div_euclid(86_400_000));
    let minute = local.div_euclid(60_000).rem_euclid(24 * 60);
    let month = BULAN[usize::try_from(m - 1).unwrap_or(0).min(11)];
    format!("{d} {month} {y}, {:02}.{:02} {}", minute / 60, minute % 60, zone.label())
}

/// `YYYY-MM-DD HH:MM WIB` of a Unix time in milliseconds, as printed on a receipt.
pub fn wib_minute(unix_ms: i64) -> String {
    let minute = (unix_ms + WIB_OFFSET_MS).div_euclid(60_000).rem_euclid(24 * 60);
    format!("{} {:02}:{:02} WIB", civil_date(wib_day(unix_ms)), minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(20_774), "2026-11-17");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn receipt_times_are_printed_in_wib() {
        // 2026-11-17 16:05 UTC is 23:05 WIB the same day; 18:05 UTC is 01:05 the next.
        let day = 20_774 * 86_400_000;
        assert_eq!(super::wib_minute(day + 16 * 3_600_000 + 300_000), "2026-11-17 23:05 WIB");
        assert_eq!(super::wib_minute(day + 18 * 3_600_000 + 300_000), "2026-11-18 01:05 WIB");
    }

    #[test]
    fn moments_are_written_the_indonesian_way() {
        let day = 20_794 * 86_400_000; // 2026-12-07
        assert_eq!(super::indonesian_minute(day + 7 * 3_600_000 + 52 * 60_000), "7 Desember 2026, 14.52 WIB");
        assert_eq!(super::indonesian_minute(day - 7 * 3_600_000), "7 Desember 2026, 00.00 WIB");
        assert_eq!(super::indonesian_minute(0), "1 Januari 1970, 07.00 WIB");
    }

    #[test]
    fn each_province_reads_the_time_in_its_own_zone() {
        use super::{indonesian_minute_in, TimeZone};
        // 2026-12-07 16:30 UTC: 23.30 in Jakarta, past midnight in Bali and Papua.
        let at = 20_794 * 86_400_000 + 16 * 3_600_000 + 30 * 60_000;
        let read = |province| indonesian_minute_in(at, TimeZone::of_province(province));
        assert_eq!(read("31"), "7 Desember 2026, 23.30 WIB");
        assert_eq!(read("61"), "7 Desember 2026, 23.30 WIB", "West Kalimantan is WIB");
        assert_eq!(read("51"), "8 Desember 2026, 00.30 WITA");
        assert_eq!(read("64"), "8 Desember 2026, 00.30 WITA", "East Kalimantan is WITA");
        assert_eq!(read("7371"), "8 Desember 2026, 00.30 WITA", "a regency code reads as its province");
        assert_eq!(read("81"), "8 Desember 2026, 01.30 WIT");
        assert_eq!(read("94"), "8 Desember 2026, 01.30 WIT");
        assert_eq!(read(""), "7 Desember 2026, 23.30 WIB", "unknown: the programme's WIB");
    }

    #[test]
    fn a_payment_at_18_utc_counts_on_the_next_wib_day() {
        let day = 20_774 * 86_400_000;
        assert_eq!(super::wib_day(day + 16 * 3_600_000), 20_774);
        assert_eq!(super::wib_day(day + 18 * 3_600_000), 20_775);
    }
}
