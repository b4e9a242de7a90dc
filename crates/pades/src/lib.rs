//! PAdES (ETSI EN 319 142-1) for kyso: signing PDF documents by incremental update
//! (the original bytes stay an exact prefix) with the Decree 30/2020 appearances, and a
//! verifier that models revisions explicitly and defeats the published PDF signature
//! attacks (USF, ISA, SWA, shadow, certification attacks).
//!
//! This crate does no I/O: PDF bytes, keys, time and fetched revocation data are
//! arguments.

#[doc(hidden)]
pub mod fuzzing;
mod pdf;
pub mod sign;
pub mod verify;
