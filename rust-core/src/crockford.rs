//! Crockford's base32 for codes people read aloud and type: no I, L, O or U, so nothing is
//! mistaken; case, spaces and hyphens are ignored when typed, and I/L read as 1, O as 0.

/// The 32 characters, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The first `chars` * 5 bits of `bytes` as characters (`bytes` must hold that many bits).
pub fn encode_bits(bytes: &[u8], chars: usize) -> String {
    (0..chars)
        .map(|i| {
            let bit = i * 5;
            let pair = (u16::from(bytes[bit / 8]) << 8) | u16::from(*bytes.get(bit / 8 + 1).unwrap_or(&0));
            char::from(ALPHABET[usize::from((pair >> (11 - bit % 8)) & 31)])
        })
        .collect()
}

/// A typed code in its one form (upper case, no separators, look-alikes mapped), if it has
/// exactly `len` characters of the alphabet.
pub fn normalize(typed: &str, len: usize) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        })
        .collect();
    (code.len() == len && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// `code` in groups of `group` characters joined by hyphens, as printed and read out.
pub fn grouped(code: &str, group: usize) -> String {
    code.as_bytes().chunks(group).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_come_out_in_order_and_typed_look_alikes_are_the_same() {
        assert_eq!(encode_bits(&[0xff, 0xff], 3), "ZZZ");
        assert_eq!(encode_bits(&[0x00, 0x00], 3), "000");
        // 00001 00010 00011 ... : 0x08 0x86 0x42 → 1, 2, 3, 4
        assert_eq!(encode_bits(&[0x08, 0x86, 0x42, 0x00], 4), "1234");
        assert_eq!(normalize("abcd-efgh jkmn", 12).as_deref(), Some("ABCDEFGHJKMN"));
        assert_eq!(normalize("1O1L", 4).as_deref(), Some("1011"));
        assert_eq!(normalize("ABCU", 4), None, "U is not in the alphabet");
        assert_eq!(normalize("ABC", 4), None);
        assert_eq!(grouped("ABCDEFGHJKMN", 4), "ABCD-EFGH-JKMN");
    }
}
