//! The standard security handler (ISO 32000-2 §7.6.4): encrypted PDFs, revisions 2–6
//! (RC4 40–128-bit, AES-128 `/AESV2`, AES-256 `/AESV3`; crypt filters `/StdCF` and
//! `/Identity`; `/EncryptMetadata false`).
//!
//! [`open`] authenticates a password (user password first, then owner password) and
//! derives the file key (Algorithms 2, 2.A, 2.B, 6, 7, 11, 12); [`Handler`] then gives
//! each object's key (Algorithm 1: RC4 / AES-128 keys per object, with the `sAlT`
//! suffix for AES; AES-256 uses the file key). What is not encrypted is decided by the
//! caller (`revisions.rs`): the `/Encrypt` dictionary, cross-reference streams,
//! strings inside object streams, a signature dictionary's `/Contents` (§7.6.2).

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use md5::{Digest, Md5};
use rc4::{KeyInit, Rc4, StreamCipher};
use sha2::{Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::pdf::objects::{Dict, ObjRef, Object};

/// The password padding string (Algorithm 2, step a).
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// How strings or streams are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cipher {
    /// Not encrypted (`/Identity`, `/CFM /None`).
    Identity,
    Rc4,
    Aes128,
    Aes256,
}

/// The key of one object's strings or stream.
#[derive(Clone)]
pub(crate) struct ObjectKey {
    cipher: Cipher,
    key: [u8; 32],
    len: usize,
}

impl std::fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectKey({:?})", self.cipher)
    }
}

impl Drop for ObjectKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// Why encrypted data cannot be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CryptError(pub(crate) &'static str);

impl ObjectKey {
    /// Decrypt `data` (AES: a 16-byte IV, then CBC with PKCS#5 padding).
    pub(crate) fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptError> {
        let key = &self.key[..self.len];
        match self.cipher {
            Cipher::Identity => Ok(data.to_vec()),
            Cipher::Rc4 => {
                let mut out = data.to_vec();
                let mut rc4 = Rc4::new_from_slice(key).map_err(|_| CryptError("RC4 key length"))?;
                rc4.apply_keystream(&mut out);
                Ok(out)
            }
            Cipher::Aes128 | Cipher::Aes256 => {
                if data.is_empty() {
                    // Some writers leave empty strings as they are.
                    return Ok(Vec::new());
                }
                let (iv, body) = data.split_at_checked(16).ok_or(CryptError(
                    "AES-encrypted data shorter than its 16-byte initialisation vector",
                ))?;
                if body.is_empty() {
                    return Ok(Vec::new());
                }
                if body.len() % 16 != 0 {
                    return Err(CryptError(
                        "AES-encrypted data is not a whole number of 16-byte blocks",
                    ));
                }
                let mut out = body.to_vec();
                cbc_decrypt(key, iv, &mut out)?;
                let pad = usize::from(out[out.len() - 1]);
                if pad == 0
                    || pad > 16
                    || out[out.len() - pad..]
                        .iter()
                        .any(|b| usize::from(*b) != pad)
                {
                    return Err(CryptError(
                        "AES-encrypted data with invalid padding (wrong key or damaged data)",
                    ));
                }
                out.truncate(out.len() - pad);
                Ok(out)
            }
        }
    }
}

/// AES-CBC decryption in place, no padding (`key` 16 or 32 bytes).
fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), CryptError> {
    let bad = |_| CryptError("AES key or IV length");
    let done = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(bad)?
            .decrypt_padded::<NoPadding>(buf)
            .map(|_| ()),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(bad)?
            .decrypt_padded::<NoPadding>(buf)
            .map(|_| ()),
    };
    done.map_err(|_| CryptError("AES data length"))
}

/// A security handler opened with a password.
pub(crate) struct Handler {
    key: Zeroizing<Vec<u8>>,
    strings: Cipher,
    streams: Cipher,
    embedded: Cipher,
    /// The crypt filters of `/CF` by name (for a stream's own `/Crypt` filter).
    named: Vec<(Vec<u8>, Cipher)>,
    encrypt_metadata: bool,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("strings", &self.strings)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl Handler {
    /// The key of object `id`'s strings; `None` when strings are not encrypted.
    pub(crate) fn string_key(&self, id: ObjRef) -> Option<ObjectKey> {
        self.object_key(id, self.strings)
    }

    /// The key of stream `id` with dictionary `dict`; `None` when its data is not
    /// encrypted (a cross-reference stream, unencrypted metadata, an `/Identity` crypt
    /// filter).
    pub(crate) fn stream_key(&self, id: ObjRef, dict: &Dict) -> Option<ObjectKey> {
        let kind = dict.name(b"Type");
        if kind == Some(b"XRef") {
            return None;
        }
        if kind == Some(b"Metadata") && !self.encrypt_metadata {
            return None;
        }
        let first_filter = match dict.get(b"Filter") {
            Some(Object::Name(n)) => Some(n.as_slice()),
            Some(Object::Array(a)) => match a.first() {
                Some(Object::Name(n)) => Some(n.as_slice()),
                _ => None,
            },
            _ => None,
        };
        if first_filter == Some(b"Crypt") {
            // A stream's own crypt filter (§7.4.10): only /Identity is meaningful with
            // the standard handler's single crypt filter.
            let params = match dict.get(b"DecodeParms") {
                Some(Object::Dict(d)) => Some(d),
                Some(Object::Array(a)) => a.first().and_then(Object::as_dict),
                _ => None,
            };
            let name = params.and_then(|p| p.name(b"Name")).unwrap_or(b"Identity");
            if name == b"Identity" {
                return None;
            }
            if let Some((_, cipher)) = self.named.iter().find(|(n, _)| n.as_slice() == name) {
                return self.object_key(id, *cipher);
            }
        }
        let cipher = if kind == Some(b"EmbeddedFile") {
            self.embedded
        } else {
            self.streams
        };
        self.object_key(id, cipher)
    }

    fn object_key(&self, id: ObjRef, cipher: Cipher) -> Option<ObjectKey> {
        let mut key = [0u8; 32];
        let len = match cipher {
            Cipher::Identity => return None,
            Cipher::Aes256 => {
                let n = self.key.len().min(32);
                key[..n].copy_from_slice(&self.key[..n]);
                n
            }
            Cipher::Rc4 | Cipher::Aes128 => {
                // Algorithm 1.
                let mut h = Md5::new();
                h.update(&self.key[..]);
                h.update(&id.num.to_le_bytes()[..3]);
                h.update(id.generation.to_le_bytes());
                if cipher == Cipher::Aes128 {
                    h.update(b"sAlT");
                }
                let digest = h.finalize();
                let n = (self.key.len() + 5).min(16);
                key[..n].copy_from_slice(&digest[..n]);
                n
            }
        };
        Some(ObjectKey { cipher, key, len })
    }
}

/// What opening the security handler gave.
#[derive(Debug)]
pub(crate) enum Opened {
    Handler(Handler),
    /// The password is neither the user nor the owner password.
    WrongPassword,
    /// A security handler or parameter kyso does not implement.
    Unsupported(String),
}

/// Open the standard security handler of `encrypt` (the `/Encrypt` dictionary) with
/// `password` (empty: the default user password) and the first `/ID` string.
pub(crate) fn open(encrypt: &Dict, id0: &[u8], password: &str) -> Opened {
    match setup(encrypt) {
        Ok(p) => match authenticate(&p, id0, password) {
            Some(key) => Opened::Handler(Handler {
                key,
                strings: p.strings,
                streams: p.streams,
                embedded: p.embedded,
                named: p.named,
                encrypt_metadata: p.encrypt_metadata,
            }),
            None => Opened::WrongPassword,
        },
        Err(e) => Opened::Unsupported(e),
    }
}

/// The parameters of a standard security handler.
struct Params {
    revision: i64,
    /// File key length in bytes (R2–R4).
    length: usize,
    o: Vec<u8>,
    u: Vec<u8>,
    oe: Vec<u8>,
    ue: Vec<u8>,
    p: i32,
    encrypt_metadata: bool,
    strings: Cipher,
    streams: Cipher,
    embedded: Cipher,
    named: Vec<(Vec<u8>, Cipher)>,
}

/// The method of a crypt filter dictionary (ISO 32000-2 Table 25).
fn method(f: &Dict) -> Result<Cipher, String> {
    match f.name(b"CFM") {
        None | Some(b"None") => Ok(Cipher::Identity),
        Some(b"V2") => Ok(Cipher::Rc4),
        Some(b"AESV2") => Ok(Cipher::Aes128),
        Some(b"AESV3") => Ok(Cipher::Aes256),
        Some(other) => Err(format!(
            "the crypt filter method /{}",
            String::from_utf8_lossy(other)
        )),
    }
}

fn string(d: &Dict, key: &[u8]) -> Vec<u8> {
    match d.get(key) {
        Some(Object::String(s)) => s.bytes.clone(),
        _ => Vec::new(),
    }
}

fn setup(e: &Dict) -> Result<Params, String> {
    match e.name(b"Filter") {
        Some(b"Standard") => {}
        Some(other) => {
            return Err(format!(
                "the security handler /{} (only the standard password handler is supported)",
                String::from_utf8_lossy(other)
            ));
        }
        None => return Err("an /Encrypt dictionary without /Filter".into()),
    }
    let v = e.int(b"V").unwrap_or(0);
    let r = e.int(b"R").unwrap_or(0);
    let encrypt_metadata = !matches!(e.get(b"EncryptMetadata"), Some(Object::Bool(false)));
    let bits = e.int(b"Length");
    let mut named = Vec::new();
    let (length, strings, streams, embedded) = match v {
        1 => (5, Cipher::Rc4, Cipher::Rc4, Cipher::Rc4),
        2 => {
            let bits = bits.unwrap_or(40);
            if !(40..=128).contains(&bits) || bits % 8 != 0 {
                return Err(format!("an RC4 key length of {bits} bits"));
            }
            (bits as usize / 8, Cipher::Rc4, Cipher::Rc4, Cipher::Rc4)
        }
        4 | 5 => {
            let cf = e.get(b"CF").and_then(Object::as_dict);
            let filter = |key: &[u8], default: Cipher| -> Result<Cipher, String> {
                let name = match e.get(key) {
                    None => return Ok(default),
                    Some(Object::Name(n)) => n.as_slice(),
                    Some(_) => {
                        return Err(format!("/{} is not a name", String::from_utf8_lossy(key)));
                    }
                };
                if name == b"Identity" {
                    return Ok(Cipher::Identity);
                }
                let f = cf
                    .and_then(|cf| cf.get(name))
                    .and_then(Object::as_dict)
                    .ok_or_else(|| {
                        format!(
                            "the crypt filter /{} is not defined",
                            String::from_utf8_lossy(name)
                        )
                    })?;
                method(f)
            };
            for (name, f) in cf.map(|cf| cf.entries.as_slice()).unwrap_or_default() {
                if let Some(Ok(c)) = f.as_dict().map(method) {
                    named.push((name.clone(), c));
                }
            }
            let streams = filter(b"StmF", Cipher::Identity)?;
            let strings = filter(b"StrF", Cipher::Identity)?;
            let embedded = filter(b"EFF", streams)?;
            let length = match bits {
                Some(b) if (40..=128).contains(&b) && b % 8 == 0 => b as usize / 8,
                // Some writers give the length in bytes.
                Some(b) if (5..=16).contains(&b) => b as usize,
                _ => 16,
            };
            (length, strings, streams, embedded)
        }
        other => return Err(format!("security handler version /V {other}")),
    };
    let ok = match r {
        2 => v == 1,
        3 => matches!(v, 1 | 2),
        4 => matches!(v, 1 | 2 | 4),
        5 | 6 => v == 5,
        _ => false,
    };
    if !ok {
        return Err(format!(
            "standard security handler revision /R {r} with /V {v}"
        ));
    }
    let aes256 = r >= 5;
    for c in [strings, streams, embedded] {
        if (c == Cipher::Aes256) != aes256 && c != Cipher::Identity {
            return Err(format!("the crypt filter {c:?} with revision /R {r}"));
        }
    }
    let (o, u) = (string(e, b"O"), string(e, b"U"));
    let need = if aes256 { 48 } else { 32 };
    if o.len() < need || u.len() < need {
        return Err(format!("/O or /U shorter than {need} bytes"));
    }
    let (oe, ue) = (string(e, b"OE"), string(e, b"UE"));
    if aes256 && (oe.len() < 32 || ue.len() < 32) {
        return Err("/OE or /UE shorter than 32 bytes".into());
    }
    let p = e
        .int(b"P")
        .map(|p| p as u32 as i32) // writers give it signed or unsigned
        .ok_or("an /Encrypt dictionary without /P")?;
    Ok(Params {
        revision: r,
        length: if r == 2 { 5 } else { length },
        o,
        u,
        oe,
        ue,
        p,
        encrypt_metadata,
        strings,
        streams,
        embedded,
        named,
    })
}

/// The file key if `password` is the user or the owner password.
fn authenticate(p: &Params, id0: &[u8], password: &str) -> Option<Zeroizing<Vec<u8>>> {
    if p.revision >= 5 {
        // UTF-8 (SASLprep is the identity on what people type), at most 127 bytes.
        let pw = password.as_bytes();
        let pw = &pw[..pw.len().min(127)];
        return user_key_aes256(p, pw).or_else(|| owner_key_aes256(p, pw));
    }
    let padded = pad_password(password);
    if let Some(k) = user_key_rc4(p, id0, &padded) {
        return Some(k);
    }
    // Algorithm 7: the owner password decrypts /O into the user password.
    let mut h = Md5::digest(&padded[..]);
    if p.revision >= 3 {
        for _ in 0..50 {
            h = Md5::digest(h);
        }
    }
    let rc4_key = Zeroizing::new(h[..p.length].to_vec());
    let mut user = Zeroizing::new([0u8; 32]);
    user.copy_from_slice(&p.o[..32]);
    if p.revision == 2 {
        rc4(&rc4_key, &mut user[..]);
    } else {
        for i in (0..20u8).rev() {
            let k: Zeroizing<Vec<u8>> = Zeroizing::new(rc4_key.iter().map(|b| b ^ i).collect());
            rc4(&k, &mut user[..]);
        }
    }
    user_key_rc4(p, id0, &user)
}

/// A password as PDFDocEncoding bytes, padded to 32 bytes (Algorithm 2, step a).
fn pad_password(password: &str) -> Zeroizing<[u8; 32]> {
    let mut bytes: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(32));
    for c in password.chars() {
        // Latin-1 letters are the same in PDFDocEncoding; others are not representable.
        match u8::try_from(u32::from(c)) {
            Ok(b) => bytes.push(b),
            Err(_) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let mut out = Zeroizing::new(PAD);
    let n = bytes.len().min(32);
    out[..n].copy_from_slice(&bytes[..n]);
    out[n..].copy_from_slice(&PAD[..32 - n]);
    out
}

fn rc4(key: &[u8], data: &mut [u8]) {
    if let Ok(mut c) = Rc4::new_from_slice(key) {
        c.apply_keystream(data);
    }
}

/// Algorithm 2 (file key from a padded user password) and Algorithms 4/5 (check it
/// against /U).
fn user_key_rc4(p: &Params, id0: &[u8], padded: &[u8; 32]) -> Option<Zeroizing<Vec<u8>>> {
    let mut h = Md5::new();
    h.update(padded);
    h.update(&p.o[..32]);
    h.update(p.p.to_le_bytes());
    h.update(id0);
    if p.revision >= 4 && !p.encrypt_metadata {
        h.update([0xff; 4]);
    }
    let mut digest = h.finalize();
    if p.revision >= 3 {
        for _ in 0..50 {
            digest = Md5::digest(&digest[..p.length]);
        }
    }
    let key = Zeroizing::new(digest[..p.length].to_vec());
    digest.as_mut_slice().zeroize();
    let matches = if p.revision == 2 {
        let mut u = PAD;
        rc4(&key, &mut u);
        u[..] == p.u[..32]
    } else {
        let mut h = Md5::new();
        h.update(PAD);
        h.update(id0);
        let mut x: [u8; 16] = h.finalize().into();
        for i in 0..20u8 {
            let k: Zeroizing<Vec<u8>> = Zeroizing::new(key.iter().map(|b| b ^ i).collect());
            rc4(&k, &mut x);
        }
        x[..] == p.u[..16]
    };
    matches.then_some(key)
}

/// Algorithms 2.A / 11 for the user password (R5, R6).
fn user_key_aes256(p: &Params, pw: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let hash = hash_r56(p.revision, pw, &p.u[32..40], &[]);
    if hash[..] != p.u[..32] {
        return None;
    }
    let k = hash_r56(p.revision, pw, &p.u[40..48], &[]);
    unwrap_key(&k, &p.ue)
}

/// Algorithms 2.A / 12 for the owner password (R5, R6).
fn owner_key_aes256(p: &Params, pw: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let u = &p.u[..48];
    let hash = hash_r56(p.revision, pw, &p.o[32..40], u);
    if hash[..] != p.o[..32] {
        return None;
    }
    let k = hash_r56(p.revision, pw, &p.o[40..48], u);
    unwrap_key(&k, &p.oe)
}

/// The file key: /UE or /OE decrypted with AES-256-CBC, zero IV, no padding.
fn unwrap_key(k: &[u8; 32], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(wrapped[..32].to_vec());
    cbc_decrypt(k, &[0u8; 16], &mut key).ok()?;
    Some(key)
}

/// R5: SHA-256(password ‖ salt ‖ udata); R6: Algorithm 2.B.
fn hash_r56(revision: i64, pw: &[u8], salt: &[u8], udata: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(pw);
    h.update(salt);
    h.update(udata);
    let first: [u8; 32] = h.finalize().into();
    let mut out = Zeroizing::new(first);
    if revision == 5 {
        return out;
    }
    let mut k: Zeroizing<Vec<u8>> = Zeroizing::new(first.to_vec());
    let mut round = 0u32;
    loop {
        let mut k1: Zeroizing<Vec<u8>> =
            Zeroizing::new(Vec::with_capacity(64 * (pw.len() + k.len() + udata.len())));
        for _ in 0..64 {
            k1.extend_from_slice(pw);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        let len = k1.len();
        // `k1` is a multiple of 16 bytes long (64 copies); encryption cannot fail.
        let encrypted = cbc::Encryptor::<aes::Aes128>::new_from_slices(&k[..16], &k[16..32])
            .ok()
            .and_then(|c| c.encrypt_padded::<NoPadding>(&mut k1, len).ok().map(|_| ()));
        if encrypted.is_none() {
            break;
        }
        let e = &k1[..];
        // The first 16 bytes as a big-endian number, mod 3 (256 ≡ 1 mod 3).
        let sum: u32 = e[..16].iter().map(|b| u32::from(*b)).sum();
        let next: Vec<u8> = match sum % 3 {
            0 => Sha256::digest(e).to_vec(),
            1 => Sha384::digest(e).to_vec(),
            _ => Sha512::digest(e).to_vec(),
        };
        k = Zeroizing::new(next);
        let last = u32::from(e[e.len() - 1]);
        round += 1;
        if round >= 64 && last <= round - 32 {
            break;
        }
        if round > 64 + 256 {
            break; // cannot happen: `last` ≤ 255
        }
    }
    out.copy_from_slice(&k[..32]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::pdf::objects::PdfString;

    fn s(bytes: &[u8]) -> Object {
        Object::String(PdfString {
            bytes: bytes.to_vec(),
            hex: true,
            span: 0..0,
        })
    }

    #[test]
    fn rc4_object_keys_follow_algorithm_1() {
        let h = Handler {
            key: Zeroizing::new(vec![1, 2, 3, 4, 5]),
            strings: Cipher::Rc4,
            streams: Cipher::Aes128,
            embedded: Cipher::Aes128,
            named: Vec::new(),
            encrypt_metadata: true,
        };
        let id = ObjRef {
            num: 0x010203,
            generation: 7,
        };
        let k = h.string_key(id).unwrap();
        let mut m = Md5::new();
        m.update([1, 2, 3, 4, 5, 3, 2, 1, 7, 0]);
        assert_eq!(k.key[..k.len], m.finalize()[..10]);
        let k = h.stream_key(id, &Dict::default()).unwrap();
        assert_eq!(k.len, 10);
        // An RC4 round trip.
        let plain = b"hello world".to_vec();
        let mut enc = plain.clone();
        rc4(&h.string_key(id).unwrap().key[..10], &mut enc);
        assert_eq!(h.string_key(id).unwrap().decrypt(&enc).unwrap(), plain);
        // Cross-reference streams are never encrypted.
        let xref = Dict {
            entries: vec![(b"Type".to_vec(), Object::Name(b"XRef".to_vec()))],
        };
        assert!(h.stream_key(id, &xref).is_none());
        // Metadata stays clear with /EncryptMetadata false; a stream's /Identity crypt
        // filter leaves it clear too.
        let metadata = Dict {
            entries: vec![(b"Type".to_vec(), Object::Name(b"Metadata".to_vec()))],
        };
        assert!(h.stream_key(id, &metadata).is_some());
        let clear = Handler {
            encrypt_metadata: false,
            key: Zeroizing::new(vec![1, 2, 3, 4, 5]),
            ..h
        };
        assert!(clear.stream_key(id, &metadata).is_none());
        let identity = Dict {
            entries: vec![(
                b"Filter".to_vec(),
                Object::Array(vec![Object::Name(b"Crypt".to_vec())]),
            )],
        };
        assert!(clear.stream_key(id, &identity).is_none());
    }

    #[test]
    fn aes_decryption_checks_its_padding() {
        let key = ObjectKey {
            cipher: Cipher::Aes128,
            key: [7; 32],
            len: 16,
        };
        let iv = [9u8; 16];
        let mut buf =
            b"sixteen byte msg\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10"
                .to_vec();
        let len = buf.len();
        cbc::Encryptor::<aes::Aes128>::new_from_slices(&[7; 16], &iv)
            .unwrap()
            .encrypt_padded::<NoPadding>(&mut buf, len)
            .unwrap();
        let mut data = iv.to_vec();
        data.extend_from_slice(&buf);
        assert_eq!(key.decrypt(&data).unwrap(), b"sixteen byte msg");
        assert!(key.decrypt(&data[..20]).is_err());
        assert!(key.decrypt(&data[..10]).is_err());
        let mut bad = data;
        let n = bad.len();
        bad[n - 17] ^= 0x55; // flips the padding bytes through CBC
        assert!(key.decrypt(&bad).is_err());
        assert_eq!(key.decrypt(&[]).unwrap(), b"");
    }

    #[test]
    fn refuses_other_handlers_and_versions() {
        let d = |entries: Vec<(&[u8], Object)>| Dict {
            entries: entries.into_iter().map(|(k, v)| (k.to_vec(), v)).collect(),
        };
        let pubsec = d(vec![(b"Filter", Object::Name(b"Adobe.PubSec".to_vec()))]);
        assert!(matches!(open(&pubsec, b"", ""), Opened::Unsupported(_)));
        let v3 = d(vec![
            (b"Filter", Object::Name(b"Standard".to_vec())),
            (b"V", Object::Int(3)),
            (b"R", Object::Int(3)),
        ]);
        assert!(matches!(open(&v3, b"", ""), Opened::Unsupported(_)));
        let short = d(vec![
            (b"Filter", Object::Name(b"Standard".to_vec())),
            (b"V", Object::Int(2)),
            (b"R", Object::Int(3)),
            (b"O", s(b"x")),
            (b"U", s(b"y")),
            (b"P", Object::Int(-4)),
        ]);
        assert!(matches!(open(&short, b"", ""), Opened::Unsupported(_)));
    }
}
