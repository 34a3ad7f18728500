//! The paper receipt a Bluetooth thermal printer gives the recipient, as ESC/POS bytes.
//!
//! Hand-written rather than a crate: the few commands used (initialise, align, bold, double
//! size, the printer's own QR code, feed and cut) are fixed bytes from Epson's ESC/POS
//! reference, and the crates on offer bring USB, serial and network drivers the phone does not
//! need (the app writes the bytes to the printer's Bluetooth socket itself).

/// What the slip says: no name, NIK or face, only what the recipient needs to check and complain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slip {
    /// The receipt code, `XXXX-XXXX-XXXX`.
    pub code: String,
    /// Whole rupiah paid.
    pub amount: u64,
    /// When, `YYYY-MM-DD HH:MM WIB`.
    pub paid_at: String,
    /// The paying post office.
    pub post_office: String,
    /// The roster (programme and period).
    pub roster: String,
    /// Where the code is checked (`https://…/cek`); the QR code opens it with the code filled in.
    pub check_url: String,
}

const ESC: u8 = 0x1b;
/// Most bytes put into the printer's QR code.
const MAX_QR_BYTES: usize = 2_000;
const GS: u8 = 0x1d;

/// Whole rupiah as Indonesians write it: `Rp600.000`.
pub fn rupiah(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("Rp{out}")
}

/// Printable ASCII only: thermal printers' code pages differ beyond it, and a control byte in a
/// post office's name must not become a printer command.
fn text(out: &mut Vec<u8>, s: &str) {
    out.extend(s.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c as u8 } else { b'?' }));
    out.push(b'\n');
}

/// The slip as ESC/POS bytes for a 58 mm printer (32 columns).
pub fn escpos(slip: &Slip) -> Vec<u8> {
    let mut out = vec![ESC, b'@']; // initialise
    out.extend([ESC, b'a', 1]); // centre
    out.extend([ESC, b'E', 1]);
    text(&mut out, "TANDA TERIMA BANTUAN");
    out.extend([ESC, b'E', 0]);
    text(&mut out, &slip.roster);
    out.extend([GS, b'!', 0x11]); // double width and height
    text(&mut out, &rupiah(slip.amount));
    out.extend([GS, b'!', 0x00]);
    text(&mut out, &slip.paid_at);
    text(&mut out, &format!("Kantor Pos {}", slip.post_office));
    text(&mut out, "Kode tanda terima:");
    out.extend([ESC, b'E', 1]);
    text(&mut out, &slip.code);
    out.extend([ESC, b'E', 0]);
    let link = format!("{}?kode={}", slip.check_url, slip.code.replace('-', ""));
    // A link longer than a slip's QR code should hold is printed as text only: GS ( k takes a
    // 16-bit length, which must never wrap and let the rest reach the printer as commands.
    if link.len() <= MAX_QR_BYTES {
        qr(&mut out, link.as_bytes());
    }
    text(&mut out, "Cek dan lapor jika uang kurang:");
    text(&mut out, &slip.check_url);
    out.extend([ESC, b'd', 4]); // feed four lines
    out.extend([GS, b'V', 66, 0]); // partial cut after feeding
    out
}

/// The printer draws the QR code itself (GS ( k, model 2, error correction M, 6 dots a module).
fn qr(out: &mut Vec<u8>, data: &[u8]) {
    let store = (data.len() + 3) as u16;
    out.extend([GS, b'(', b'k', 4, 0, 49, 65, 50, 0]); // model 2
    out.extend([GS, b'(', b'k', 3, 0, 49, 67, 6]); // module size
    out.extend([GS, b'(', b'k', 3, 0, 49, 69, 49]); // level M
    out.extend([GS, b'(', b'k', store as u8, (store >> 8) as u8, 49, 80, 48]);
    out.extend_from_slice(data);
    out.extend([GS, b'(', b'k', 3, 0, 49, 81, 48]); // print
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip() -> Slip {
        Slip {
            code: "7QK2-M9XD-4HTR".into(),
            amount: 600_000,
            paid_at: "2026-12-02 10:15 WIB".into(),
            post_office: "Gambir\u{1b}@".into(),
            roster: "blt-2026-12".into(),
            check_url: "https://salur.example/cek".into(),
        }
    }

    /// Walks the bytes as a printer would: the text lines, and the QR code's stored data.
    fn read(bytes: &[u8]) -> (Vec<String>, Vec<u8>, bool) {
        let (mut lines, mut line, mut qr, mut cut) = (Vec::new(), Vec::new(), Vec::new(), false);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                ESC => {
                    // ESC @ has no argument; ESC a / E / d take one byte.
                    i += if bytes[i + 1] == b'@' { 2 } else { 3 };
                }
                GS if bytes[i + 1] == b'(' => {
                    let len = usize::from(bytes[i + 3]) | usize::from(bytes[i + 4]) << 8;
                    let body = &bytes[i + 5..i + 5 + len];
                    if body[..3] == [49, 80, 48] {
                        qr = body[3..].to_vec();
                    }
                    i += 5 + len;
                }
                GS if bytes[i + 1] == b'V' => {
                    cut = i + 4 == bytes.len();
                    i += 4;
                }
                GS => i += 3,
                b'\n' => {
                    lines.push(String::from_utf8(std::mem::take(&mut line)).unwrap());
                    i += 1;
                }
                b => {
                    assert!(b.is_ascii_graphic() || b == b' ', "byte {b:#x} in the text");
                    line.push(b);
                    i += 1;
                }
            }
        }
        (lines, qr, cut)
    }

    #[test]
    fn the_slip_prints_the_amount_code_and_a_qr_code_that_opens_the_check_page() {
        let bytes = escpos(&slip());
        assert_eq!(&bytes[..2], &[ESC, b'@']);
        let (lines, qr, cut) = read(&bytes);
        assert!(lines.contains(&"Rp600.000".to_string()), "{lines:?}");
        assert!(lines.contains(&"7QK2-M9XD-4HTR".to_string()));
        assert!(lines.contains(&"2026-12-02 10:15 WIB".to_string()));
        // The escape byte in the name is printed as '?', never sent as a command.
        assert!(lines.contains(&"Kantor Pos Gambir?@".to_string()), "{lines:?}");
        assert_eq!(qr, b"https://salur.example/cek?kode=7QK2M9XD4HTR");
        assert!(cut, "the paper is cut at the end");
    }

    #[test]
    fn a_link_too_long_for_a_qr_code_is_printed_as_text_only() {
        let long = Slip { check_url: format!("https://x/{}", "a".repeat(70_000)), ..slip() };
        let (lines, qr, cut) = read(&escpos(&long));
        assert!(qr.is_empty() && cut, "no QR code, and the slip still ends with the cut");
        assert!(lines.iter().any(|l| l.len() > 70_000));
    }

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(0), "Rp0");
        assert_eq!(rupiah(600_000), "Rp600.000");
        assert_eq!(rupiah(1_234_567), "Rp1.234.567");
    }
}
