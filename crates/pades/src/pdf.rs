//! The one PDF layer of kyso-pades, shared by the signer and the verifier: the
//! hostile-input object parser with byte spans ([`objects`]), the revision model
//! (cross-reference tables and streams, object streams, repair of a damaged last
//! section) with objects loaded on demand under [`Limits`](crate::verify::Limits)
//! ([`revisions`]), the standard security handler ([`crypt`]) and the content-stream
//! interpreter ([`content`]). Errors are [`PdfError`](crate::verify::PdfError).

pub(crate) mod content;
pub(crate) mod crypt;
pub(crate) mod objects;
pub(crate) mod revisions;
