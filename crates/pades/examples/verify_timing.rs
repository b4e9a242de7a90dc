//! Time `kyso_pades::verify::verify` in-process (no process start-up):
//! `cargo run --release -p kyso-pades --example verify_timing -- FILE.pdf ROOT.pem [RUNS]`.

use std::time::Instant;

use der::DecodePem;
use kyso_pades::verify::{Limits, Policy, VerifyOptions, verify};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .ok_or("usage: verify_timing FILE.pdf ROOT.pem [RUNS]")?;
    let root = args
        .next()
        .ok_or("usage: verify_timing FILE.pdf ROOT.pem [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(20), |r| r.parse())?;
    let root = x509_cert::Certificate::from_pem(std::fs::read(root)?)?;
    let mut anchors = kyso_pki::path::TrustAnchors::new();
    anchors.add_der(&der::Encode::to_der(&root)?)?;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let pdf = std::fs::read(&file)?;
        let options = VerifyOptions {
            cades: kyso_cades::VerifyOptions {
                anchors: &anchors,
                extra_certificates: &[],
                extra_crls: &[],
                extra_ocsp: &[],
                validation_time: time::OffsetDateTime::now_utc(),
                revocation: kyso_pki::path::RevocationMode::Skip,
                limits: kyso_cades::Limits::default(),
            },
            limits: Limits::default(),
            policy: Policy::default(),
            password: None,
        };
        let report = verify(&pdf, &options)?;
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box(report);
    }
    println!("{file}: best of {runs}: {:.2} ms", best * 1000.0);
    Ok(())
}
