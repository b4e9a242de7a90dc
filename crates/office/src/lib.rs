#![doc = include_str!("../README.md")]

mod archive;
mod custody;
mod error;
mod lifecycle;
mod memory;
mod minutes;
mod office;
mod policy;
mod record;
mod register;
mod report;
mod store;

pub use archive::{
    FileCode, MAX_SEGMENT_CHARS, RecordFile, candidate_dir, chronological, document_dir,
    document_folder, original_name, safe_segment, type_folder,
};
pub use custody::HandoverDecision;
pub use custody::{
    Action, CHALLENGE_SECONDS, Device, Handover, HandoverState, LOCK_MINUTES, LoginFailure,
    MAX_FAILED_LOGINS, MAX_USER_NAME, MIN_PASSWORD_CHARS, MinutesSigner, Role, User, algorithm_der,
    authorize, check_certificate_login, check_handover_request, check_password, check_user_name,
    hash_password, login_challenge, roles_for,
};
pub use error::{OfficeError, Refusal, StoreError};
pub use lifecycle::{DocState, Event, IncomingState, Lifecycle, OutgoingState};
pub use memory::MemoryStore;
pub use minutes::{CertificateFacts, DeviceFacts, HandoverMinutes, MinutesParty, minutes_pdf};
pub use office::{
    IncomingRequest, Office, OutgoingNumber, OutgoingRequest, Registered, Step, check_number,
    incoming_document, split_number,
};
pub use policy::{ElectronicPolicy, check_not_secret};
pub use record::{
    Direction, DocumentRecord, DuplicateKey, Metadata, Original, Recipient, SignerInfo, StoredFile,
    date_opt,
};
pub use register::{
    INCOMING_COLUMNS, NotationTemplate, Numbering, OUTGOING_COLUMNS, RegisterSheet,
    outgoing_register, register_sheet, series,
};
pub use report::{text_pdf, to_csv, to_pdf};
pub use store::{DocumentQuery, HistoryEntry, NewDocument, Store, Transition};
