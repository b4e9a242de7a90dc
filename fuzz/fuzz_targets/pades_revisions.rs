//! Any bytes through the PDF revision model, object parser, stream decoders, field
//! tree and the whole verifier (`kyso_pades::verify::fuzzing::revisions`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kyso_pades::verify::fuzzing::revisions(data);
});
