//! Shared test fixtures of kyso's crates (a dev-dependency only; never published):
//!
//! - [`pki`]: a test PKI (root → issuing CA → a leader's personal certificate, an
//!   agency seal and a TSA) built with kyso's own CA code, exported as PEM; an HTTP
//!   server on 127.0.0.1 publishing its CRLs and answering RFC 3161 time-stamp requests;
//!   pyHanko (the reference signer) driven on those keys;
//! - [`postgres`]: a fresh PostgreSQL database per test on the server `scripts/test.sh`
//!   starts (required, not skipped, under CI);
//! - [`cli`]: the `kyso` binary on a data directory, isolated from the environment;
//! - [`http`]: a small client for kyso's JSON API (cookies, CSRF header, multipart);
//! - [`serve`]: `kyso serve` as a child process (URL and setup link from its output);
//! - `node` (feature `node`): a node in the test process, kyso-server on a loopback
//!   socket over kyso-app (SQLite or PostgreSQL), its users and their logins.
//!
//! Peers are never optional: a missing one fails the test with a message saying how to
//! get it.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod cli;
pub mod http;
pub mod mtls;
#[cfg(feature = "node")]
pub mod node;
pub mod pki;
pub mod postgres;
pub mod serve;
pub mod softhsm;
pub mod wss;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A test document of `testdata/documents` (in the repository).
pub fn document(name: &str) -> PathBuf {
    let p = workspace().join("testdata/documents").join(name);
    assert!(p.is_file(), "test document missing: {}", p.display());
    p
}

/// SplitMix64: distinct, incompressible image bytes per document without a crate.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A 1 MB PDF (four pages with a 250 kB image each, the images from `seed`): the
/// document of the load benchmarks (`bench_exchange`, `bench_agent`, `scripts/bench-serve.sh`).
pub fn large_pdf(seed: u64) -> Vec<u8> {
    let pages = 4;
    let mut objs: Vec<(usize, Vec<u8>)> = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (
            3,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        ),
    ];
    let mut kids = Vec::new();
    let mut n = 4;
    for p in 0..pages {
        let (img, cont, page) = (n, n + 1, n + 2);
        n += 3;
        let data = noise(seed.wrapping_mul(31).wrapping_add(p as u64), 250_000);
        let mut o = format!(
            "<< /Type /XObject /Subtype /Image /Width 1000 /Height 1000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            data.len()
        )
        .into_bytes();
        o.extend_from_slice(&data);
        o.extend_from_slice(b"\nendstream");
        objs.push((img, o));
        let c = format!(
            "q 500 0 0 700 50 100 cm /Im0 Do Q BT /F1 12 Tf 72 60 Td (Trang {} - van ban {seed}) Tj ET",
            p + 1
        );
        objs.push((
            cont,
            format!("<< /Length {} >>\nstream\n{c}\nendstream", c.len()).into_bytes(),
        ));
        objs.push((page, format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> /XObject << /Im0 {img} 0 R >> >> /Contents {cont} 0 R >>").into_bytes()));
        kids.push(page);
    }
    let kids: Vec<String> = kids.iter().map(|k| format!("{k} 0 R")).collect();
    objs.push((
        2,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    ));
    objs.sort_by_key(|(k, _)| *k);
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = vec![0; n];
    for (k, body) in &objs {
        offsets[*k] = out.len();
        out.extend_from_slice(format!("{k} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {n}\n0000000000 65535 f \n").as_bytes());
    for off in &offsets[1..n] {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {n} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}
