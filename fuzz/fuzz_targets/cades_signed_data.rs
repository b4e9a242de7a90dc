//! Any bytes through the CMS `SignedData` decoder and verifier, as a detached and an
//! encapsulated signature and as an RFC 3161 token (`kyso_cades::fuzzing::signed_data`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kyso_cades::fuzzing::signed_data(data);
});
