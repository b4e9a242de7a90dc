//! The PDF verification report: the CMS report of each signature (from `kyso-cades`)
//! plus what only a PDF has — field, sub-filter, byte range, coverage, revisions and
//! the modifications made after each signature.

use kyso_cades::report::{Reason, SignatureReport, Verdict};
use serde::Serialize;

pub use crate::pdf::revisions::XrefForm;

/// The report for a PDF file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdfReport {
    /// File verdict.
    pub verdict: Verdict,
    /// Always `pades`.
    pub format: &'static str,
    /// Validation time, RFC 3339 with +07:00.
    pub validation_time: String,
    /// File size in bytes.
    pub file_size: u64,
    /// The revisions, oldest first.
    pub revisions: Vec<RevisionReport>,
    /// Signatures and document time-stamps, in file order.
    pub signatures: Vec<PdfSignatureReport>,
    /// Signature fields that hold no signature (empty, or a `/V` that is not a
    /// signature dictionary), as of the last revision.
    pub unsigned_fields: Vec<UnsignedField>,
    /// Why the verdict is not `valid` (document level; per-signature reasons are in
    /// each signature).
    pub reasons: Vec<Reason>,
    /// Things worth knowing that do not change the verdict.
    pub warnings: Vec<Reason>,
}

/// One revision of the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionReport {
    /// 1-based revision number.
    pub number: usize,
    /// First byte.
    pub start: u64,
    /// One past the last byte (after `%%EOF` and its end of line); for the malformed
    /// tail, the end of the file.
    pub end: u64,
    /// How its cross-reference section is written (`None` for a malformed tail or a
    /// revision without a readable section).
    pub xref: Option<XrefForm>,
    /// What the revision changes (for revisions after the first signed one).
    pub class: Option<ChangeClass>,
    /// pyHanko's modification level of that change.
    pub level: Option<ModificationLevel>,
    /// 0-based indices of the signatures that cover exactly this revision.
    pub signed_by: Vec<usize>,
    /// The individual changes, each with a stable code.
    pub changes: Vec<Reason>,
}

/// What a later revision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    /// Document metadata (`/Info`, XMP, catalog `/Version`, `/Extensions`).
    Metadata,
    /// Validation data: the document security store (`/DSS`).
    Dss,
    /// A document time-stamp (`/DocTimeStamp`, ETSI.RFC3161).
    DocumentTimestamp,
    /// A signature: a signature field, its widget and value, `/AcroForm /Fields`,
    /// `/SigFlags`.
    Signature,
    /// Filling in form fields.
    FormFill,
    /// Adding or changing annotations.
    Annotation,
    /// Anything else: content, resources, fonts, page tree, catalog, structure.
    Other,
}

/// pyHanko's modification levels (ascending severity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModificationLevel {
    /// No change.
    None,
    /// Validation data, document time-stamps, metadata, invisible signature fields.
    LtaUpdates,
    /// Filling in fields, including signing visible signature fields.
    FormFilling,
    /// Annotations.
    Annotations,
    /// Anything else.
    Other,
}

/// How much of the file a signature covers (pyHanko's coverage levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Every byte except the signature value.
    EntireFile,
    /// A whole revision; later revisions follow.
    EntireRevision,
    /// A block from the start that does not end at a revision boundary.
    ContiguousBlockFromStart,
    /// The byte range could not be read.
    Unclear,
}

/// What kind of signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// An approval signature.
    Approval,
    /// A certification (DocMDP) signature.
    Certification,
    /// A document time-stamp.
    DocumentTimestamp,
}

/// Where a signature's visible appearance is (a reader highlights it on the page).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignatureAppearance {
    /// 1-based page number, when the widget's page is found.
    pub page: Option<usize>,
    /// `[x0, y0, x1, y1]` in default user space (points).
    pub rect: [f64; 4],
}

/// One signature in a PDF.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdfSignatureReport {
    /// The CMS verification: signer, signing time and its source, integrity, trust,
    /// revocation, time-stamp, ETSI indication and sub-indication, reasons.
    #[serde(flatten)]
    pub cms: SignatureReport,
    /// Approval, certification or document time-stamp.
    pub kind: SignatureKind,
    /// The (first) signature field holding it.
    pub field: String,
    /// Other fields holding the same signature value (counted once).
    pub other_fields: Vec<String>,
    /// `/SubFilter`.
    pub sub_filter: Option<String>,
    /// `/ByteRange` as found (when it is an array of integers).
    pub byte_range: Option<Vec<i64>>,
    /// How much of the file it covers.
    pub coverage: Coverage,
    /// 1-based number of the revision it covers.
    pub signed_revision: Option<usize>,
    /// DocMDP permission (1–3) this signature sets (certification), or its field
    /// lock's `/P`.
    pub docmdp: Option<u8>,
    /// Fields locked by this signature (FieldMDP): `None` when none.
    pub locked_fields: Option<LockedFields>,
    /// The highest modification level after this signature.
    pub modification_level: ModificationLevel,
    /// Every later revision, with its class and whether it is allowed for this
    /// signature.
    pub modifications: Vec<Modification>,
    /// Later widgets and annotations whose appearance paints over what this signature
    /// signed: page text or content, or an earlier signature's appearance.
    pub overlaps: Vec<Overlap>,
    /// Where its visible appearance is in the last revision (`None`: invisible).
    pub appearance: Option<SignatureAppearance>,
}

/// A later widget or annotation painting over signed page content or over an earlier
/// signature's appearance (evil annotation, sneaky signature, shadow form field; or a
/// seal over a signature).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// 1-based revision that adds or changes it.
    pub revision: usize,
    /// Annotation or (form / signature field) widget.
    pub kind: OverlapKind,
    /// Its `/Subtype` (`FreeText`, `Stamp`, `Redact`, `Widget`…).
    pub subtype: String,
    /// The field, for a widget.
    pub field: Option<String>,
    /// 1-based page number.
    pub page: Option<usize>,
    /// `[x0, y0, x1, y1]` in default user space (points).
    pub rect: [f64; 4],
    /// What it paints over.
    pub covers: Covers,
    /// The signature field whose appearance it covers (`covers` =
    /// `signature_appearance`).
    pub signature: Option<String>,
    /// A signature's own appearance placed on part of an earlier signature's and its
    /// signer block (co-signing, the Decree 30 seal over the leader's signature and
    /// the title and name lines around it): expected, no warning.
    pub expected: bool,
}

/// Annotation or widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapKind {
    /// A markup or other annotation (FreeText, Stamp, Redact, Square…).
    Annotation,
    /// A form field's or signature field's widget.
    Widget,
}

/// What an overlapping appearance covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Covers {
    /// Text of the signed page.
    Text,
    /// Other signed page content (graphics, images), or a page whose content cannot
    /// be read.
    Content,
    /// An earlier signature's visible appearance.
    SignatureAppearance,
}

/// Fields locked by a FieldMDP transform or a `/Lock` dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "fields")]
pub enum LockedFields {
    /// Every field.
    All,
    /// These fields.
    Include(Vec<String>),
    /// Every field except these.
    Exclude(Vec<String>),
}

/// A later revision as seen from one signature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Modification {
    /// 1-based revision number.
    pub revision: usize,
    /// What it changes.
    pub class: ChangeClass,
    /// pyHanko's level.
    pub level: ModificationLevel,
    /// Whether kyso's policy and this signature's DocMDP / FieldMDP allow it.
    pub allowed: bool,
    /// The changes, and why one is not allowed.
    pub details: Vec<Reason>,
}

/// A signature field without a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsignedField {
    /// Field name.
    pub field: String,
    /// Why it is not signed (`empty`, or what its `/V` is).
    pub why: String,
}
