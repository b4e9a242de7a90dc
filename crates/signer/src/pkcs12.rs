//! PKCS#12 (.p12 / .pfx) import, RFC 7292.
//!
//! [`parse`] reads the private key, its certificate and the rest of the chain out of a
//! password-protected PKCS#12 file, as exported by OpenSSL, Windows, Java and the
//! Vietnamese CAs' token tools.
//!
//! Supported:
//! - password integrity mode (`macData`) with HMAC-SHA-1/-224/-256/-384/-512 keyed by
//!   the PKCS#12 KDF (RFC 7292 App. B); files without `macData` are read too, with no
//!   integrity check beyond the encryption padding;
//! - an `authSafe` of type `data`, holding `data` and `encryptedData` content infos;
//! - `keyBag`, `pkcs8ShroudedKeyBag`, `certBag` (X.509) and nested `safeContentsBag`
//!   bags (CRL, secret and unknown bags are skipped);
//! - PBES2 (PKCS#5 v2.1) with PBKDF2 (HMAC-SHA-1/-224/-256/-384/-512) or scrypt, and
//!   AES-128/192/256-CBC or DES-EDE3-CBC: what OpenSSL 3 writes by default;
//! - the PKCS#12 PBE schemes `pbeWithSHAAnd3-KeyTripleDES-CBC`,
//!   `pbeWithSHAAnd2-KeyTripleDES-CBC`, `pbeWithSHAAnd128BitRC2-CBC` and
//!   `pbeWithSHAAnd40BitRC2-CBC` (OpenSSL `-legacy`, Windows, older CA tools);
//! - BER as well as DER (indefinite lengths, constructed OCTET STRINGs).
//!
//! Not supported: public-key integrity mode (`signedData`), public-key privacy mode
//! (`envelopedData`), RC4 and PKCS#5 v1.5 (PBES1) encryption, the PBMAC1 MAC of
//! RFC 9579.
//!
//! The passphrase is taken as the UTF-8 bytes the user typed. The PKCS#12 KDF (MAC and
//! legacy encryption) gets it as a BMPString (UTF-16BE with a terminating zero
//! character); PBES2 gets the UTF-8 bytes, as OpenSSL does. An empty passphrase is
//! tried both as an empty BMPString and as no password at all, as OpenSSL does, since
//! exporters disagree on which to use.
//!
//! The input is untrusted: it is limited to [`MAX_INPUT_LEN`] bytes, [`MAX_BAGS`] bags
//! and [`MAX_ITERATIONS`] KDF iterations (and a bounded scrypt cost), nesting is
//! bounded, and no input makes the parser panic.

use std::borrow::Cow;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, InnerIvInit, KeyInit};
use const_oid::ObjectIdentifier;
use der::Decode;
use hmac::{Hmac, Mac};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::{Signer, SignerError, SoftKey};

/// The largest PKCS#12 file accepted, in bytes (1 MiB).
pub const MAX_INPUT_LEN: usize = 1 << 20;
/// The most safe bags (keys, certificates and others) accepted in one file.
pub const MAX_BAGS: usize = 64;
/// The most iterations accepted for the PKCS#12 KDF and PBKDF2 (CPU denial of service).
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// The most content infos accepted in the authenticated safe.
const MAX_CONTENT_INFOS: usize = 64;
/// The deepest BER nesting accepted.
const MAX_DEPTH: usize = 32;
/// The deepest nesting of `safeContentsBag`s accepted.
const MAX_SAFE_CONTENTS_NESTING: usize = 4;
/// The most memory scrypt may use (128 · r · N bytes): 256 MiB.
const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
/// The most scrypt work accepted (N · r · p), about a second.
const MAX_SCRYPT_WORK: u64 = 1 << 24;

// Content types (RFC 5652) and PKCS#12 object identifiers (RFC 7292).
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");

const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const PKCS8_SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const SAFE_CONTENTS_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.6");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");

const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");

const PBE_SHA1_RC4_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.1");
const PBE_SHA1_RC4_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.2");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_2DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4");
const PBE_SHA1_RC2_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBMAC1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.14");

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// What a .p12 file holds.
pub struct Pkcs12Contents {
    /// Unencrypted PKCS#8 PrivateKeyInfo DER of the (first) private key, zeroized on drop.
    pub private_key: Zeroizing<Vec<u8>>,
    /// The certificate matching the private key (DER), if present (matched by
    /// localKeyId, else by public key).
    pub certificate: Option<Vec<u8>>,
    /// All other certificates in the file (DER), e.g. the CA chain, in file order.
    pub other_certificates: Vec<Vec<u8>>,
    /// friendlyName of the key bag, if any.
    pub friendly_name: Option<String>,
}

impl std::fmt::Debug for Pkcs12Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs12Contents")
            .field(
                "private_key",
                &format_args!("<{} bytes>", self.private_key.len()),
            )
            .field(
                "certificate",
                &self
                    .certificate
                    .as_ref()
                    .map(|c| format!("<{} bytes>", c.len())),
            )
            .field("other_certificates", &self.other_certificates.len())
            .field("friendly_name", &self.friendly_name)
            .finish()
    }
}

/// Read a PKCS#12 file (DER or BER) protected by `password` (UTF-8).
///
/// Errors: [`SignerError::Decryption`] when the MAC does not verify or a key cannot be
/// decrypted (wrong passphrase or damaged file), [`SignerError::Pkcs12`] for anything
/// malformed, unsupported or over the limits.
pub fn parse(pfx_der: &[u8], password: &[u8]) -> Result<Pkcs12Contents, SignerError> {
    if pfx_der.len() > MAX_INPUT_LEN {
        return Err(err(format!(
            "the file is {} bytes, more than the {MAX_INPUT_LEN} accepted",
            pfx_der.len()
        )));
    }
    if pfx_der.is_empty() {
        return Err(err("the file is empty"));
    }

    // PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
    let pfx = Tlv::parse_one(pfx_der, 0, "PFX")?;
    pfx.expect_universal(SEQUENCE, true, "PFX")?;
    let fields = pfx.children()?;
    let (version, auth_safe, mac_data) = match fields.as_slice() {
        [v, a] => (v, a, None),
        [v, a, m] => (v, a, Some(m)),
        _ => return Err(err("PFX: expected version, authSafe and optional macData")),
    };
    let version = version.uint("PFX version")?;
    if version != 3 {
        return Err(err(format!("PFX version {version} (expected 3)")));
    }

    // authSafe ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT OCTET STRING }
    let (content_type, content) = content_info(auth_safe, "authSafe")?;
    if content_type == ID_SIGNED_DATA {
        return Err(err(
            "public-key integrity mode (signedData authSafe) is not supported",
        ));
    }
    if content_type != ID_DATA {
        return Err(err(format!(
            "authSafe content type {content_type} is not data"
        )));
    }
    content.expect_universal(OCTET_STRING, false, "authSafe content")?;
    let auth_safe_bytes = content.octets("authSafe content")?;

    let mut passwords = Passwords::new(password);
    if let Some(mac_data) = mac_data {
        let used = verify_mac(mac_data, &auth_safe_bytes, &passwords.bmp)?;
        passwords.bmp = vec![passwords.bmp.swap_remove(used)];
    }

    // AuthenticatedSafe ::= SEQUENCE OF ContentInfo
    let safe = Tlv::parse_one(&auth_safe_bytes, 0, "AuthenticatedSafe")?;
    safe.expect_universal(SEQUENCE, true, "AuthenticatedSafe")?;
    let infos = safe.children()?;
    if infos.len() > MAX_CONTENT_INFOS {
        return Err(err(format!(
            "{} content infos in the authenticated safe, more than the {MAX_CONTENT_INFOS} accepted",
            infos.len()
        )));
    }
    let mut bags = Bags::default();
    for info in &infos {
        let (content_type, content) = content_info(info, "AuthenticatedSafe content")?;
        if content_type == ID_DATA {
            content.expect_universal(OCTET_STRING, false, "SafeContents")?;
            let bytes = content.octets("SafeContents")?;
            let safe_contents = Tlv::parse_one(&bytes, 0, "SafeContents")?;
            read_safe_contents(&safe_contents, &passwords, &mut bags, 0)?;
        } else if content_type == ID_ENCRYPTED_DATA {
            let plain = decrypt_encrypted_data(&content, &passwords)?;
            let safe_contents = Tlv::parse_one(&plain, 0, "decrypted SafeContents")
                .map_err(|_| SignerError::Decryption)?;
            read_safe_contents(&safe_contents, &passwords, &mut bags, 0)?;
        } else if content_type == ID_ENVELOPED_DATA {
            return Err(err(
                "public-key privacy mode (envelopedData) is not supported",
            ));
        } else {
            return Err(err(format!(
                "unsupported content type {content_type} in the authenticated safe"
            )));
        }
    }

    let key = bags
        .key
        .ok_or_else(|| err("the file holds no private key"))?;
    let mut certs = bags.certs;
    let by_id = key.local_key_id.as_ref().and_then(|id| {
        certs
            .iter()
            .position(|c| c.local_key_id.as_ref() == Some(id))
    });
    let matched = by_id.or_else(|| {
        let key_public = KeyPublic::of(&key.pkcs8)?;
        certs.iter().position(|c| key_public.matches(&c.der))
    });
    let certificate = matched.map(|i| certs.remove(i).der);
    Ok(Pkcs12Contents {
        private_key: key.pkcs8,
        certificate,
        other_certificates: certs.into_iter().map(|c| c.der).collect(),
        friendly_name: key.friendly_name,
    })
}

fn err(message: impl Into<String>) -> SignerError {
    SignerError::Pkcs12(message.into())
}

/// The passphrase in the forms the algorithms want.
struct Passwords {
    /// UTF-8, for PBES2.
    utf8: Zeroizing<Vec<u8>>,
    /// BMPString candidates for the PKCS#12 KDF; after the MAC check, the one that fit.
    bmp: Vec<Zeroizing<Vec<u8>>>,
}

impl Passwords {
    fn new(password: &[u8]) -> Self {
        let mut bmp = vec![to_bmp_string(password)];
        if password.is_empty() {
            // OpenSSL tries "no password" (an empty KDF input) as well as "" (00 00).
            bmp.push(Zeroizing::new(Vec::new()));
        }
        Self {
            utf8: Zeroizing::new(password.to_vec()),
            bmp,
        }
    }
}

/// The BMPString form of a passphrase for the PKCS#12 KDF: UTF-16BE with a terminating
/// zero character. Bytes that are not UTF-8 are taken as Latin-1, as OpenSSL does.
fn to_bmp_string(password: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    match std::str::from_utf8(password) {
        Ok(text) => {
            for unit in text.encode_utf16() {
                out.extend_from_slice(&unit.to_be_bytes());
            }
        }
        Err(_) => {
            for &byte in password {
                out.extend_from_slice(&[0, byte]);
            }
        }
    }
    out.extend_from_slice(&[0, 0]);
    out
}

// ---------------------------------------------------------------------------------
// MAC

#[derive(Clone, Copy, Debug)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        Some(match oid {
            SHA1 => Self::Sha1,
            SHA224 => Self::Sha224,
            SHA256 => Self::Sha256,
            SHA384 => Self::Sha384,
            SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The PKCS#12 KDF of RFC 7292 App. B.2 with this hash.
    fn kdf(
        self,
        id: u8,
        password: &[u8],
        salt: &[u8],
        iterations: u64,
        len: usize,
    ) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Sha1 => pkcs12_kdf::<sha1::Sha1>(64, id, password, salt, iterations, len),
            Self::Sha224 => pkcs12_kdf::<sha2::Sha224>(64, id, password, salt, iterations, len),
            Self::Sha256 => pkcs12_kdf::<sha2::Sha256>(64, id, password, salt, iterations, len),
            Self::Sha384 => pkcs12_kdf::<sha2::Sha384>(128, id, password, salt, iterations, len),
            Self::Sha512 => pkcs12_kdf::<sha2::Sha512>(128, id, password, salt, iterations, len),
        }
    }

    /// Check an HMAC in constant time.
    fn hmac_verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            Self::Sha1 => hmac_verify::<Hmac<sha1::Sha1>>(key, data, tag),
            Self::Sha224 => hmac_verify::<Hmac<sha2::Sha224>>(key, data, tag),
            Self::Sha256 => hmac_verify::<Hmac<sha2::Sha256>>(key, data, tag),
            Self::Sha384 => hmac_verify::<Hmac<sha2::Sha384>>(key, data, tag),
            Self::Sha512 => hmac_verify::<Hmac<sha2::Sha512>>(key, data, tag),
        }
    }
}

fn hmac_verify<M: Mac + KeyInit>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
        return false;
    };
    Mac::update(&mut mac, data);
    mac.verify_slice(tag).is_ok()
}

/// RFC 7292 App. B.2: derive `len` bytes of purpose `id` (1 key, 2 IV, 3 MAC key) from
/// the BMPString `password` and `salt`. `v` is the hash's block size in bytes.
fn pkcs12_kdf<D: Digest>(
    v: usize,
    id: u8,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let u = <D as Digest>::output_size();
    let diversifier = vec![id; v];
    // I = S || P, each repeated to a multiple of v bytes (empty stays empty).
    let stretch = |src: &[u8], out: &mut Vec<u8>| {
        if !src.is_empty() {
            out.extend(src.iter().cycle().take(v * src.len().div_ceil(v)));
        }
    };
    let mut input = Zeroizing::new(Vec::new());
    stretch(salt, &mut input);
    stretch(password, &mut input);

    let mut out = Zeroizing::new(Vec::with_capacity(len + u));
    let mut b = Zeroizing::new(vec![0u8; v]);
    while out.len() < len {
        let mut hasher = D::new();
        hasher.update(&diversifier);
        hasher.update(input.as_slice());
        let mut a = Zeroizing::new(hasher.finalize().to_vec());
        for _ in 1..iterations {
            let next = D::digest(a.as_slice());
            a.copy_from_slice(&next);
        }
        out.extend_from_slice(&a);
        if out.len() >= len {
            break;
        }
        // B = A repeated to v bytes; each v-byte block I_j of I becomes I_j + B + 1.
        for (dst, src) in b.iter_mut().zip(a.iter().cycle()) {
            *dst = *src;
        }
        for block in input.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum.to_be_bytes()[1];
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

/// Check `macData` over the authenticated safe's content; returns the index of the
/// BMPString password candidate that fits.
fn verify_mac(
    mac_data: &Tlv<'_>,
    content: &[u8],
    candidates: &[Zeroizing<Vec<u8>>],
) -> Result<usize, SignerError> {
    // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
    mac_data.expect_universal(SEQUENCE, true, "macData")?;
    let fields = mac_data.children()?;
    let (digest_info, salt, iterations) = match fields.as_slice() {
        [d, s] => (d, s, 1),
        [d, s, i] => (d, s, i.uint("MAC iteration count")?),
        _ => {
            return Err(err(
                "macData: expected mac, macSalt and optional iterations",
            ));
        }
    };
    check_iterations(iterations, "MAC")?;
    salt.expect_universal(OCTET_STRING, false, "MAC salt")?;
    let salt = salt.octets("MAC salt")?;

    // DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
    digest_info.expect_universal(SEQUENCE, true, "MAC DigestInfo")?;
    let (algorithm, digest) = match digest_info.children()?.as_slice() {
        [a, d] => (*a, *d),
        _ => return Err(err("MAC DigestInfo: expected algorithm and digest")),
    };
    let (oid, params) = algorithm_identifier(&algorithm, "MAC algorithm")?;
    if oid == PBMAC1 {
        return Err(err("the PBMAC1 MAC (RFC 9579) is not supported"));
    }
    let hash = Hash::from_oid(oid)
        .ok_or_else(|| err(format!("unsupported MAC digest algorithm {oid}")))?;
    if let Some(params) = params {
        params.expect_null("MAC algorithm parameters")?;
    }
    digest.expect_universal(OCTET_STRING, false, "MAC value")?;
    let tag = digest.octets("MAC value")?;
    if tag.len() != hash.output_len() {
        return Err(err(format!(
            "the MAC is {} bytes long, {:?} gives {}",
            tag.len(),
            hash,
            hash.output_len()
        )));
    }
    for (index, password) in candidates.iter().enumerate() {
        let key = hash.kdf(3, password, &salt, iterations, hash.output_len());
        if hash.hmac_verify(&key, content, &tag) {
            return Ok(index);
        }
    }
    Err(SignerError::Decryption)
}

fn check_iterations(iterations: u64, what: &str) -> Result<(), SignerError> {
    if iterations == 0 {
        return Err(err(format!("{what}: iteration count 0")));
    }
    if iterations > MAX_ITERATIONS {
        return Err(err(format!(
            "{what}: {iterations} iterations, more than the {MAX_ITERATIONS} accepted"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Decryption

/// EncryptedData ::= SEQUENCE { version, EncryptedContentInfo, [1] unprotectedAttrs OPTIONAL }
fn decrypt_encrypted_data(
    content: &Tlv<'_>,
    passwords: &Passwords,
) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    content.expect_universal(SEQUENCE, true, "EncryptedData")?;
    let fields = content.children()?;
    let (version, eci) = match fields.as_slice() {
        [v, e] | [v, e, _] => (v, e),
        _ => {
            return Err(err(
                "EncryptedData: expected version and encryptedContentInfo",
            ));
        }
    };
    if let Some(attrs) = fields.get(2) {
        attrs.expect(CONTEXT, 1, true, "EncryptedData unprotectedAttrs")?;
    }
    let version = version.uint("EncryptedData version")?;
    if version != 0 && version != 2 {
        return Err(err(format!("EncryptedData version {version}")));
    }
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
    //                                     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
    eci.expect_universal(SEQUENCE, true, "EncryptedContentInfo")?;
    let (content_type, algorithm, encrypted) = match eci.children()?.as_slice() {
        [t, a, e] => (*t, *a, *e),
        [_, _] => return Err(err("EncryptedContentInfo without encrypted content")),
        _ => {
            return Err(err(
                "EncryptedContentInfo: expected type, algorithm and content",
            ));
        }
    };
    let content_type = content_type.oid("EncryptedContentInfo content type")?;
    if content_type != ID_DATA {
        return Err(err(format!(
            "encrypted content type {content_type} is not data"
        )));
    }
    if encrypted.class != CONTEXT || encrypted.number != 0 {
        return Err(err("EncryptedContentInfo: encrypted content is not [0]"));
    }
    let ciphertext = encrypted.octets("encrypted content")?;
    decrypt(&algorithm, &ciphertext, passwords)
}

/// The legacy PKCS#12 PBE ciphers (RFC 7292 App. C).
#[derive(Clone, Copy)]
enum LegacyCipher {
    TdesEde3,
    TdesEde2,
    Rc2 { key_len: usize },
}

/// Decrypt `ciphertext` under the password-based `algorithm` (an AlgorithmIdentifier).
fn decrypt(
    algorithm: &Tlv<'_>,
    ciphertext: &[u8],
    passwords: &Passwords,
) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    let (oid, params) = algorithm_identifier(algorithm, "encryption algorithm")?;
    let cipher = match oid {
        PBE_SHA1_3DES => LegacyCipher::TdesEde3,
        PBE_SHA1_2DES => LegacyCipher::TdesEde2,
        PBE_SHA1_RC2_128 => LegacyCipher::Rc2 { key_len: 16 },
        PBE_SHA1_RC2_40 => LegacyCipher::Rc2 { key_len: 5 },
        PBES2 => {
            let params = params.ok_or_else(|| err("PBES2 without parameters"))?;
            return decrypt_pbes2(&params, ciphertext, &passwords.utf8);
        }
        PBE_SHA1_RC4_128 | PBE_SHA1_RC4_40 => {
            return Err(err(
                "RC4 encryption (pbeWithSHAAnd*BitRC4) is not supported",
            ));
        }
        other => {
            return Err(err(format!("unsupported encryption algorithm {other}")));
        }
    };
    // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
    let params = params.ok_or_else(|| err("PKCS#12 PBE without parameters"))?;
    params.expect_universal(SEQUENCE, true, "PKCS#12 PBE parameters")?;
    let (salt, iterations) = match params.children()?.as_slice() {
        [s, i] => (*s, *i),
        _ => return Err(err("PKCS#12 PBE parameters: expected salt and iterations")),
    };
    salt.expect_universal(OCTET_STRING, false, "PBE salt")?;
    let salt = salt.octets("PBE salt")?;
    let iterations = iterations.uint("PBE iteration count")?;
    check_iterations(iterations, "PKCS#12 PBE")?;

    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(8) {
        return Err(err(format!(
            "encrypted data of {} bytes is not a whole number of 8-byte blocks",
            ciphertext.len()
        )));
    }
    for password in &passwords.bmp {
        let iv = Hash::Sha1.kdf(2, password, &salt, iterations, 8);
        let result = match cipher {
            LegacyCipher::TdesEde3 => {
                let key = Hash::Sha1.kdf(1, password, &salt, iterations, 24);
                des::TdesEde3::new_from_slice(&key)
                    .map_err(|_| err("3DES key length"))
                    .and_then(|c| cbc_decrypt(c, &iv, ciphertext))
            }
            LegacyCipher::TdesEde2 => {
                let key = Hash::Sha1.kdf(1, password, &salt, iterations, 16);
                des::TdesEde2::new_from_slice(&key)
                    .map_err(|_| err("3DES key length"))
                    .and_then(|c| cbc_decrypt(c, &iv, ciphertext))
            }
            LegacyCipher::Rc2 { key_len } => {
                let key = Hash::Sha1.kdf(1, password, &salt, iterations, key_len);
                let c = rc2::Rc2::new_with_eff_key_len(&key, key_len * 8);
                cbc_decrypt(c, &iv, ciphertext)
            }
        };
        match result {
            Ok(plain) => return Ok(plain),
            Err(SignerError::Decryption) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(SignerError::Decryption)
}

fn cbc_decrypt<C: BlockCipherDecrypt>(
    cipher: C,
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    let mode =
        cbc::Decryptor::<C>::inner_iv_slice_init(cipher, iv).map_err(|_| err("wrong IV length"))?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = mode
        .decrypt_padded::<Pkcs7>(&mut buf)
        .map_err(|_| SignerError::Decryption)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn decrypt_pbes2(
    params: &Tlv<'_>,
    ciphertext: &[u8],
    password: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    use pkcs8::pkcs5::pbes2::{self, Kdf};
    let params_der = params.to_der()?;
    let params = pbes2::Parameters::from_der(&params_der)
        .map_err(|e| err(format!("PBES2 parameters: {e}")))?;
    match &params.kdf {
        Kdf::Pbkdf2(p) => check_iterations(u64::from(p.iteration_count), "PBKDF2")?,
        Kdf::Scrypt(p) => {
            let n = p.cost_parameter;
            let r = u64::from(p.block_size);
            let work = n
                .saturating_mul(r)
                .saturating_mul(u64::from(p.parallelization));
            let memory = n.saturating_mul(r).saturating_mul(128);
            if memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK {
                return Err(err(format!(
                    "scrypt cost N={n}, r={r}, p={} is over the accepted limit",
                    p.parallelization
                )));
            }
        }
        _ => return Err(err("unsupported PBES2 key derivation function")),
    }
    if ciphertext.is_empty() {
        return Err(err("empty encrypted data"));
    }
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = params
        .decrypt_in_place(password, &mut buf)
        .map_err(|e| match e {
            pkcs8::pkcs5::Error::DecryptFailed => SignerError::Decryption,
            other => err(format!("PBES2: {other}")),
        })?
        .len();
    buf.truncate(len);
    Ok(buf)
}

// ---------------------------------------------------------------------------------
// Bags

struct KeyEntry {
    pkcs8: Zeroizing<Vec<u8>>,
    local_key_id: Option<Vec<u8>>,
    friendly_name: Option<String>,
}

struct CertEntry {
    der: Vec<u8>,
    local_key_id: Option<Vec<u8>>,
}

#[derive(Default)]
struct Bags {
    count: usize,
    key: Option<KeyEntry>,
    certs: Vec<CertEntry>,
}

/// SafeContents ::= SEQUENCE OF SafeBag
fn read_safe_contents(
    safe_contents: &Tlv<'_>,
    passwords: &Passwords,
    bags: &mut Bags,
    nesting: usize,
) -> Result<(), SignerError> {
    if nesting > MAX_SAFE_CONTENTS_NESTING {
        return Err(err("safe contents nested too deeply"));
    }
    safe_contents.expect_universal(SEQUENCE, true, "SafeContents")?;
    for bag in safe_contents.children()? {
        bags.count += 1;
        if bags.count > MAX_BAGS {
            return Err(err(format!("more than {MAX_BAGS} bags in the file")));
        }
        // SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OPTIONAL }
        bag.expect_universal(SEQUENCE, true, "SafeBag")?;
        let fields = bag.children()?;
        let (bag_id, value, attributes) = match fields.as_slice() {
            [i, v] => (i, v, None),
            [i, v, a] => (i, v, Some(a)),
            _ => {
                return Err(err(
                    "SafeBag: expected bagId, bagValue and optional attributes",
                ));
            }
        };
        let bag_id = bag_id.oid("bagId")?;
        let value = explicit(value, "bagValue")?;
        let (local_key_id, friendly_name) = match attributes {
            Some(a) => bag_attributes(a)?,
            None => (None, None),
        };
        match bag_id {
            KEY_BAG | PKCS8_SHROUDED_KEY_BAG => {
                if bags.key.is_some() {
                    // Only the first key is imported; later ones are not decrypted.
                    continue;
                }
                let pkcs8 = if bag_id == KEY_BAG {
                    let der = Zeroizing::new(value.to_der()?);
                    check_private_key_info(&der)
                        .map_err(|e| err(format!("keyBag: not a PKCS#8 private key: {e}")))?;
                    der
                } else {
                    let plain = decrypt_shrouded_key(&value, passwords)?;
                    // Padding that happens to fit a wrong key is caught here.
                    private_key_der(plain).ok_or(SignerError::Decryption)?
                };
                bags.key = Some(KeyEntry {
                    pkcs8,
                    local_key_id,
                    friendly_name,
                });
            }
            CERT_BAG => {
                // CertBag ::= SEQUENCE { certId, certValue [0] EXPLICIT }
                value.expect_universal(SEQUENCE, true, "CertBag")?;
                let (cert_id, cert_value) = match value.children()?.as_slice() {
                    [i, v] => (*i, *v),
                    _ => return Err(err("CertBag: expected certId and certValue")),
                };
                if cert_id.oid("certId")? != X509_CERTIFICATE {
                    continue;
                }
                let cert = explicit(&cert_value, "certValue")?;
                cert.expect_universal(OCTET_STRING, false, "x509Certificate")?;
                let der = cert.octets("x509Certificate")?.into_owned();
                let parsed = Tlv::parse_one(&der, 0, "certificate")?;
                parsed.expect_universal(SEQUENCE, true, "certificate")?;
                bags.certs.push(CertEntry { der, local_key_id });
            }
            SAFE_CONTENTS_BAG => read_safe_contents(&value, passwords, bags, nesting + 1)?,
            // crlBag, secretBag and unknown bags carry nothing we import.
            _ => {}
        }
    }
    Ok(())
}

/// EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }
fn decrypt_shrouded_key(
    value: &Tlv<'_>,
    passwords: &Passwords,
) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    value.expect_universal(SEQUENCE, true, "EncryptedPrivateKeyInfo")?;
    let (algorithm, data) = match value.children()?.as_slice() {
        [a, d] => (*a, *d),
        _ => return Err(err("EncryptedPrivateKeyInfo: expected algorithm and data")),
    };
    data.expect_universal(OCTET_STRING, false, "encrypted key")?;
    let ciphertext = data.octets("encrypted key")?;
    decrypt(&algorithm, &ciphertext, passwords)
}

/// A decrypted PKCS#8 key as DER (re-encoded if the exporter wrote BER), or `None` if
/// it is not a PrivateKeyInfo.
fn private_key_der(plain: Zeroizing<Vec<u8>>) -> Option<Zeroizing<Vec<u8>>> {
    if check_private_key_info(&plain).is_ok() {
        return Some(plain);
    }
    let der = Zeroizing::new(Tlv::parse_one(&plain, 0, "").ok()?.to_der().ok()?);
    check_private_key_info(&der).ok()?;
    Some(der)
}

fn check_private_key_info(der: &[u8]) -> Result<(), der::Error> {
    pkcs8::PrivateKeyInfoRef::from_der(der).map(|_| ())
}

/// PKCS12Attribute ::= SEQUENCE { attrId, attrValues SET OF }; returns localKeyId and
/// friendlyName.
type BagAttributes = (Option<Vec<u8>>, Option<String>);

fn bag_attributes(attributes: &Tlv<'_>) -> Result<BagAttributes, SignerError> {
    attributes.expect_universal(SET, true, "bagAttributes")?;
    let mut local_key_id = None;
    let mut friendly_name = None;
    for attribute in attributes.children()? {
        attribute.expect_universal(SEQUENCE, true, "bag attribute")?;
        let (id, values) = match attribute.children()?.as_slice() {
            [i, v] => (*i, *v),
            _ => return Err(err("bag attribute: expected type and values")),
        };
        let id = id.oid("bag attribute type")?;
        values.expect_universal(SET, true, "bag attribute values")?;
        let values = values.children()?;
        let Some(first) = values.first() else {
            continue;
        };
        if id == LOCAL_KEY_ID {
            first.expect_universal(OCTET_STRING, false, "localKeyId")?;
            local_key_id = Some(first.octets("localKeyId")?.into_owned());
        } else if id == FRIENDLY_NAME {
            first.expect_universal(BMP_STRING, false, "friendlyName")?;
            let bytes = first.octets("friendlyName")?;
            if bytes.len() % 2 != 0 {
                return Err(err("friendlyName: odd BMPString length"));
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            friendly_name = Some(String::from_utf16_lossy(&units));
        }
    }
    Ok((local_key_id, friendly_name))
}

// ---------------------------------------------------------------------------------
// Matching the key to its certificate by public key

enum KeyPublic {
    /// The SPKI algorithm OID and subject public key bits.
    Spki(ObjectIdentifier, Vec<u8>),
    /// Modulus and public exponent of an RSA key `SoftKey` does not take.
    Rsa(Vec<u8>, Vec<u8>),
}

impl KeyPublic {
    fn of(pkcs8_der: &[u8]) -> Option<Self> {
        if let Ok(key) = SoftKey::from_pkcs8_der(pkcs8_der, None) {
            let spki = key.public_key();
            return Some(Self::Spki(
                spki.algorithm.oid,
                spki.subject_public_key.raw_bytes().to_vec(),
            ));
        }
        let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der).ok()?;
        if info.algorithm.oid != RSA_ENCRYPTION {
            return None;
        }
        let rsa = pkcs1::RsaPrivateKeyRef::from_der(info.private_key.as_bytes()).ok()?;
        Some(Self::Rsa(
            rsa.modulus.as_bytes().to_vec(),
            rsa.public_exponent.as_bytes().to_vec(),
        ))
    }

    fn matches(&self, cert_der: &[u8]) -> bool {
        let Some(spki_der) = certificate_spki(cert_der) else {
            return false;
        };
        let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(&spki_der) else {
            return false;
        };
        match self {
            Self::Spki(oid, bits) => {
                spki.algorithm.oid == *oid && spki.subject_public_key.raw_bytes() == bits.as_slice()
            }
            Self::Rsa(n, e) => {
                spki.algorithm.oid == RSA_ENCRYPTION
                    && pkcs1::RsaPublicKeyRef::from_der(spki.subject_public_key.raw_bytes())
                        .is_ok_and(|k| {
                            k.modulus.as_bytes() == n.as_slice()
                                && k.public_exponent.as_bytes() == e.as_slice()
                        })
            }
        }
    }
}

/// The DER of a certificate's SubjectPublicKeyInfo, found without a full X.509 parse.
fn certificate_spki(cert_der: &[u8]) -> Option<Vec<u8>> {
    let cert = Tlv::parse_one(cert_der, 0, "certificate").ok()?;
    let tbs = *cert.children().ok()?.first()?;
    let fields = tbs.children().ok()?;
    // [0] version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    let skip = usize::from(fields.first()?.is(CONTEXT, 0));
    fields.get(skip + 5)?.to_der().ok()
}

// ---------------------------------------------------------------------------------
// A small BER reader: PKCS#12 files from Windows, Java and NSS use indefinite lengths
// and constructed OCTET STRINGs, which DER parsers refuse.

const UNIVERSAL: u8 = 0;
const CONTEXT: u8 = 2;

const INTEGER: u32 = 2;
const OCTET_STRING: u32 = 4;
const NULL: u32 = 5;
const OBJECT_IDENTIFIER: u32 = 6;
const SEQUENCE: u32 = 16;
const SET: u32 = 17;
const BMP_STRING: u32 = 30;

/// One BER element.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    /// Tag class: 0 universal, 1 application, 2 context-specific, 3 private.
    class: u8,
    constructed: bool,
    number: u32,
    /// The contents octets (for an indefinite length, without the end-of-contents).
    body: &'a [u8],
    depth: usize,
}

impl<'a> Tlv<'a> {
    /// Parse exactly one element filling `input`.
    fn parse_one(input: &'a [u8], depth: usize, what: &str) -> Result<Self, SignerError> {
        let (tlv, rest) = Self::read(input, depth).map_err(|e| err(format!("{what}: {e}")))?;
        if !rest.is_empty() {
            return Err(err(format!(
                "{what}: {} bytes of trailing data",
                rest.len()
            )));
        }
        Ok(tlv)
    }

    /// Read one element from the front of `input`; returns it and the rest.
    fn read(input: &'a [u8], depth: usize) -> Result<(Self, &'a [u8]), String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        let mut pos = 0usize;
        let next = |pos: &mut usize| -> Result<u8, String> {
            let b = *input.get(*pos).ok_or("truncated")?;
            *pos += 1;
            Ok(b)
        };
        let first = next(&mut pos)?;
        let class = first >> 6;
        let constructed = first & 0x20 != 0;
        let mut number = u32::from(first & 0x1f);
        if number == 0x1f {
            number = 0;
            loop {
                let b = next(&mut pos)?;
                if number > (u32::MAX >> 7) {
                    return Err("tag number too large".into());
                }
                number = (number << 7) | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let length_byte = next(&mut pos)?;
        if length_byte == 0x80 {
            // Indefinite length: the contents run to the end-of-contents octets.
            if !constructed {
                return Err("indefinite length on a primitive element".into());
            }
            let start = pos;
            let mut rest = input.get(start..).ok_or("truncated")?;
            loop {
                if rest.starts_with(&[0, 0]) {
                    let end = input.len() - rest.len();
                    let body = input.get(start..end).ok_or("truncated")?;
                    let after = rest.get(2..).ok_or("truncated")?;
                    return Ok((
                        Self {
                            class,
                            constructed,
                            number,
                            body,
                            depth,
                        },
                        after,
                    ));
                }
                if rest.is_empty() {
                    return Err("truncated: missing end-of-contents".into());
                }
                let (_, after) = Self::read(rest, depth + 1)?;
                rest = after;
            }
        }
        let len = if length_byte < 0x80 {
            usize::from(length_byte)
        } else {
            let count = usize::from(length_byte & 0x7f);
            if count > 4 {
                return Err("length too large".into());
            }
            let mut len = 0usize;
            for _ in 0..count {
                len = (len << 8) | usize::from(next(&mut pos)?);
            }
            len
        };
        let end = pos.checked_add(len).ok_or("length too large")?;
        let body = input.get(pos..end).ok_or_else(|| {
            format!(
                "truncated: {len} bytes announced, {} left",
                input.len() - pos
            )
        })?;
        let rest = input.get(end..).ok_or("truncated")?;
        Ok((
            Self {
                class,
                constructed,
                number,
                body,
                depth,
            },
            rest,
        ))
    }

    fn is(&self, class: u8, number: u32) -> bool {
        self.class == class && self.number == number
    }

    fn expect(
        &self,
        class: u8,
        number: u32,
        constructed: bool,
        what: &str,
    ) -> Result<(), SignerError> {
        if !self.is(class, number) || self.constructed != constructed {
            return Err(err(format!("{what}: unexpected ASN.1 tag")));
        }
        Ok(())
    }

    /// Expect a universal tag. Strings may also come constructed (BER).
    fn expect_universal(
        &self,
        number: u32,
        constructed: bool,
        what: &str,
    ) -> Result<(), SignerError> {
        let string = matches!(number, OCTET_STRING | BMP_STRING);
        if !self.is(UNIVERSAL, number) || (self.constructed != constructed && !string) {
            return Err(err(format!("{what}: unexpected ASN.1 tag")));
        }
        Ok(())
    }

    /// The elements inside a constructed element.
    fn children(&self) -> Result<Vec<Tlv<'a>>, SignerError> {
        if !self.constructed {
            return Err(err("expected a constructed ASN.1 element"));
        }
        let mut out = Vec::new();
        let mut rest = self.body;
        while !rest.is_empty() {
            let (child, after) =
                Self::read(rest, self.depth + 1).map_err(|e| err(format!("ASN.1: {e}")))?;
            out.push(child);
            rest = after;
        }
        Ok(out)
    }

    /// The value of an OCTET STRING (or string type, or implicitly tagged one),
    /// reassembling constructed BER segments.
    fn octets(&self, what: &str) -> Result<Cow<'a, [u8]>, SignerError> {
        if !self.constructed {
            return Ok(Cow::Borrowed(self.body));
        }
        let mut out = Vec::new();
        self.append_segments(&mut out, what)?;
        Ok(Cow::Owned(out))
    }

    fn append_segments(&self, out: &mut Vec<u8>, what: &str) -> Result<(), SignerError> {
        for segment in self.children()? {
            if !segment.is(UNIVERSAL, OCTET_STRING) {
                return Err(err(format!("{what}: bad constructed string segment")));
            }
            if segment.constructed {
                segment.append_segments(out, what)?;
            } else {
                out.extend_from_slice(segment.body);
            }
        }
        Ok(())
    }

    fn oid(&self, what: &str) -> Result<ObjectIdentifier, SignerError> {
        self.expect(UNIVERSAL, OBJECT_IDENTIFIER, false, what)?;
        ObjectIdentifier::from_bytes(self.body).map_err(|e| err(format!("{what}: {e}")))
    }

    /// A non-negative INTEGER that fits in 64 bits.
    fn uint(&self, what: &str) -> Result<u64, SignerError> {
        self.expect(UNIVERSAL, INTEGER, false, what)?;
        let bytes = self.body;
        match bytes.first() {
            None => return Err(err(format!("{what}: empty INTEGER"))),
            Some(b) if b & 0x80 != 0 => return Err(err(format!("{what}: negative"))),
            _ => {}
        }
        let significant = match bytes.iter().position(|&b| b != 0) {
            Some(i) => &bytes[i..],
            None => &[][..],
        };
        if significant.len() > 8 {
            return Err(err(format!("{what}: too large")));
        }
        Ok(significant
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn expect_null(&self, what: &str) -> Result<(), SignerError> {
        self.expect(UNIVERSAL, NULL, false, what)?;
        if !self.body.is_empty() {
            return Err(err(format!("{what}: NULL with contents")));
        }
        Ok(())
    }

    /// Re-encode as DER lengths (BER strings are reassembled), for DER-only parsers.
    fn to_der(self) -> Result<Vec<u8>, SignerError> {
        let mut out = Vec::with_capacity(self.body.len() + 8);
        self.write_der(&mut out)?;
        Ok(out)
    }

    fn write_der(&self, out: &mut Vec<u8>) -> Result<(), SignerError> {
        let string = self.class == UNIVERSAL
            && matches!(self.number, OCTET_STRING | 12 | 18..=22 | 25..=28 | BMP_STRING);
        if self.constructed && self.class == UNIVERSAL && self.number == 3 {
            return Err(err("constructed BIT STRING is not supported"));
        }
        if self.constructed && string {
            let content = self.octets("string")?;
            write_header(out, self.class, false, self.number, content.len());
            out.extend_from_slice(&content);
        } else if self.constructed {
            let mut content = Zeroizing::new(Vec::with_capacity(self.body.len()));
            for child in self.children()? {
                child.write_der(&mut content)?;
            }
            write_header(out, self.class, true, self.number, content.len());
            out.extend_from_slice(&content);
        } else {
            write_header(out, self.class, false, self.number, self.body.len());
            out.extend_from_slice(self.body);
        }
        Ok(())
    }
}

fn write_header(out: &mut Vec<u8>, class: u8, constructed: bool, number: u32, len: usize) {
    let first = (class << 6) | if constructed { 0x20 } else { 0 };
    if number < 0x1f {
        out.push(first | number.to_be_bytes()[3]);
    } else {
        out.push(first | 0x1f);
        let mut groups = Vec::new();
        let mut n = number;
        loop {
            groups.push(n.to_be_bytes()[3] & 0x7f);
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        let last = groups.len() - 1;
        for (i, g) in groups.iter().rev().enumerate() {
            out.push(if i == last { *g } else { *g | 0x80 });
        }
    }
    if len < 0x80 {
        out.push(len.to_be_bytes()[std::mem::size_of::<usize>() - 1]);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len().to_be_bytes()[std::mem::size_of::<usize>() - 1]);
        out.extend_from_slice(significant);
    }
}

/// ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
fn content_info<'a>(
    info: &Tlv<'a>,
    what: &str,
) -> Result<(ObjectIdentifier, Tlv<'a>), SignerError> {
    info.expect_universal(SEQUENCE, true, what)?;
    match info.children()?.as_slice() {
        [t, c] => Ok((t.oid(what)?, explicit(c, what)?)),
        [_] => Err(err(format!("{what}: ContentInfo without content"))),
        _ => Err(err(format!("{what}: malformed ContentInfo"))),
    }
}

/// The single element inside a `[0] EXPLICIT` wrapper.
fn explicit<'a>(wrapper: &Tlv<'a>, what: &str) -> Result<Tlv<'a>, SignerError> {
    wrapper.expect(CONTEXT, 0, true, what)?;
    match wrapper.children()?.as_slice() {
        [inner] => Ok(*inner),
        _ => Err(err(format!("{what}: [0] must hold exactly one element"))),
    }
}

/// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
fn algorithm_identifier<'a>(
    algorithm: &Tlv<'a>,
    what: &str,
) -> Result<(ObjectIdentifier, Option<Tlv<'a>>), SignerError> {
    algorithm.expect_universal(SEQUENCE, true, what)?;
    match algorithm.children()?.as_slice() {
        [oid] => Ok((oid.oid(what)?, None)),
        [oid, params] => Ok((oid.oid(what)?, Some(*params))),
        _ => Err(err(format!("{what}: malformed AlgorithmIdentifier"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use der::Encode;
    use std::path::Path;
    use std::process::Command;

    /// Run openssl in `dir`; the tests fail (not skip) when it is missing.
    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the PKCS#12 tests need the `openssl` command line tool");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn read(dir: &Path, name: &str) -> Vec<u8> {
        std::fs::read(dir.join(name)).unwrap()
    }

    /// The DER of a PEM certificate in `dir`.
    fn cert_der(dir: &Path, pem: &str) -> Vec<u8> {
        let der = format!("{pem}.der");
        openssl(dir, &["x509", "-in", pem, "-outform", "DER", "-out", &der]);
        read(dir, &der)
    }

    /// A self-signed certificate `name.pem` with key `name.key`.
    fn self_signed(dir: &Path, name: &str, newkey: &[&str]) {
        let key = format!("{name}.key");
        let cert = format!("{name}.pem");
        let subj = format!("/CN={name}");
        let mut args = vec!["req", "-x509"];
        args.extend_from_slice(newkey);
        args.extend_from_slice(&[
            "-keyout", &key, "-out", &cert, "-days", "2", "-nodes", "-subj", &subj,
        ]);
        openssl(dir, &args);
    }

    const P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    const RSA2048: &[&str] = &["-newkey", "rsa:2048"];

    /// Export `name.key` + `name.pem` to `out` with extra `pkcs12 -export` options.
    fn export(dir: &Path, name: &str, out: &str, extra: &[&str]) -> Vec<u8> {
        let key = format!("{name}.key");
        let cert = format!("{name}.pem");
        let mut args = vec![
            "pkcs12", "-export", "-inkey", &key, "-in", &cert, "-out", out,
        ];
        args.extend_from_slice(extra);
        openssl(dir, &args);
        read(dir, out)
    }

    /// The key parses, and its public key is the certificate's.
    fn assert_key_matches(contents: &Pkcs12Contents, cert: &[u8]) {
        let key = SoftKey::from_pkcs8_der(&contents.private_key, None).unwrap();
        let cert = x509_cert::Certificate::from_der(cert).unwrap();
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        assert_eq!(key.public_key().to_der().unwrap(), spki);
    }

    fn assert_wrong_password(p12: &[u8], password: &[u8]) {
        assert!(matches!(parse(p12, password), Err(SignerError::Decryption)));
    }

    #[test]
    fn openssl3_default_pbes2_p256() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        let cert = cert_der(d, "leaf.pem");
        let p12 = export(
            d,
            "leaf",
            "a.p12",
            &["-passout", "pass:mật khẩu", "-name", "Chữ ký số"],
        );
        let contents = parse(&p12, "mật khẩu".as_bytes()).unwrap();
        assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));
        assert!(contents.other_certificates.is_empty());
        assert_key_matches(&contents, &cert);
        assert_eq!(contents.friendly_name.as_deref(), Some("Chữ ký số"));
        assert_wrong_password(&p12, b"mat khau");
        assert_wrong_password(&p12, b"");
    }

    #[test]
    fn openssl_legacy_3des_rc2_40() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        let cert = cert_der(d, "leaf.pem");
        let p12 = export(
            d,
            "leaf",
            "l.p12",
            &[
                "-legacy",
                "-passout",
                "pass:secret",
                "-name",
                "Nguyen Van A",
            ],
        );
        let contents = parse(&p12, b"secret").unwrap();
        assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));
        assert_eq!(contents.friendly_name.as_deref(), Some("Nguyen Van A"));
        assert_key_matches(&contents, &cert);
        assert_wrong_password(&p12, b"Secret");
    }

    #[test]
    fn openssl_legacy_2des_rc2_128() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        let cert = cert_der(d, "leaf.pem");
        let p12 = export(
            d,
            "leaf",
            "l.p12",
            &[
                "-legacy",
                "-keypbe",
                "PBE-SHA1-2DES",
                "-certpbe",
                "PBE-SHA1-RC2-128",
                "-passout",
                "pass:secret",
            ],
        );
        let contents = parse(&p12, b"secret").unwrap();
        assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));
        assert_key_matches(&contents, &cert);
    }

    #[test]
    fn rsa_2048_with_various_macs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "rsa", RSA2048);
        let cert = cert_der(d, "rsa.pem");
        let variants: &[&[&str]] = &[
            &[],
            &[
                "-keypbe",
                "PBE-SHA1-3DES",
                "-certpbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha512",
            ],
            &[
                "-keypbe",
                "AES-128-CBC",
                "-certpbe",
                "NONE",
                "-macalg",
                "sha384",
            ],
            &[
                "-keypbe",
                "AES-192-CBC",
                "-certpbe",
                "AES-256-CBC",
                "-macalg",
                "sha1",
            ],
            &["-keypbe", "NONE", "-certpbe", "NONE", "-macalg", "sha224"],
        ];
        for (i, extra) in variants.iter().enumerate() {
            let out = format!("rsa{i}.p12");
            let mut args = vec!["-passout", "pass:Abc123!"];
            args.extend_from_slice(extra);
            let p12 = export(d, "rsa", &out, &args);
            let contents = parse(&p12, b"Abc123!").unwrap_or_else(|e| panic!("{extra:?}: {e}"));
            assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));
            assert_key_matches(&contents, &cert);
            assert_wrong_password(&p12, b"abc123!");
        }
    }

    #[test]
    fn ca_chain_from_certfile() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "ca", P256);
        openssl(
            d,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-nodes",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=leaf",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "leaf.pem",
            ],
        );
        let leaf = cert_der(d, "leaf.pem");
        let ca = cert_der(d, "ca.pem");
        let p12 = export(
            d,
            "leaf",
            "chain.p12",
            &["-certfile", "ca.pem", "-passout", "pass:x"],
        );
        let contents = parse(&p12, b"x").unwrap();
        assert_eq!(contents.certificate.as_deref(), Some(leaf.as_slice()));
        assert_eq!(contents.other_certificates, vec![ca.clone()]);
        assert_key_matches(&contents, &leaf);

        // The fallback used when there is no localKeyId: matching by public key.
        let public = KeyPublic::of(&contents.private_key).unwrap();
        assert!(matches!(public, KeyPublic::Spki(..)));
        assert!(public.matches(&leaf));
        assert!(!public.matches(&ca));
    }

    /// An RSA key `SoftKey` refuses (1024 bits) is still imported and matched.
    #[test]
    fn rsa_1024_is_imported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "old", &["-newkey", "rsa:1024"]);
        self_signed(d, "other", &["-newkey", "rsa:1024"]);
        let cert = cert_der(d, "old.pem");
        let other = cert_der(d, "other.pem");
        let p12 = export(d, "old", "old.p12", &["-legacy", "-passout", "pass:x"]);
        let contents = parse(&p12, b"x").unwrap();
        assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));
        assert!(SoftKey::from_pkcs8_der(&contents.private_key, None).is_err());
        let public = KeyPublic::of(&contents.private_key).unwrap();
        assert!(matches!(public, KeyPublic::Rsa(..)));
        assert!(public.matches(&cert));
        assert!(!public.matches(&other));
    }

    #[test]
    fn empty_password() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        let cert = cert_der(d, "leaf.pem");
        for (i, extra) in [
            &["-passout", "pass:"][..],
            &["-passout", "pass:", "-legacy"],
        ]
        .iter()
        .enumerate()
        {
            let p12 = export(d, "leaf", &format!("e{i}.p12"), extra);
            let contents = parse(&p12, b"").unwrap_or_else(|e| panic!("{extra:?}: {e}"));
            assert_key_matches(&contents, &cert);
            assert_wrong_password(&p12, b"x");
        }
    }

    #[test]
    fn no_mac_and_ber_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        let cert = cert_der(d, "leaf.pem");
        openssl(
            d,
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", "leaf.key", "-outform", "DER", "-out",
                "k.der",
            ],
        );
        let key = read(d, "k.der");
        let p12 = export(
            d,
            "leaf",
            "n.p12",
            &[
                "-nomac", "-keypbe", "NONE", "-certpbe", "NONE", "-passout", "pass:x",
            ],
        );
        let contents = parse(&p12, b"x").unwrap();
        assert_eq!(contents.private_key.as_slice(), key.as_slice());
        assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));

        // The same file in BER: indefinite lengths, strings in 7-byte segments, nested
        // encodings inside OCTET STRINGs too (except the certificate, kept DER).
        let ber = to_ber(&p12);
        assert_ne!(ber, p12);
        let contents = parse(&ber, b"x").unwrap();
        assert_eq!(contents.private_key.as_slice(), key.as_slice());
        assert_eq!(contents.certificate.as_deref(), Some(cert.as_slice()));

        // Encrypted, without a MAC: a wrong password still fails.
        let p12 = export(d, "leaf", "m.p12", &["-nomac", "-passout", "pass:x"]);
        assert_key_matches(&parse(&p12, b"x").unwrap(), &cert);
        assert_wrong_password(&p12, b"y");
        let p12 = export(
            d,
            "leaf",
            "m2.p12",
            &["-nomac", "-legacy", "-passout", "pass:x"],
        );
        assert_key_matches(&parse(&p12, b"x").unwrap(), &cert);
    }

    /// Re-encode DER as BER for the test above.
    fn to_ber(der: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = der;
        while !rest.is_empty() {
            let (tlv, after) = Tlv::read(rest, 0).unwrap();
            rest = after;
            let first = (tlv.class << 6) | if tlv.constructed { 0x20 } else { 0 };
            assert!(tlv.number < 31);
            let tag = first | u8::try_from(tlv.number).unwrap();
            if tlv.constructed {
                out.extend_from_slice(&[tag, 0x80]);
                out.extend_from_slice(&to_ber(tlv.body));
                out.extend_from_slice(&[0, 0]);
            } else if tlv.is(UNIVERSAL, OCTET_STRING) && tlv.body.len() > 7 {
                // Nested SEQUENCE OF SEQUENCE (AuthenticatedSafe, SafeContents) is
                // BER-ified too; certificates and private keys inside stay DER.
                let nested = Tlv::parse_one(tlv.body, 0, "")
                    .and_then(|t| t.children())
                    .is_ok_and(|c| c.first().is_some_and(|f| f.is(UNIVERSAL, SEQUENCE)))
                    && tlv.body.first() == Some(&0x30)
                    && certificate_spki(tlv.body).is_none();
                let body = if nested {
                    to_ber(tlv.body)
                } else {
                    tlv.body.to_vec()
                };
                out.extend_from_slice(&[tag | 0x20, 0x80]);
                for chunk in body.chunks(7) {
                    out.extend_from_slice(&[0x04, u8::try_from(chunk.len()).unwrap()]);
                    out.extend_from_slice(chunk);
                }
                out.extend_from_slice(&[0, 0]);
            } else {
                write_header(&mut out, tlv.class, false, tlv.number, tlv.body.len());
                out.extend_from_slice(tlv.body);
            }
        }
        out
    }

    #[test]
    fn too_many_bags() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        self_signed(d, "ca", P256);
        let ca = std::fs::read_to_string(d.join("ca.pem")).unwrap();
        std::fs::write(d.join("many.pem"), ca.repeat(MAX_BAGS)).unwrap();
        let p12 = export(
            d,
            "leaf",
            "many.p12",
            &["-certfile", "many.pem", "-passout", "pass:x"],
        );
        let e = parse(&p12, b"x").unwrap_err();
        assert!(
            matches!(e, SignerError::Pkcs12(ref m) if m.contains("bags")),
            "{e}"
        );
    }

    const FLIPS: usize = 300;

    /// Mutated files are refused with an error, never a panic or a wrong result.
    #[test]
    fn truncated_and_bit_flipped_files_fail() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "leaf", P256);
        let files = [
            export(d, "leaf", "a.p12", &["-passout", "pass:pw"]),
            export(d, "leaf", "b.p12", &["-legacy", "-passout", "pass:pw"]),
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % u64::try_from(bound).unwrap()).unwrap()
        };
        for p12 in &files {
            assert!(parse(p12, b"pw").is_ok());
            for len in (0..p12.len()).step_by(7) {
                assert!(parse(&p12[..len], b"pw").is_err(), "truncated to {len}");
            }
            let mut extended = p12.clone();
            extended.push(0);
            assert!(parse(&extended, b"pw").is_err());
            for _ in 0..FLIPS {
                let mut m = p12.clone();
                let pos = random(m.len());
                m[pos] ^= 1 << random(8);
                assert!(parse(&m, b"pw").is_err(), "bit flip at {pos} accepted");
            }
            // Random bytes over a random range.
            for _ in 0..100 {
                let mut m = p12.clone();
                let pos = random(m.len());
                for b in m.iter_mut().skip(pos).take(1 + random(16)) {
                    *b = u8::try_from(random(256)).unwrap();
                }
                let _ = parse(&m, b"pw");
            }
        }

        // Without a MAC, mutations reach the bag, key and cipher parsers: these must
        // not panic (some mutations go unnoticed without a MAC, so no error is asserted).
        let unprotected = [
            export(d, "leaf", "c.p12", &["-nomac", "-passout", "pass:pw"]),
            export(
                d,
                "leaf",
                "d.p12",
                &["-nomac", "-legacy", "-passout", "pass:pw"],
            ),
            export(
                d,
                "leaf",
                "e.p12",
                &[
                    "-nomac", "-keypbe", "NONE", "-certpbe", "NONE", "-passout", "pass:pw",
                ],
            ),
        ];
        for p12 in &unprotected {
            assert!(parse(p12, b"pw").is_ok());
            for len in 0..p12.len() {
                assert!(parse(&p12[..len], b"pw").is_err(), "truncated to {len}");
            }
            for _ in 0..FLIPS {
                let mut m = p12.clone();
                let pos = random(m.len());
                m[pos] ^= 1 << random(8);
                let _ = parse(&m, b"pw");
            }
        }
    }

    #[test]
    fn limits() {
        // Over 1 MiB.
        let big = vec![0x30; MAX_INPUT_LEN + 1];
        assert!(matches!(parse(&big, b""), Err(SignerError::Pkcs12(_))));
        assert!(parse(&[], b"").is_err());

        // Deep nesting, definite and indefinite.
        let mut deep = Vec::new();
        for _ in 0..10_000 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert!(parse(&deep, b"").is_err());

        // A MAC with too many iterations is refused before any work is done.
        let pfx = |iterations: u64| {
            let auth_safe = [0x30u8, 0x00];
            let mut content = vec![0x04, 0x02];
            content.extend_from_slice(&auth_safe);
            let mut ci = Vec::new();
            ci.extend_from_slice(&ObjectIdentifier::to_der(&ID_DATA).unwrap());
            let mut explicit = Vec::new();
            write_header(&mut explicit, CONTEXT, true, 0, content.len());
            explicit.extend_from_slice(&content);
            ci.extend_from_slice(&explicit);
            let mut ci_seq = Vec::new();
            write_header(&mut ci_seq, UNIVERSAL, true, SEQUENCE, ci.len());
            ci_seq.extend_from_slice(&ci);

            let alg = der::asn1::ObjectIdentifier::to_der(&SHA1).unwrap();
            let mut alg_seq = Vec::new();
            write_header(&mut alg_seq, UNIVERSAL, true, SEQUENCE, alg.len() + 2);
            alg_seq.extend_from_slice(&alg);
            alg_seq.extend_from_slice(&[0x05, 0x00]);
            let mut digest_info = alg_seq;
            digest_info.extend_from_slice(&[0x04, 20]);
            digest_info.extend_from_slice(&[0u8; 20]);
            let mut mac = Vec::new();
            write_header(&mut mac, UNIVERSAL, true, SEQUENCE, digest_info.len());
            mac.extend_from_slice(&digest_info);
            mac.extend_from_slice(&[0x04, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
            mac.extend_from_slice(
                &der::asn1::Uint::new(&iterations.to_be_bytes())
                    .unwrap()
                    .to_der()
                    .unwrap(),
            );
            let mut mac_seq = Vec::new();
            write_header(&mut mac_seq, UNIVERSAL, true, SEQUENCE, mac.len());
            mac_seq.extend_from_slice(&mac);

            let mut body = vec![0x02, 0x01, 0x03];
            body.extend_from_slice(&ci_seq);
            body.extend_from_slice(&mac_seq);
            let mut out = Vec::new();
            write_header(&mut out, UNIVERSAL, true, SEQUENCE, body.len());
            out.extend_from_slice(&body);
            out
        };
        let e = parse(&pfx(MAX_ITERATIONS + 1), b"").unwrap_err();
        assert!(
            matches!(e, SignerError::Pkcs12(ref m) if m.contains("iterations")),
            "{e}"
        );
        // Within the limit, the (wrong) MAC is checked.
        assert!(matches!(parse(&pfx(1), b""), Err(SignerError::Decryption)));
    }

    #[test]
    fn bmp_string_and_kdf() {
        assert_eq!(to_bmp_string(b"").as_slice(), &[0, 0]);
        assert_eq!(
            to_bmp_string("Aệ".as_bytes()).as_slice(),
            &[0x00, 0x41, 0x1e, 0xc7, 0, 0]
        );
        // Test vector from Bouncy Castle's PKCS12 KDF tests ("smeg", SHA-1).
        let salt = hex::decode("0A58CF64530D823F").unwrap();
        let key = Hash::Sha1.kdf(1, &to_bmp_string(b"smeg"), &salt, 1, 24);
        assert_eq!(
            hex::encode_upper(key.as_slice()),
            "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let contents = Pkcs12Contents {
            private_key: Zeroizing::new(vec![0xAB; 4]),
            certificate: None,
            other_certificates: vec![],
            friendly_name: Some("name".into()),
        };
        let text = format!("{contents:?}");
        assert!(
            !text.contains("171") && !text.to_lowercase().contains("ab, "),
            "{text}"
        );
        assert!(text.contains("4 bytes"));
    }
}
