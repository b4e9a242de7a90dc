//! The package and kyso's wire format for it (docs/exchange-package.md).
//!
//! ```text
//! package  = magic manifest digest body* trace
//! magic    = "KYSO-EXCHANGE/1\n"                      16 bytes
//! manifest = u32be length, canonical JSON             1..=Limits::max_manifest_bytes
//! digest   = SHA-256(magic || manifest)               32 bytes
//! body     = the attachment's bytes, exactly its manifest length, in manifest order
//! trace    = u32be length, canonical JSON array of hops
//! ```
//!
//! Nothing may follow the trace.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{ExchangeError, FieldProblem, Limit, excerpt};
use crate::header::{Header, Hop};
use crate::limits::Limits;
use crate::text::{Mode, Rule, apply, attachment_name, is_content_type};

/// The magic line a package starts with.
pub const MAGIC: &[u8; 16] = b"KYSO-EXCHANGE/1\n";
/// The value of the manifest's `format` field.
pub const FORMAT: &str = "kyso-exchange/1";
/// The content type given to an attachment that has none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// A SHA-256 value (a package digest, an attachment's hash). `Display` writes lowercase
/// hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lowercase hex.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// Reads 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A file carried by a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name: no path separators, no `..`, no `:`, no control characters, unique in
    /// the package (case-insensitively), at most 255 bytes.
    pub name: String,
    /// MIME type (`application/pdf`); empty = `application/octet-stream`.
    pub content_type: String,
    /// edXML `Description` (max 500 characters).
    pub description: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl Attachment {
    /// An attachment without description.
    pub fn new(
        name: impl Into<String>,
        content_type: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            name: name.into(),
            content_type: content_type.into(),
            description: String::new(),
            content: content.into(),
        }
    }

    /// The SHA-256 of the content.
    pub fn sha256(&self) -> Sha256Digest {
        Sha256Digest::of(&self.content)
    }
}

/// One attachment as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Description.
    pub description: String,
    /// Length of the content in bytes.
    pub length: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// The manifest frame's JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestJson {
    format: String,
    header: Header,
    attachments: Vec<ManifestEntry>,
}

/// The first part of a package, readable before the attachments arrive: what a
/// streaming receiver reads first (see [`Manifest::read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The header.
    pub header: Header,
    /// The attachments, in the order their bodies follow.
    pub entries: Vec<ManifestEntry>,
    /// The package digest (checked against the manifest).
    pub digest: Sha256Digest,
    /// Byte offset where the first attachment body starts.
    pub body_offset: u64,
}

impl Manifest {
    /// Reads and checks the magic, the manifest and the digest from the start of a
    /// package (`prefix` may hold more, or all, of the package). Every header rule,
    /// every attachment name and the limits on count and sizes are checked here, before
    /// any attachment byte is read.
    pub fn read(prefix: &[u8], limits: &Limits) -> Result<Self, ExchangeError> {
        let mut cursor = Cursor::new(prefix);
        let magic = cursor.take(MAGIC.len() as u64, "magic")?;
        if magic != MAGIC {
            return Err(ExchangeError::BadMagic {
                expected: "KYSO-EXCHANGE/1\\n",
            });
        }
        let manifest_offset = cursor.offset;
        let length = cursor.u32("manifest length")?;
        if length > limits.max_manifest_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::ManifestBytes,
                limit: u64::from(limits.max_manifest_bytes),
                found: u64::from(length),
                offset: Some(manifest_offset),
            });
        }
        let json_offset = cursor.offset;
        let json = cursor.take(u64::from(length), "manifest")?;
        let text = utf8(json, json_offset, "manifest")?;
        let manifest: ManifestJson = from_json(text, "manifest")?;
        if manifest.format != FORMAT {
            return Err(ExchangeError::UnsupportedFormat {
                found: excerpt(&manifest.format),
                expected: FORMAT,
            });
        }
        let mut header = manifest.header;
        header.check(Mode::Check)?;
        let mut entries = manifest.attachments;
        check_entries(&mut entries, limits)?;
        let canonical = encode_manifest(&header, &entries);
        if canonical != json {
            return Err(ExchangeError::NotCanonical { what: "manifest" });
        }
        let end = usize::try_from(cursor.offset).unwrap_or(usize::MAX);
        let computed = Sha256Digest::of(&prefix[..end]);
        let digest_offset = cursor.offset;
        let written = cursor.take(32, "package digest")?;
        if written != computed.0 {
            return Err(ExchangeError::PackageDigest {
                offset: digest_offset,
                written: hex::encode(written),
                computed: computed.to_hex(),
            });
        }
        Ok(Self {
            header,
            entries,
            digest: computed,
            body_offset: cursor.offset,
        })
    }
}

/// A package exchanged between agencies: header, attachments and the trace of the nodes
/// it passed.
///
/// Only built by [`Package::new`] (which normalises and checks, and refuses a secret
/// document), [`Package::parse`] or the edXML import, so a value always satisfies the
/// rules. The same package always encodes to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    header: Header,
    attachments: Vec<Attachment>,
    trace: Vec<Hop>,
    /// Magic and manifest frame, made once (every attachment hashed once).
    prefix: Vec<u8>,
    /// SHA-256 of `prefix`.
    digest: Sha256Digest,
    /// SHA-256 of each attachment, in order (as the manifest lists them).
    attachment_digests: Vec<Sha256Digest>,
}

impl Package {
    /// Builds a package: text brought to normal form (NFC, trimmed), every rule checked,
    /// an empty content type set to `application/octet-stream`. A secret document is
    /// refused with [`ExchangeError::SecretDocument`]. Attachment names are checked
    /// against [`Limits::default`]'s name length.
    pub fn new(
        mut header: Header,
        mut attachments: Vec<Attachment>,
    ) -> Result<Self, ExchangeError> {
        header.check(Mode::Normalize)?;
        check_attachments(
            &mut attachments,
            Limits::default().max_name_bytes,
            Mode::Normalize,
        )?;
        Ok(Self::sealed(header, attachments, Vec::new()))
    }

    /// The package with its manifest frame and digest computed (the only place they
    /// are, so they always match the header and attachments).
    fn sealed(header: Header, attachments: Vec<Attachment>, trace: Vec<Hop>) -> Self {
        let attachment_digests: Vec<Sha256Digest> =
            attachments.iter().map(Attachment::sha256).collect();
        let entries: Vec<ManifestEntry> = attachments
            .iter()
            .zip(&attachment_digests)
            .map(|(attachment, sha256)| ManifestEntry {
                name: attachment.name.clone(),
                content_type: attachment.content_type.clone(),
                description: attachment.description.clone(),
                length: attachment.content.len() as u64,
                sha256: sha256.to_hex(),
            })
            .collect();
        let manifest = encode_manifest(&header, &entries);
        let mut prefix = Vec::with_capacity(MAGIC.len() + 4 + manifest.len());
        prefix.extend_from_slice(MAGIC);
        prefix.extend_from_slice(&frame_length(manifest.len()).to_be_bytes());
        prefix.extend_from_slice(&manifest);
        let digest = Sha256Digest::of(&prefix);
        Self {
            header,
            attachments,
            trace,
            prefix,
            digest,
            attachment_digests,
        }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The attachments, in order.
    pub fn attachments(&self) -> &[Attachment] {
        &self.attachments
    }

    /// The SHA-256 of the attachment at `index` (as its manifest entry lists it and as
    /// checked when the package was read), computed once.
    pub fn attachment_digest(&self, index: usize) -> Option<Sha256Digest> {
        self.attachment_digests.get(index).copied()
    }

    /// The nodes the package passed, oldest first.
    pub fn trace(&self) -> &[Hop] {
        &self.trace
    }

    /// The package with one more hop at the end of its trace (what each node adds when
    /// it sends or relays). The digest does not change.
    pub fn with_hop(mut self, hop: Hop) -> Self {
        self.trace.push(hop);
        self
    }

    /// The parts, for a caller that wants to change and rebuild.
    pub fn into_parts(self) -> (Header, Vec<Attachment>, Vec<Hop>) {
        (self.header, self.attachments, self.trace)
    }

    /// The package digest: SHA-256 over the magic and the manifest frame. The manifest
    /// holds the header and every attachment's length and SHA-256, so the digest pins the
    /// whole document; the trace is left out, so a relay that adds a hop keeps it. Two
    /// packages with the same `DocumentId` and digest are the same sending.
    pub fn digest(&self) -> Sha256Digest {
        self.digest
    }

    /// The package in kyso's wire format (deterministic).
    pub fn to_bytes(&self) -> Vec<u8> {
        let trace = encode_json(&self.trace);
        let body: usize = self.attachments.iter().map(|a| a.content.len()).sum();
        let mut out = Vec::with_capacity(self.prefix.len() + 32 + body + 4 + trace.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&self.digest.0);
        for attachment in &self.attachments {
            out.extend_from_slice(&attachment.content);
        }
        out.extend_from_slice(&frame_length(trace.len()).to_be_bytes());
        out.extend_from_slice(&trace);
        out
    }

    /// Parses a package from untrusted bytes: every limit, rule, hash and the digest
    /// checked, and the encoding must be exactly the one [`to_bytes`](Self::to_bytes)
    /// writes.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, ExchangeError> {
        let manifest = Manifest::read(bytes, limits)?;
        // Magic and manifest frame: what the digest covers, checked by `read`.
        let prefix_end = usize::try_from(manifest.body_offset - 32).unwrap_or(usize::MAX);
        let prefix = bytes[..prefix_end].to_vec();
        let mut cursor = Cursor::new(bytes);
        cursor.offset = manifest.body_offset;
        let mut attachments = Vec::with_capacity(manifest.entries.len());
        let mut attachment_digests = Vec::with_capacity(manifest.entries.len());
        for (index, entry) in manifest.entries.into_iter().enumerate() {
            let offset = cursor.offset;
            let content = cursor.take(entry.length, "attachment")?;
            let found = Sha256Digest::of(content);
            if found.to_hex() != entry.sha256 {
                return Err(ExchangeError::AttachmentDigest {
                    index,
                    name: entry.name,
                    offset,
                    expected: entry.sha256,
                    found: found.to_hex(),
                });
            }
            attachment_digests.push(found);
            attachments.push(Attachment {
                name: entry.name,
                content_type: entry.content_type,
                description: entry.description,
                content: content.to_vec(),
            });
        }
        let trace_offset = cursor.offset;
        let length = cursor.u32("trace length")?;
        if length > limits.max_trace_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::TraceBytes,
                limit: u64::from(limits.max_trace_bytes),
                found: u64::from(length),
                offset: Some(trace_offset),
            });
        }
        let json_offset = cursor.offset;
        let json = cursor.take(u64::from(length), "trace")?;
        let text = utf8(json, json_offset, "trace")?;
        let trace: Vec<Hop> = from_json(text, "trace")?;
        if trace.len() > limits.max_trace_hops {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::TraceHops,
                limit: limits.max_trace_hops as u64,
                found: trace.len() as u64,
                offset: Some(json_offset),
            });
        }
        if encode_json(&trace) != json {
            return Err(ExchangeError::NotCanonical { what: "trace" });
        }
        let rest = bytes.len() as u64 - cursor.offset;
        if rest != 0 {
            return Err(ExchangeError::TrailingData {
                offset: cursor.offset,
                length: rest,
            });
        }
        Ok(Self {
            header: manifest.header,
            attachments,
            trace,
            prefix,
            digest: manifest.digest,
            attachment_digests,
        })
    }

    /// A package from parts read elsewhere (the edXML import): normalised and checked as
    /// by [`new`](Self::new), with names checked against `limits`.
    pub(crate) fn from_parts(
        mut header: Header,
        mut attachments: Vec<Attachment>,
        trace: Vec<Hop>,
        limits: &Limits,
    ) -> Result<Self, ExchangeError> {
        header.check(Mode::Normalize)?;
        check_attachments(&mut attachments, limits.max_name_bytes, Mode::Normalize)?;
        Ok(Self::sealed(header, attachments, trace))
    }
}

/// Checks names (unique), content types and descriptions of attachments.
fn check_attachments(
    attachments: &mut [Attachment],
    max_name_bytes: usize,
    mode: Mode,
) -> Result<(), ExchangeError> {
    let mut seen = BTreeSet::new();
    for (index, attachment) in attachments.iter_mut().enumerate() {
        check_one(
            index,
            &mut attachment.name,
            &mut attachment.content_type,
            &mut attachment.description,
            &mut seen,
            max_name_bytes,
            mode,
        )?;
    }
    Ok(())
}

fn check_one(
    index: usize,
    name: &mut String,
    content_type: &mut String,
    description: &mut String,
    seen: &mut BTreeSet<String>,
    max_name_bytes: usize,
    mode: Mode,
) -> Result<(), ExchangeError> {
    let key = attachment_name(index, name, max_name_bytes, mode)?;
    if !seen.insert(key) {
        return Err(ExchangeError::AttachmentName {
            index,
            name: excerpt(name),
            problem: crate::error::NameProblem::Duplicate,
        });
    }
    if mode == Mode::Normalize {
        let trimmed = content_type.trim().to_ascii_lowercase();
        *content_type = if trimmed.is_empty() {
            DEFAULT_CONTENT_TYPE.to_owned()
        } else {
            trimmed
        };
    }
    if !is_content_type(content_type) || content_type.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ExchangeError::ContentType {
            index,
            content_type: excerpt(content_type),
        });
    }
    apply(
        &|| format!("attachments[{index}].description"),
        description,
        Rule::multiline(500, false),
        mode,
    )
}

/// The manifest entries of a received package: count, names, types, sizes, hashes.
fn check_entries(entries: &mut [ManifestEntry], limits: &Limits) -> Result<(), ExchangeError> {
    if entries.len() > limits.max_attachments {
        return Err(ExchangeError::LimitExceeded {
            what: Limit::Attachments,
            limit: limits.max_attachments as u64,
            found: entries.len() as u64,
            offset: None,
        });
    }
    let mut seen = BTreeSet::new();
    let mut total: u64 = 0;
    for (index, entry) in entries.iter_mut().enumerate() {
        check_one(
            index,
            &mut entry.name,
            &mut entry.content_type,
            &mut entry.description,
            &mut seen,
            limits.max_name_bytes,
            Mode::Check,
        )?;
        if entry.length > limits.max_attachment_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::AttachmentBytes,
                limit: limits.max_attachment_bytes,
                found: entry.length,
                offset: None,
            });
        }
        total = total.saturating_add(entry.length);
        if total > limits.max_total_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::TotalBytes,
                limit: limits.max_total_bytes,
                found: total,
                offset: None,
            });
        }
        if Sha256Digest::from_hex(&entry.sha256).is_none() {
            return Err(ExchangeError::field(
                format!("attachments[{index}].sha256"),
                FieldProblem::Invalid {
                    expected: "64 lowercase hex digits".into(),
                },
            ));
        }
    }
    Ok(())
}

fn encode_manifest(header: &Header, entries: &[ManifestEntry]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        format: &'a str,
        header: &'a Header,
        attachments: &'a [ManifestEntry],
    }
    encode_json(&Borrowed {
        format: FORMAT,
        header,
        attachments: entries,
    })
}

/// Compact JSON of a value whose serialisation cannot fail (no maps with non-string
/// keys, no failing `Serialize` implementations in this crate's types).
pub(crate) fn encode_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("kyso-exchange types always serialise")
}

pub(crate) fn from_json<'a, T: Deserialize<'a>>(
    text: &'a str,
    what: &'static str,
) -> Result<T, ExchangeError> {
    serde_json::from_str(text).map_err(|error| ExchangeError::Json {
        what,
        line: error.line(),
        column: error.column(),
        message: excerpt(&error.to_string()),
    })
}

pub(crate) fn utf8<'a>(
    bytes: &'a [u8],
    offset: u64,
    what: &'static str,
) -> Result<&'a str, ExchangeError> {
    std::str::from_utf8(bytes).map_err(|error| ExchangeError::InvalidUtf8 {
        what,
        offset: offset + error.valid_up_to() as u64,
    })
}

/// A frame length; frames are checked against limits far below 4 GiB when read, and the
/// builder's texts are bounded, so this cannot overflow in practice.
fn frame_length(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// Reading position in the input, with truncation errors.
struct Cursor<'a> {
    bytes: &'a [u8],
    offset: u64,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    fn take(&mut self, length: u64, what: &'static str) -> Result<&'a [u8], ExchangeError> {
        let available = self.bytes.len() as u64 - self.offset;
        if length > available {
            return Err(ExchangeError::Truncated {
                offset: self.offset,
                what,
                needed: length,
                available,
            });
        }
        // Both fit in usize: they are within the slice.
        let start = self.offset as usize;
        let end = start + length as usize;
        self.offset += length;
        Ok(&self.bytes[start..end])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ExchangeError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}
