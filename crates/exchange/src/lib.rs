#![doc = include_str!("../README.md")]

mod datetime;
pub mod edxml;
mod error;
mod header;
mod limits;
mod package;
mod status;
mod text;
mod xml;

pub use datetime::{VIETNAM, VnDateTime};
pub use error::{ExchangeError, FieldProblem, Limit, NameProblem};
pub use header::{
    Business, Code, DocumentTypeInfo, Header, Hop, Organization, OtherInfo, PromulgationInfo,
    ReceiverChange, Replacement, ResponseFor, SignerInfo, StaffInfo, UpdateInfo,
};
pub use limits::Limits;
pub use package::{
    Attachment, DEFAULT_CONTENT_TYPE, FORMAT, MAGIC, Manifest, ManifestEntry, Package, Sha256Digest,
};
pub use status::{STATUS_FORMAT, StatusMessage};
