//! The built-in CA checked against OpenSSL: chain verification, Vietnamese subjects,
//! CRLs of a sub-CA and OCSP responses (CA-signed and delegated).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use certval::ocsp::{OcspResponse, OcspResponseStatus};
use kyso_pki::ca::{
    CaError, IssueRequest, Issuer, OcspStatus, Profile, RevocationReason, RevokedEntry,
    SubjectName, build_crl, issue, respond_ocsp,
};
use kyso_pki::der::pem::LineEnding;
use kyso_pki::der::{Decode, Encode, EncodePem};
use kyso_pki::x509_cert::Certificate;
use kyso_signer::{KeyKind, Signer, SoftKey, verify_signature};
use time::{Duration, OffsetDateTime};

/// Run openssl in `dir`; panics (never skips) when it cannot be started.
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("`openssl` must be installed and on PATH for these tests");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn write_pem(dir: &Path, file: &str, certs: &[&Certificate]) {
    let pem: String = certs
        .iter()
        .map(|c| c.to_pem(LineEnding::LF).unwrap())
        .collect();
    std::fs::write(dir.join(file), pem).unwrap();
}

/// One reference time for the whole test binary: certificates issued a second apart
/// must not differ in validity (a sub-CA outliving its root by a second made openssl's
/// OCSP check fail now and then).
fn now() -> OffsetDateTime {
    static NOW: std::sync::OnceLock<OffsetDateTime> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| OffsetDateTime::now_utc().replace_nanosecond(0).unwrap())
}

fn name(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        country: "VN".into(),
        ..SubjectName::default()
    }
}

fn person_name() -> SubjectName {
    SubjectName {
        common_name: "Nguyễn Văn An".into(),
        organization: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
        organizational_unit: Some("Văn phòng Ủy ban nhân dân".into()),
        locality: Some("Ninh Kiều".into()),
        state: Some("Cần Thơ".into()),
        country: "VN".into(),
        uid: Some("CCCD:092012345678".into()),
        email: Some("an.nv@cantho.gov.vn".into()),
        title: Some("Chủ tịch".into()),
    }
}

fn request(profile: Profile, subject: SubjectName, key: &dyn Signer, serial: u8) -> IssueRequest {
    let now = now();
    let ca = profile == Profile::RootCa || profile == Profile::IssuingCa;
    IssueRequest {
        profile,
        subject,
        public_key: key.public_key().clone(),
        not_before: now - Duration::hours(if ca { 2 } else { 1 }),
        not_after: now + Duration::days(if ca { 3650 } else { 365 }),
        // The high bit set: must still come out as a positive INTEGER.
        serial: [
            0x80 | serial,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
            serial,
        ],
        crl_url: (!ca || profile == Profile::IssuingCa)
            .then(|| "http://ca.kyso.invalid/sub.crl".into()),
        ocsp_url: (!ca).then(|| "http://ocsp.kyso.invalid/".into()),
        ca_issuers_url: (!ca).then(|| "http://ca.kyso.invalid/sub.cer".into()),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: None,
    }
}

/// Verify `cert`'s signature with `issuer`'s key on the Rust side.
fn assert_signed_by(cert: &Certificate, issuer: &Certificate) {
    verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        &cert.tbs_certificate().to_der().unwrap(),
        cert.signature().raw_bytes(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", cert.tbs_certificate().subject()));
}

struct Pki {
    dir: tempfile::TempDir,
    root: Certificate,
    root_key: SoftKey,
    sub: Certificate,
    sub_key: SoftKey,
}

impl Pki {
    fn new() -> Pki {
        let root_key = SoftKey::generate(KeyKind::P384).unwrap();
        let mut root_req = request(
            Profile::RootCa,
            SubjectName {
                organization: Some("Ban Cơ yếu Chính phủ".into()),
                ..name("Kyso Root CA thử nghiệm")
            },
            &root_key,
            1,
        );
        root_req.path_len = Some(1);
        let root = issue(&root_req, None, Some(&root_key)).unwrap();
        assert_signed_by(&root, &root);

        let sub_key = SoftKey::generate(KeyKind::P256).unwrap();
        let sub_req = request(
            Profile::IssuingCa,
            SubjectName {
                organization: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
                ..name("Kyso Issuing CA Cần Thơ")
            },
            &sub_key,
            2,
        );
        let root_issuer = Issuer {
            certificate: &root,
            key: &root_key,
        };
        let sub = issue(&sub_req, Some(&root_issuer), None).unwrap();
        assert_signed_by(&sub, &root);

        let dir = tempfile::tempdir().unwrap();
        write_pem(dir.path(), "root.pem", &[&root]);
        write_pem(dir.path(), "sub.pem", &[&sub]);
        write_pem(dir.path(), "chain.pem", &[&root, &sub]);
        Pki {
            dir,
            root,
            root_key,
            sub,
            sub_key,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn sub_issuer(&self) -> Issuer<'_> {
        Issuer {
            certificate: &self.sub,
            key: &self.sub_key,
        }
    }

    /// Issue an end-entity certificate from the sub-CA and write it as `file`.
    fn issue_ee(&self, req: &IssueRequest, file: &str) -> Certificate {
        let cert = issue(req, Some(&self.sub_issuer()), None).unwrap();
        assert_signed_by(&cert, &self.sub);
        write_pem(self.path(), file, &[&cert]);
        cert
    }

    fn text(&self, file: &str) -> String {
        let (ok, text) = openssl(
            self.path(),
            &["x509", "-in", file, "-noout", "-text", "-nameopt", "utf8"],
        );
        assert!(ok, "{text}");
        text
    }

    fn verify(&self, file: &str, extra: &[&str]) -> (bool, String) {
        let mut args = vec!["verify", "-CAfile", "root.pem", "-untrusted", "sub.pem"];
        args.extend_from_slice(extra);
        args.push(file);
        openssl(self.path(), &args)
    }
}

fn assert_verify_ok(pki: &Pki, file: &str, extra: &[&str]) {
    let (ok, out) = pki.verify(file, extra);
    assert!(
        ok && out.contains(&format!("{file}: OK")),
        "{file} {extra:?}: {out}"
    );
}

#[test]
fn profiles_verify_with_openssl() {
    let pki = Pki::new();
    let sub_text = pki.text("sub.pem");
    for needle in [
        "CA:TRUE, pathlen:0",
        "Certificate Sign, CRL Sign",
        "X509v3 Authority Key Identifier",
        "URI:http://ca.kyso.invalid/sub.crl",
    ] {
        assert!(
            sub_text.contains(needle),
            "sub-CA lacks {needle}:\n{sub_text}"
        );
    }
    let root_text = pki.text("root.pem");
    assert!(root_text.contains("CA:TRUE, pathlen:1"), "{root_text}");
    assert!(root_text.contains("ecdsa-with-SHA384"), "{root_text}");

    // Person (P-256): Vietnamese subject, document-signing usages.
    let p256 = SoftKey::generate(KeyKind::P256).unwrap();
    let person = pki.issue_ee(
        &request(Profile::Person, person_name(), &p256, 3),
        "person.pem",
    );
    assert_eq!(person.tbs_certificate().serial_number().as_bytes()[0], 0);
    assert_verify_ok(&pki, "person.pem", &[]);
    assert_verify_ok(&pki, "person.pem", &["-purpose", "smimesign"]);
    let text = pki.text("person.pem");
    for needle in [
        "CN=Nguyễn Văn An",
        "O=Ủy ban nhân dân thành phố Cần Thơ",
        "UID=CCCD:092012345678",
        "ST=Cần Thơ",
        "L=Ninh Kiều",
        "title=Chủ tịch",
        "C=VN",
        "X509v3 Key Usage: critical",
        "Digital Signature, Non Repudiation",
        "E-mail Protection",
        "email:an.nv@cantho.gov.vn",
        "OCSP - URI:http://ocsp.kyso.invalid/",
        "CA Issuers - URI:http://ca.kyso.invalid/sub.cer",
        "CA:FALSE",
    ] {
        assert!(text.contains(needle), "person lacks {needle:?}:\n{text}");
    }
    assert!(
        text.contains("1.3.6.1.4.1.311.10.3.12") || text.contains("Microsoft Document Signing"),
        "{text}"
    );
    let (ok, subject) = openssl(
        pki.path(),
        &[
            "x509",
            "-in",
            "person.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253,-esc_msb",
        ],
    );
    assert!(ok && subject.contains("CN=Nguyễn Văn An"), "{subject}");

    // Seal (RSA-2048).
    let rsa = SoftKey::generate(KeyKind::Rsa2048).unwrap();
    let seal_name = SubjectName {
        uid: Some("MST:1800123456".into()),
        organization: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
        ..name("Ủy ban nhân dân thành phố Cần Thơ")
    };
    pki.issue_ee(&request(Profile::Seal, seal_name, &rsa, 4), "seal.pem");
    assert_verify_ok(&pki, "seal.pem", &[]);
    let text = pki.text("seal.pem");
    assert!(text.contains("UID=MST:1800123456"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");

    // TSA: critical EKU timeStamping only.
    let tsa_key = SoftKey::generate(KeyKind::P256).unwrap();
    pki.issue_ee(
        &request(Profile::Tsa, name("Kyso TSA"), &tsa_key, 5),
        "tsa.pem",
    );
    assert_verify_ok(&pki, "tsa.pem", &["-purpose", "timestampsign"]);
    let text = pki.text("tsa.pem");
    assert!(
        text.contains("X509v3 Extended Key Usage: critical\n                Time Stamping\n"),
        "{text}"
    );

    // OCSP responder.
    let ocsp_key = SoftKey::generate(KeyKind::P256).unwrap();
    pki.issue_ee(
        &request(Profile::Ocsp, name("Kyso OCSP"), &ocsp_key, 6),
        "ocsp.pem",
    );
    assert_verify_ok(&pki, "ocsp.pem", &[]);
    let text = pki.text("ocsp.pem");
    assert!(
        text.contains("OCSP Signing") && text.contains("OCSP No Check"),
        "{text}"
    );

    // TLS (RSA): SANs, keyEncipherment.
    let mut tls_req = request(Profile::Tls, name("kyso.cantho.gov.vn"), &rsa, 7);
    tls_req.dns_names = vec!["kyso.cantho.gov.vn".into(), "*.kyso.cantho.gov.vn".into()];
    tls_req.ip_addresses = vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    pki.issue_ee(&tls_req, "tls.pem");
    assert_verify_ok(&pki, "tls.pem", &["-purpose", "sslserver"]);
    assert_verify_ok(&pki, "tls.pem", &["-purpose", "sslclient"]);
    let text = pki.text("tls.pem");
    for needle in [
        "DNS:kyso.cantho.gov.vn, DNS:*.kyso.cantho.gov.vn, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        "Digital Signature, Key Encipherment",
        "TLS Web Server Authentication, TLS Web Client Authentication",
    ] {
        assert!(text.contains(needle), "tls lacks {needle:?}:\n{text}");
    }

    // A certificate from another root must not verify.
    let other_key = SoftKey::generate(KeyKind::P256).unwrap();
    let other = issue(
        &request(Profile::RootCa, name("Other root"), &other_key, 8),
        None,
        Some(&other_key),
    )
    .unwrap();
    write_pem(pki.path(), "other.pem", &[&other]);
    let (ok, out) = openssl(
        pki.path(),
        &["verify", "-CAfile", "other.pem", "person.pem"],
    );
    assert!(!ok, "{out}");
}

/// The SKI of a certificate as OpenSSL prints it (`AB:CD:…`).
fn ski_line(text: &str) -> String {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.contains("X509v3 Subject Key Identifier") {
            return lines.next().unwrap().trim().to_string();
        }
    }
    panic!("no SKI in\n{text}");
}

#[test]
fn crl_of_sub_ca() {
    let pki = Pki::new();
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    let revoked = pki.issue_ee(
        &request(Profile::Person, person_name(), &key, 10),
        "revoked.pem",
    );
    let good = pki.issue_ee(
        &request(Profile::Seal, name("Sở Tư pháp"), &key, 11),
        "good.pem",
    );
    let now = now();

    let entries = [RevokedEntry {
        serial: revoked
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .to_vec(),
        revoked_at: now - Duration::minutes(5),
        reason: Some(RevocationReason::KeyCompromise),
    }];
    let crl = build_crl(
        &pki.sub_issuer(),
        &entries,
        now - Duration::minutes(1),
        now + Duration::days(7),
        42,
    )
    .unwrap();
    let pem = kyso_pki::der::pem::encode_string("X509 CRL", LineEnding::LF, &crl).unwrap();
    std::fs::write(pki.path().join("crl.pem"), pem).unwrap();

    let (ok, out) = pki.verify("revoked.pem", &["-crl_check", "-CRLfile", "crl.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    assert_verify_ok(&pki, "good.pem", &["-crl_check", "-CRLfile", "crl.pem"]);
    assert_ne!(
        good.tbs_certificate().serial_number(),
        revoked.tbs_certificate().serial_number()
    );

    // The CRL's AKI is the sub-CA's own SKI, and it verifies with the sub-CA key.
    let (ok, crl_text) = openssl(
        pki.path(),
        &[
            "crl",
            "-in",
            "crl.pem",
            "-noout",
            "-text",
            "-CAfile",
            "chain.pem",
        ],
    );
    assert!(ok, "{crl_text}");
    assert!(crl_text.contains("verify OK"), "{crl_text}");
    let sub_ski = ski_line(&pki.text("sub.pem"));
    let root_ski = ski_line(&pki.text("root.pem"));
    assert!(
        crl_text.contains(&sub_ski),
        "AKI {sub_ski} missing:\n{crl_text}"
    );
    assert!(!crl_text.contains(&root_ski), "{crl_text}");
    for needle in ["X509v3 CRL Number", "42", "Key Compromise", "Version 2"] {
        assert!(crl_text.contains(needle), "CRL lacks {needle}:\n{crl_text}");
    }

    // A (empty) root CRL lets the whole chain be checked.
    let root_crl = build_crl(
        &Issuer {
            certificate: &pki.root,
            key: &pki.root_key,
        },
        &[],
        now - Duration::minutes(1),
        now + Duration::days(30),
        1,
    )
    .unwrap();
    let pem = kyso_pki::der::pem::encode_string("X509 CRL", LineEnding::LF, &root_crl).unwrap();
    std::fs::write(pki.path().join("root-crl.pem"), pem).unwrap();
    let all = [
        "-crl_check_all",
        "-CRLfile",
        "crl.pem",
        "-CRLfile",
        "root-crl.pem",
    ];
    assert_verify_ok(&pki, "good.pem", &all);
    let (ok, out) = pki.verify("revoked.pem", &all);
    assert!(!ok && out.contains("certificate revoked"), "{out}");

    // Nonsense is refused.
    assert!(matches!(
        build_crl(&pki.sub_issuer(), &[], now, now, 1),
        Err(CaError::InvalidValidity { .. })
    ));
    let wrong_key = Issuer {
        certificate: &pki.sub,
        key: &pki.root_key,
    };
    assert!(matches!(
        build_crl(&wrong_key, &[], now, now + Duration::days(1), 1),
        Err(CaError::KeyMismatch(_))
    ));
}

/// Make an OCSP request for `cert` (issued by `issuer_file`) with openssl.
fn ocsp_request(pki: &Pki, issuer_file: &str, cert: &str, nonce: bool, out: &str) -> Vec<u8> {
    let nonce_flag = if nonce { "-nonce" } else { "-no_nonce" };
    let (ok, text) = openssl(
        pki.path(),
        &[
            "ocsp",
            "-issuer",
            issuer_file,
            "-cert",
            cert,
            "-reqout",
            out,
            nonce_flag,
        ],
    );
    assert!(ok, "{text}");
    std::fs::read(pki.path().join(out)).unwrap()
}

/// Check a response with openssl. `-no_nonce` keeps openssl from replacing the nonce of
/// the request it reads back with a fresh one; it still compares the request's nonce (if
/// any) with the response's ("WARNING: no nonce in response" / "Nonce Verify error").
fn check_ocsp(pki: &Pki, req: &str, nonce: bool, resp: &[u8], cert: &str, expect: &str) -> String {
    std::fs::write(pki.path().join("resp.der"), resp).unwrap();
    let args = [
        "ocsp",
        "-respin",
        "resp.der",
        "-issuer",
        "sub.pem",
        "-CAfile",
        "chain.pem",
        "-reqin",
        req,
        "-cert",
        cert,
        "-resp_text",
        "-no_nonce",
    ];
    let (ok, text) = openssl(pki.path(), &args);
    assert!(ok, "{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains(&format!("{cert}: {expect}")), "{text}");
    assert!(
        !text.contains("WARNING") && !text.contains("Nonce Verify error"),
        "{text}"
    );
    assert_eq!(text.contains("OCSP Nonce"), nonce, "{text}");
    text
}

#[test]
fn ocsp_with_openssl() {
    let pki = Pki::new();
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    let revoked = pki.issue_ee(
        &request(Profile::Person, person_name(), &key, 20),
        "revoked.pem",
    );
    pki.issue_ee(
        &request(Profile::Seal, name("Sở Nội vụ"), &key, 21),
        "good.pem",
    );
    let revoked_serial = revoked
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    let now = now();
    let revoked_at = now - Duration::hours(1);
    let status_of = |serial: &[u8]| {
        if serial == revoked_serial.as_slice() {
            OcspStatus::Revoked {
                at: revoked_at,
                reason: Some(RevocationReason::AffiliationChanged),
            }
        } else {
            OcspStatus::Good
        }
    };
    let validity = Duration::hours(4);

    // Signed by the sub-CA itself, without and with nonce.
    let ca = pki.sub_issuer();
    let req = ocsp_request(&pki, "sub.pem", "good.pem", false, "req.der");
    let resp = respond_ocsp(&req, &pki.sub, &ca, &status_of, now, validity).unwrap();
    check_ocsp(&pki, "req.der", false, &resp, "good.pem", "good");

    let req = ocsp_request(&pki, "sub.pem", "revoked.pem", true, "req-nonce.der");
    let resp = respond_ocsp(&req, &pki.sub, &ca, &status_of, now, validity).unwrap();
    let text = check_ocsp(&pki, "req-nonce.der", true, &resp, "revoked.pem", "revoked");
    assert!(text.contains("affiliationChanged"), "{text}");
    assert!(text.contains("OCSP Nonce"), "{text}");
    assert!(text.contains("Responder Id: "), "{text}");

    // Delegated responder with id-kp-OCSPSigning.
    let ocsp_key = SoftKey::generate(KeyKind::P256).unwrap();
    let ocsp_cert = pki.issue_ee(
        &request(Profile::Ocsp, name("Kyso OCSP Cần Thơ"), &ocsp_key, 22),
        "ocsp.pem",
    );
    let delegated = Issuer {
        certificate: &ocsp_cert,
        key: &ocsp_key,
    };
    let req = ocsp_request(&pki, "sub.pem", "good.pem", true, "req2.der");
    let resp = respond_ocsp(&req, &pki.sub, &delegated, &status_of, now, validity).unwrap();
    check_ocsp(&pki, "req2.der", true, &resp, "good.pem", "good");
    let req = ocsp_request(&pki, "sub.pem", "revoked.pem", false, "req3.der");
    let resp = respond_ocsp(&req, &pki.sub, &delegated, &status_of, now, validity).unwrap();
    check_ocsp(&pki, "req3.der", false, &resp, "revoked.pem", "revoked");

    // A request about another issuer's certificate: unauthorized.
    let req = ocsp_request(&pki, "root.pem", "sub.pem", false, "req4.der");
    let resp = respond_ocsp(&req, &pki.sub, &ca, &status_of, now, validity).unwrap();
    let parsed = OcspResponse::from_der(&resp).unwrap();
    assert_eq!(parsed.response_status, OcspResponseStatus::Unauthorized);

    // Garbage: malformedRequest.
    let resp = respond_ocsp(
        b"\x30\x03\x02\x01",
        &pki.sub,
        &ca,
        &status_of,
        now,
        validity,
    )
    .unwrap();
    let parsed = OcspResponse::from_der(&resp).unwrap();
    assert_eq!(parsed.response_status, OcspResponseStatus::MalformedRequest);

    // A responder without OCSPSigning (a seal certificate) is refused.
    let seal_key = SoftKey::generate(KeyKind::P256).unwrap();
    let seal = pki.issue_ee(
        &request(Profile::Seal, name("Sở Y tế"), &seal_key, 23),
        "seal.pem",
    );
    let bad = Issuer {
        certificate: &seal,
        key: &seal_key,
    };
    assert!(matches!(
        respond_ocsp(&req, &pki.sub, &bad, &status_of, now, validity),
        Err(CaError::ResponderNotAuthorized { .. })
    ));
    // A responder certificate of another CA is refused as well.
    let root_as_responder = Issuer {
        certificate: &pki.root,
        key: &pki.root_key,
    };
    assert!(matches!(
        respond_ocsp(
            &req,
            &pki.sub,
            &root_as_responder,
            &status_of,
            now,
            validity
        ),
        Err(CaError::ResponderNotAuthorized { .. })
    ));
}

#[test]
fn nonsense_is_refused() {
    let pki = Pki::new();
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    let sub = pki.sub_issuer();

    let mut req = request(Profile::Person, person_name(), &key, 30);
    req.not_after = req.not_before;
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::InvalidValidity { .. })
    ));

    let req = request(Profile::Person, person_name(), &key, 30);
    assert!(matches!(
        issue(&req, None, Some(&key)),
        Err(CaError::ProfileMismatch {
            profile: Profile::Person,
            ..
        })
    ));

    let req = request(Profile::Tls, name("kyso"), &key, 30);
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::MissingSubjectAltName)
    ));

    let req = request(Profile::Person, name(""), &key, 30);
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::EmptyCommonName)
    ));

    let req = request(Profile::RootCa, name("root"), &key, 30);
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::ProfileMismatch { .. })
    ));
    assert!(matches!(
        issue(&req, None, None),
        Err(CaError::MissingSelfKey)
    ));
    assert!(matches!(
        issue(&req, None, Some(&pki.sub_key)),
        Err(CaError::KeyMismatch(_))
    ));

    let mut req = request(Profile::Person, person_name(), &key, 30);
    req.serial = [0; 16];
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::InvalidSerial(_))
    ));

    let mut req = request(Profile::Person, person_name(), &key, 30);
    req.not_after = now() + Duration::days(365 * 20);
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::ValidityOutsideIssuer { .. })
    ));

    let mut req = request(Profile::Person, person_name(), &key, 30);
    req.path_len = Some(0);
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::PathLenOnEndEntity(_))
    ));

    let mut req = request(Profile::Tls, name("kyso"), &key, 30);
    req.dns_names = vec!["cần-thơ.vn".into()];
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::InvalidGeneralName { .. })
    ));

    let mut req = request(Profile::Person, person_name(), &key, 30);
    req.crl_url = Some("not a url".into());
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::InvalidGeneralName { .. })
    ));

    // The sub-CA has pathLen 0: it cannot issue another CA.
    let req = request(Profile::IssuingCa, name("sub-sub"), &key, 30);
    assert!(matches!(
        issue(&req, Some(&sub), None),
        Err(CaError::PathLenExceeded {
            issuer_path_len: 0,
            ..
        })
    ));

    // An end-entity certificate cannot issue.
    let person = pki.issue_ee(&request(Profile::Person, person_name(), &key, 31), "p.pem");
    let not_ca = Issuer {
        certificate: &person,
        key: &key,
    };
    let req = request(Profile::Person, name("x"), &key, 32);
    assert!(matches!(
        issue(&req, Some(&not_ca), None),
        Err(CaError::IssuerNotAllowed { .. })
    ));
    assert!(matches!(
        build_crl(&not_ca, &[], now(), now() + Duration::days(1), 1),
        Err(CaError::IssuerNotAllowed { .. })
    ));

    // Wrong key for the issuer certificate.
    let wrong = Issuer {
        certificate: &pki.sub,
        key: &key,
    };
    assert!(matches!(
        issue(&req, Some(&wrong), None),
        Err(CaError::KeyMismatch(_))
    ));

    // Messages are readable.
    let err = issue(
        &request(Profile::Tls, name("kyso"), &key, 30),
        Some(&sub),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a TLS certificate needs at least one DNS name or IP address"
    );
}

#[test]
fn subject_round_trips_through_certificate() {
    let pki = Pki::new();
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    let cert = pki.issue_ee(&request(Profile::Person, person_name(), &key, 40), "p.pem");
    let der = cert.to_der().unwrap();
    let back = Certificate::from_der(&der).unwrap();
    assert_eq!(
        SubjectName::from_name(back.tbs_certificate().subject()),
        person_name()
    );
    assert_eq!(
        SubjectName::from_name(back.tbs_certificate().issuer()).common_name,
        "Kyso Issuing CA Cần Thơ"
    );
}
