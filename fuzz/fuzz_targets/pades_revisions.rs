//! Any bytes through kyso's one PDF entry (`kyso_pades::fuzzing::pdf`): the verifier
//! (revision model, object parser, stream decoders, field tree, a full `verify`) and
//! the signer (page tree, text extraction and placement, a whole signature in a role
//! chosen by the input, document time-stamp and DSS updates, the signed result verified
//! again).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kyso_pades::fuzzing::pdf(data);
});
