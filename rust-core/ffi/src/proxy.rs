//! Collection by a family member: the NIK on their e-KTP looked up in the recipient's KK, the
//! surat kuasa photo, and the live visit against their own e-KTP photo.

use std::sync::Arc;

use salur_core::doorstep;

use crate::phone::{self, Phone};
use crate::SalurError;

/// Who a would-be proxy is, by the NIK on their e-KTP.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum KkLookup {
    /// A member of the recipient's KK: compare `name` with their e-KTP, then the live check.
    Member {
        /// The member's reference (hex), which the receipt names.
        member_ref: String,
        /// Their name in the KK.
        name: String,
    },
    /// Not a 16-digit NIK: type it again from the card.
    NotANik,
    /// The recipient themselves: they collect in person, not by proxy.
    RecipientThemself,
    /// Not in the recipient's KK: they may not collect.
    NotInKk,
}

impl KkLookup {
    fn why(&self) -> &'static str {
        match self {
            Self::Member { .. } => "a member of the KK",
            Self::NotANik => "not a 16-digit NIK",
            Self::RecipientThemself => "the recipient themselves",
            Self::NotInKk => "not in the recipient's KK",
        }
    }
}

impl From<doorstep::ProxyLookup> for KkLookup {
    fn from(l: doorstep::ProxyLookup) -> Self {
        match l {
            doorstep::ProxyLookup::Member(m) => Self::Member { member_ref: hex::encode(&m.member), name: m.name },
            doorstep::ProxyLookup::NotANik => Self::NotANik,
            doorstep::ProxyLookup::RecipientThemself => Self::RecipientThemself,
            doorstep::ProxyLookup::NotInKk => Self::NotInKk,
        }
    }
}

/// The surat kuasa photo as a proxy receipt keeps it (JPEG, at most 1600 px a side); refused
/// when it cannot be read or is too small to read (photograph it again, closer).
#[uniffi::export]
pub fn kuasa_photo(image: Vec<u8>) -> Result<Vec<u8>, SalurError> {
    Ok(doorstep::kuasa_photo(&image)?)
}

#[uniffi::export]
impl Phone {
    /// Who the NIK typed from a would-be proxy's e-KTP is, for this recipient: a member of their
    /// KK (with the name to compare with the card), or why they may not collect.
    pub fn find_kk_member(
        &self,
        roster_id: String,
        recipient_ref: String,
        nik: String,
    ) -> Result<KkLookup, SalurError> {
        let recipient = phone::recipient_ref(&recipient_ref)?;
        Ok(doorstep::find_member(&self.store, &roster_id, &recipient, &nik)?.into())
    }

    /// Starts the live visit of a family member collecting for the recipient: only a member of
    /// the recipient's KK (`member_nik`, typed from their e-KTP) with the photo of the surat kuasa
    /// (`kuasa_image`); their own e-KTP photo (`card_image`) is the reference for their live face,
    /// and the receipt names them (method proxy). Bound to the recipient.
    pub fn start_proxy_visit(
        &self,
        engine: Arc<crate::FaceEngine>,
        roster_id: String,
        recipient_ref: String,
        member_nik: String,
        card_image: Vec<u8>,
        kuasa_image: Vec<u8>,
    ) -> Result<Arc<crate::LiveSession>, SalurError> {
        let recipient = phone::recipient_ref(&recipient_ref)?;
        let member = match doorstep::find_member(&self.store, &roster_id, &recipient, &member_nik)? {
            doorstep::ProxyLookup::Member(m) => m,
            other => {
                return Err(salur_core::Error::InvalidArgument(format!(
                    "this person may not collect for the recipient ({}): only a member of their KK may",
                    KkLookup::from(other).why()
                ))
                .into())
            }
        };
        let kuasa_jpeg = doorstep::kuasa_photo(&kuasa_image)?;
        // The reference is made from the very bytes whose hash the receipt signs.
        let card_jpeg = doorstep::card_photo(&card_image)?;
        self.bound_visit(engine, &roster_id, &recipient_ref, |_, engine| {
            let card = engine.card_face(&card_jpeg)?;
            Ok(doorstep::Against::Proxy { card, card_jpeg, member: member.member, kuasa_jpeg })
        })
    }
}
