#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! The fuzz targets' entry points on stable Rust: every seed of `fuzz/corpus/<target>/`
//! and a few thousand deterministic mutations of them (byte flips, insertions of PDF
//! and DER tokens, deletions, duplications, splices, truncations) must run to the end
//! without a panic. cargo-fuzz itself needs nightly (see fuzz/README.md).

use std::path::PathBuf;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus missing at {}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 3, "seed corpus of {target} is nearly empty");
    out
}

const PDF_TOKENS: &[&[u8]] = &[
    b" obj ",
    b"endobj",
    b"stream\n",
    b"endstream",
    b"<<",
    b">>",
    b"[",
    b"]",
    b" 0 R ",
    b"/Length 999999999",
    b"/Length -1",
    b"/Filter /FlateDecode",
    b"/Prev 0",
    b"/Root 1 0 R",
    b"/ByteRange [0 1 2 3]",
    b"/Contents <>",
    b"/Type /XRef /W [1 4 2]",
    b"/Type /ObjStm /N 9 /First 1",
    b"startxref\n9\n%%EOF\n",
    b"xref\n0 1\n0000000000 65535 f \n",
    b"trailer\n<< /Size 9 >>\n",
    b"%%EOF",
    b"(((((((",
    b"\\",
    b"99999999999999999999",
];

const DER_TOKENS: &[&[u8]] = &[
    &[0x30, 0x80],
    &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    &[0x06, 0x00],
    &[0x02, 0x00],
    &[0xa0, 0x00],
    &[0x04, 0x81],
    &[0x17, 0x0d],
    &[0x00, 0x00],
];

fn mutate(rng: &mut Rng, seed: &[u8], others: &[(String, Vec<u8>)], tokens: &[&[u8]]) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = m.len();
        let at = rng.below(len + 1);
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                m[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = tokens[rng.below(tokens.len())];
                m.splice(at..at, t.iter().copied());
            }
            2 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                m.drain(at.min(end)..end);
            }
            3 if len > 0 => {
                let from = rng.below(len);
                let end = (from + 1 + rng.below(256)).min(len);
                let chunk = m[from..end].to_vec();
                m.splice(at..at, chunk);
            }
            4 => {
                let (_, other) = &others[rng.below(others.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let end = (from + 1 + rng.below(512)).min(other.len());
                    m.splice(at..at, other[from..end].iter().copied());
                }
            }
            5 => m.truncate(at),
            _ if len > 0 => {
                // Overwrite a digit run with another number (offsets, lengths, counts).
                let i = rng.below(len);
                if m[i].is_ascii_digit() {
                    let digit = b'0' + rng.below(10) as u8;
                    m[i] = digit;
                } else {
                    m[i] = rng.next() as u8;
                }
            }
            _ => {}
        }
    }
    m
}

fn replay(target: &str, tokens: &[&[u8]], runs: usize, entry: fn(&[u8])) {
    let seeds = corpus(target);
    for (_, seed) in &seeds {
        entry(seed);
    }
    let mut rng = Rng(0x6b79_736f_2d66_757a); // "kyso-fuz"
    for i in 0..runs {
        let (_, seed) = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, seed, &seeds, tokens);
        entry(&input);
    }
}

#[test]
fn pades_revisions_replay() {
    replay(
        "pades_revisions",
        PDF_TOKENS,
        // Each input is verified and then signed (and the result verified again): 12,000
        // keep the suite's time where 20,000 verify-only inputs had it.
        12_000,
        kyso_pades::fuzzing::pdf,
    );
}

#[test]
fn cades_signed_data_replay() {
    replay(
        "cades_signed_data",
        DER_TOKENS,
        10_000,
        kyso_cades::fuzzing::signed_data,
    );
}

#[test]
fn hostile_inputs_are_bounded() {
    // Deep nesting, a decompression bomb, a huge /Length and an xref loop: errors or
    // reports, quickly, and no panic.
    let mut deep = b"%PDF-1.7\n1 0 obj\n".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend_from_slice(b"\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n");
    let xref = deep.len() - "xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n".len();
    deep.extend_from_slice(format!("{xref}\n%%EOF\n").as_bytes());
    kyso_pades::fuzzing::pdf(&deep);

    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![b' '; 64 << 20]).unwrap();
    let bomb = enc.finish().unwrap();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let obj = pdf.len();
    pdf.extend_from_slice(
        format!(
            "1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {} >>\nstream\n",
            bomb.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&bomb);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 3\n0000000000 65535 f \n{obj:010} 00000 n \n0000000001 00000 n \ntrailer\n<< /Size 3 /Root 2 0 R /Prev {xref} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    let start = std::time::Instant::now();
    kyso_pades::fuzzing::pdf(&pdf);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}
