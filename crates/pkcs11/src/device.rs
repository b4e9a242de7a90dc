use std::path::Path;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{
    Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::{Pin, Pkcs11Error, TokenKey};

/// A loaded PKCS#11 module (vendor library).
#[derive(Clone)]
pub struct Module {
    inner: Arc<Pkcs11>,
    path: String,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("path", &self.path).finish()
    }
}

/// The token's PIN counters, as the device reports them (PKCS#11 flags: the exact
/// number of attempts left is not exposed by the standard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinStatus {
    /// An incorrect PIN has been entered at least once since the last success.
    pub count_low: bool,
    /// One more wrong PIN locks the token.
    pub final_try: bool,
    /// The PIN is locked.
    pub locked: bool,
    /// The PIN must be changed before use.
    pub to_be_changed: bool,
}

impl PinStatus {
    pub(crate) fn describe(&self) -> String {
        if self.locked {
            "; the PIN is now LOCKED / mã PIN đã bị khóa".into()
        } else if self.final_try {
            "; ONE attempt left before the token locks / chỉ còn một lần thử".into()
        } else if self.count_low {
            "; attempts are running low / số lần thử còn ít".into()
        } else {
            String::new()
        }
    }
}

/// What a slot's token says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Slot id.
    pub slot: u64,
    /// Token label.
    pub label: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Serial number (the device identity kept in the device register).
    pub serial: String,
    /// PIN counters.
    pub pin: PinStatus,
}

/// How to choose the signing key on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySelector {
    /// The only signing key (error if several).
    Only,
    /// By `CKA_ID` (hex on the command line).
    Id(Vec<u8>),
    /// By `CKA_LABEL`.
    Label(String),
    /// By the certificate on the token: serial number (uppercase hex, as `kyso` prints it).
    CertificateSerial(String),
}

/// A signing key found on a token, with its certificate when one matches.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_LABEL`.
    pub label: String,
    /// RSA or EC.
    pub key_type: String,
    /// The matching certificate (same `CKA_ID`, or same public key).
    pub certificate: Option<Certificate>,
    pub(crate) handle: ObjectHandle,
}

impl Module {
    /// Load and initialise a module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Pkcs11Error> {
        let shown = path.as_ref().display().to_string();
        let fail = |reason: String| Pkcs11Error::Module {
            path: shown.clone(),
            reason,
        };
        let pkcs11 = Pkcs11::new(path.as_ref()).map_err(|e| fail(e.to_string()))?;
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        Ok(Self {
            inner: Arc::new(pkcs11),
            path: shown,
        })
    }

    /// Every slot with an initialised token present (SoftHSM and some readers also
    /// show an empty, uninitialised token, which cannot hold keys).
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, Pkcs11Error> {
        let mut out = Vec::new();
        for slot in self.inner.get_slots_with_token()? {
            if self.inner.get_token_info(slot)?.token_initialized() {
                out.push(self.token_info(slot)?);
            }
        }
        Ok(out)
    }

    fn token_info(&self, slot: Slot) -> Result<TokenInfo, Pkcs11Error> {
        let info = self.inner.get_token_info(slot)?;
        Ok(TokenInfo {
            slot: slot.id(),
            label: info.label().trim().to_string(),
            manufacturer: info.manufacturer_id().trim().to_string(),
            model: info.model().trim().to_string(),
            serial: info.serial_number().trim().to_string(),
            pin: PinStatus {
                count_low: info.user_pin_count_low(),
                final_try: info.user_pin_final_try(),
                locked: info.user_pin_locked(),
                to_be_changed: info.user_pin_to_be_changed(),
            },
        })
    }

    /// Find the token: by serial, by label, or the only one.
    pub fn find_token(
        &self,
        serial: Option<&str>,
        label: Option<&str>,
    ) -> Result<TokenInfo, Pkcs11Error> {
        let all = self.tokens()?;
        let matching: Vec<&TokenInfo> = all
            .iter()
            .filter(|t| serial.is_none_or(|s| t.serial == s))
            .filter(|t| label.is_none_or(|l| t.label == l))
            .collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Pkcs11Error::NoToken(match (serial, label) {
                (Some(s), _) => format!(" with serial {s}"),
                (None, Some(l)) => format!(" labelled {l}"),
                _ => String::new(),
            })),
            many => Err(Pkcs11Error::AmbiguousToken(
                many.iter()
                    .map(|t| format!("slot {} {:?} serial {}", t.slot, t.label, t.serial))
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Open a session on `token` and log in as user. A locked PIN is never tried; the
    /// final attempt is used only when `allow_final_try`.
    pub fn login(
        &self,
        token: &TokenInfo,
        pin: &Pin,
        allow_final_try: bool,
    ) -> Result<TokenSession, Pkcs11Error> {
        let slot = self.slot(token.slot)?;
        let status = self.token_info(slot)?.pin;
        if status.locked {
            return Err(Pkcs11Error::PinLocked);
        }
        if status.final_try && !allow_final_try {
            return Err(Pkcs11Error::FinalTry);
        }
        let session = self.inner.open_rw_session(slot)?;
        match session.login(UserType::User, Some(pin.auth())) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                let after = self.token_info(slot).map(|t| t.pin).unwrap_or_default();
                return Err(Pkcs11Error::WrongPin(after));
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => return Err(Pkcs11Error::PinLocked),
            Err(e) => return Err(e.into()),
        }
        Ok(TokenSession {
            module: self.clone(),
            token: token.clone(),
            session: Arc::new(Mutex::new(session)),
        })
    }

    /// The X.509 certificates on `token` with their `CKA_ID`, read without logging in
    /// (certificates are public objects): what a signing helper shows before any PIN.
    pub fn certificates(
        &self,
        token: &TokenInfo,
    ) -> Result<Vec<(Vec<u8>, Certificate)>, Pkcs11Error> {
        let slot = self.slot(token.slot)?;
        let session = self.inner.open_ro_session(slot)?;
        certificates(&session)
    }

    fn slot(&self, id: u64) -> Result<Slot, Pkcs11Error> {
        self.inner
            .get_slots_with_token()?
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or_else(|| Pkcs11Error::NoToken(format!(" in slot {id}")))
    }
}

/// A logged-in session on one token.
#[derive(Clone)]
pub struct TokenSession {
    #[allow(dead_code)]
    module: Module,
    token: TokenInfo,
    pub(crate) session: Arc<Mutex<Session>>,
}

impl std::fmt::Debug for TokenSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSession")
            .field("token", &self.token)
            .finish()
    }
}

impl TokenSession {
    /// The token this session is on.
    pub fn token(&self) -> &TokenInfo {
        &self.token
    }

    pub(crate) fn lock(&self) -> Result<std::sync::MutexGuard<'_, Session>, Pkcs11Error> {
        self.session
            .lock()
            .map_err(|_| Pkcs11Error::Device("session lock poisoned".into()))
    }

    /// Every private key that can sign, with its certificate when one matches.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, Pkcs11Error> {
        let session = self.lock()?;
        let certs = certificates(&session)?;
        let mut out = Vec::new();
        for handle in session.find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Sign(true),
        ])? {
            let attrs = session.get_attributes(
                handle,
                &[
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::KeyType,
                ],
            )?;
            let mut id = Vec::new();
            let mut label = String::new();
            let mut key_type = String::from("?");
            for a in attrs {
                match a {
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = String::from_utf8_lossy(&v).into_owned(),
                    Attribute::KeyType(k) if k == KeyType::RSA => key_type = "RSA".into(),
                    Attribute::KeyType(k) if k == KeyType::EC => key_type = "EC".into(),
                    _ => {}
                }
            }
            // Match the certificate by CKA_ID first; RSA keys by modulus otherwise.
            let mut certificate = certs
                .iter()
                .find(|(cid, _)| !id.is_empty() && *cid == id)
                .map(|(_, c)| c.clone());
            if certificate.is_none()
                && key_type == "RSA"
                && let Ok(mods) = session.get_attributes(handle, &[AttributeType::Modulus])
                && let Some(Attribute::Modulus(m)) = mods.into_iter().next()
            {
                certificate = certs
                    .iter()
                    .find(|(_, c)| rsa_modulus(c).is_some_and(|cm| strip(&cm) == strip(&m)))
                    .map(|(_, c)| c.clone());
            }
            out.push(KeyInfo {
                id,
                label,
                key_type,
                certificate,
                handle,
            });
        }
        // An EC key without CKA_ID: pair it with the only unclaimed EC certificate.
        let claimed: Vec<Vec<u8>> = out
            .iter()
            .filter_map(|k| k.certificate.as_ref().and_then(|c| c.to_der().ok()))
            .collect();
        let unclaimed_ec: Vec<&Certificate> = certs
            .iter()
            .map(|(_, c)| c)
            .filter(|c| c.to_der().is_ok_and(|d| !claimed.contains(&d)))
            .filter(|c| {
                c.tbs_certificate().subject_public_key_info().algorithm.oid
                    == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY
            })
            .collect();
        let orphans = out
            .iter()
            .filter(|k| k.certificate.is_none() && k.key_type == "EC")
            .count();
        if orphans == 1 && unclaimed_ec.len() == 1 {
            for k in out.iter_mut() {
                if k.certificate.is_none() && k.key_type == "EC" {
                    k.certificate = Some(unclaimed_ec[0].clone());
                }
            }
        }
        Ok(out)
    }

    /// Choose a key and make it a [`TokenKey`] (a `Signer`). The key must have a
    /// certificate on the token, or one given in `certificate`.
    pub fn key(
        &self,
        selector: &KeySelector,
        certificate: Option<Certificate>,
        pss: bool,
    ) -> Result<TokenKey, Pkcs11Error> {
        let keys = self.keys()?;
        let matching: Vec<&KeyInfo> = keys
            .iter()
            .filter(|k| match selector {
                KeySelector::Only => true,
                KeySelector::Id(id) => &k.id == id,
                KeySelector::Label(l) => &k.label == l,
                KeySelector::CertificateSerial(s) => k.certificate.as_ref().is_some_and(|c| {
                    hex_upper(c.tbs_certificate().serial_number().as_bytes())
                        .trim_start_matches('0')
                        == s.to_uppercase().trim_start_matches('0')
                }),
            })
            .collect();
        let key = match matching.as_slice() {
            [one] => (*one).clone(),
            [] => return Err(Pkcs11Error::NoKey(format!("{selector:?}"))),
            many => {
                return Err(Pkcs11Error::AmbiguousKey(
                    many.iter()
                        .map(|k| format!("id {} label {:?}", hex_upper(&k.id), k.label))
                        .collect::<Vec<_>>()
                        .join(", "),
                ));
            }
        };
        let certificate = certificate.or(key.certificate.clone()).ok_or_else(|| {
            Pkcs11Error::NoKey(format!(
                "{selector:?} with a certificate (none on the token; give one)"
            ))
        })?;
        TokenKey::new(self.clone(), key, certificate, pss)
    }

    /// Change the user PIN (used at device handover: the receiver sets a new PIN so the
    /// previous holder's stops working).
    pub fn change_pin(&self, old: &Pin, new: &Pin) -> Result<(), Pkcs11Error> {
        self.lock()?.set_pin(old.auth(), new.auth())?;
        Ok(())
    }
}

fn certificates(session: &Session) -> Result<Vec<(Vec<u8>, Certificate)>, Pkcs11Error> {
    let mut out = Vec::new();
    for handle in session.find_objects(&[
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
    ])? {
        let attrs = session.get_attributes(handle, &[AttributeType::Id, AttributeType::Value])?;
        let mut id = Vec::new();
        let mut value = Vec::new();
        for a in attrs {
            match a {
                Attribute::Id(v) => id = v,
                Attribute::Value(v) => value = v,
                _ => {}
            }
        }
        if let Ok(cert) = Certificate::from_der(&value) {
            out.push((id, cert));
        }
    }
    Ok(out)
}

fn rsa_modulus(cert: &Certificate) -> Option<Vec<u8>> {
    let bits = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let seq = der::asn1::Any::from_der(&bits).ok()?;
    let mut reader = der::SliceReader::new(seq.value()).ok()?;
    let modulus: der::asn1::Uint = der::Decode::decode(&mut reader).ok()?;
    Some(modulus.as_bytes().to_vec())
}

fn strip(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
