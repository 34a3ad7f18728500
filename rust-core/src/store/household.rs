//! The members of each recipient's Kartu Keluarga who may collect with a power of attorney, and
//! the sealed photo of the surat kuasa behind a proxy payment.

use rusqlite::{params, Connection, OptionalExtension};

use super::{KkMember, Recipient, Store};
use crate::crypto;
use crate::error::{Error, Result};
use crate::receipt::{Evidence, Method};

impl Store {
    /// Replaces the household stored for `r` with `r.household` (inside the roster's transaction).
    pub(super) fn replace_household(&self, tx: &rusqlite::Transaction<'_>, r: &Recipient) -> Result<()> {
        tx.execute("DELETE FROM household WHERE roster_id = ?1 AND recipient = ?2", params![r.roster_id, r.recipient])?;
        let mut insert = tx.prepare(
            "INSERT INTO household (roster_id, recipient, member, nik_enc, name) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
        )?;
        for m in &r.household {
            let nik = self.key.seal(m.nik.as_bytes(), &member_aad(&r.roster_id, &r.recipient, &m.member))?;
            insert.execute(params![r.roster_id, r.recipient, m.member, nik, m.name])?;
        }
        Ok(())
    }

    /// The household of one recipient, decrypted, by name.
    pub(super) fn household(&self, conn: &Connection, roster_id: &str, recipient: &[u8]) -> Result<Vec<KkMember>> {
        let mut stmt = conn.prepare(
            "SELECT member, nik_enc, name FROM household WHERE roster_id = ?1 AND recipient = ?2 ORDER BY name",
        )?;
        let rows: Vec<(Vec<u8>, Vec<u8>, String)> = stmt
            .query_map(params![roster_id, recipient], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(member, nik, name)| {
                let nik = self.key.open(&nik, &member_aad(roster_id, recipient, &member))?;
                let nik = String::from_utf8(nik).map_err(|_| Error::Crypto("NIK is not text".into()))?;
                Ok(KkMember { member, nik, name })
            })
            .collect()
    }

    /// The decrypted photo of the surat kuasa behind receipt `seq`, if it was a proxy payment.
    pub fn kuasa(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        self.proxy_photo(seq, ProxyPhoto::Kuasa)
    }

    /// The decrypted photo of the proxy's e-KTP behind receipt `seq`, if it was a proxy payment.
    pub fn proxy_card(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        self.proxy_photo(seq, ProxyPhoto::Card)
    }

    fn proxy_photo(&self, seq: u64, which: ProxyPhoto) -> Result<Option<Vec<u8>>> {
        let (column, aad) = match which {
            ProxyPhoto::Kuasa => ("photo_enc", "kuasa"),
            ProxyPhoto::Card => ("card_enc", "card"),
        };
        let row = self
            .conn()
            .query_row(
                &format!("SELECT r.id, k.{column} FROM kuasa k JOIN receipts r ON r.seq = k.seq WHERE k.seq = ?1"),
                [seq as i64],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)),
            )
            .optional()?;
        match row {
            Some((id, Some(sealed))) => Ok(Some(self.key.open(&sealed, format!("{aad}/{id}").as_bytes())?)),
            _ => Ok(None),
        }
    }
}

/// The two sealed photos of a proxy payment (columns of the `kuasa` table).
#[derive(Clone, Copy)]
enum ProxyPhoto {
    Kuasa,
    Card,
}

fn member_aad(roster_id: &str, recipient: &[u8], member: &[u8]) -> Vec<u8> {
    format!("household/{roster_id}/{}/{}", hex::encode(recipient), hex::encode(member)).into_bytes()
}

/// A proxy payment keeps the two photos its receipt signs the hashes of (the surat kuasa and
/// the member's e-KTP), and only a proxy payment keeps them: the receipt's word and the sealed
/// photos cannot drift apart.
pub(super) fn check_proxy_photos(evidence: Option<&Evidence>, kuasa: Option<&[u8]>, card: Option<&[u8]>) -> Result<()> {
    let signed = match evidence.map(|e| &e.method) {
        // A new proxy payment always names both photos (a receipt without the card's hash, signed
        // before it was added, is never recorded again).
        Some(Method::Proxy { kuasa_sha256, card_sha256, .. }) => {
            Some((kuasa_sha256.as_slice(), card_sha256.as_deref().unwrap_or_default()))
        }
        _ => None,
    };
    let same = |hash: &[u8], jpeg: &[u8]| crypto::sha256(jpeg).as_slice() == hash;
    match (signed, kuasa, card) {
        (None, None, None) => Ok(()),
        (Some((k, c)), Some(kuasa), Some(card)) if same(k, kuasa) && same(c, card) => Ok(()),
        (Some(_), _, _) => Err(Error::InvalidArgument(
            "a proxy payment needs the photos of the surat kuasa and the e-KTP its evidence names: photograph them again"
                .into(),
        )),
        (None, _, _) => {
            Err(Error::InvalidArgument("surat kuasa and e-KTP photos belong to a proxy payment only".into()))
        }
    }
}
