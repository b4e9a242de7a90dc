#![doc = include_str!("../README.md")]

mod agency;
mod business_doc_type;
mod collate;
mod document_id;
mod document_type;
mod document_type_registry;
mod error;
mod fold;
mod notation;
mod register;
mod secrecy;
mod status;
mod urgency;

pub use agency::{AgencyId, AgencyIdFormat};
pub use business_doc_type::BusinessDocType;
pub use collate::{CollationKey, collation_key, compare_vietnamese, sort_vietnamese};
pub use document_id::{DocumentId, DocumentIdForm};
pub use document_type::DocumentType;
pub use document_type_registry::{CustomDocumentType, DocumentTypeRegistry, RegisteredType};
pub use error::ModelError;
pub use fold::fold;
pub use notation::Notation;
pub use register::{RegisterKind, SeriesKey, SeriesName};
pub use secrecy::Secrecy;
pub use status::StatusCode;
pub use urgency::Urgency;

/// The date type used by [`DocumentId`].
pub use time;
