//! Collection by a family member: only a member of the recipient's Kartu Keluarga (the roster
//! lists them) may collect, on their own e-KTP and live face, with a photographed surat kuasa.

use crate::error::Result;
use crate::store::{KkMember, Store};

/// Who the NIK typed from a would-be proxy's e-KTP is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyLookup {
    /// A member of the recipient's KK: compare the name with the card, then the live check.
    Member(KkMember),
    /// Not 16 digits: type it again from the card.
    NotANik,
    /// The recipient themselves: they collect in person, not by proxy.
    RecipientThemself,
    /// Not in the recipient's KK: they may not collect for them.
    NotInKk,
}

/// Looks up the would-be proxy with NIK `nik` in the household of the recipient.
pub fn find_member(store: &Store, roster_id: &str, recipient: &[u8], nik: &str) -> Result<ProxyLookup> {
    let typed: String = nik.chars().filter(|c| !c.is_whitespace() && *c != '.' && *c != '-').collect();
    if typed.len() != 16 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ProxyLookup::NotANik);
    }
    let r = store.recipient(roster_id, recipient)?;
    if r.nik == typed {
        return Ok(ProxyLookup::RecipientThemself);
    }
    Ok(r.household.into_iter().find(|m| m.nik == typed).map_or(ProxyLookup::NotInKk, ProxyLookup::Member))
}
