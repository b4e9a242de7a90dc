//! NIST PKITS (2011 edition) conformance: every case of `pkits.json` (plus 4.8.20) through
//! [`kyso_pki::validate_path`]. Data: `testdata/pkits/` in the repository (see its README).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kyso_pki::{
    PathFailure, PathInput, PathOutcome, PathPolicy, PathStatus, RevocationInfo, RevocationMode,
    RevocationSource, TrustAnchors, validate_path,
};
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::datetime;

/// Cases we deliberately do not match, with the reason. Only expected-valid cases may be
/// listed: we must never call an invalid path valid. Each listed case must come out NOT
/// valid (with a reason); the test fails if one unexpectedly matches, so the list stays
/// honest.
const DELIBERATE_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "40203",
        "notBefore 1950 (pre-2000 UTCTime): the der crate cannot represent dates before 1970, so the certificate is rejected as unparseable (Err)",
    ),
    (
        "40104",
        "DSA signatures are not supported (reported as UnsupportedAlgorithm, Indeterminate)",
    ),
    (
        "40105",
        "DSA signatures (with inherited DSA parameters) are not supported",
    ),
    (
        "41418",
        "CRLs partitioned by onlySomeReasons are not supported by certval",
    ),
    (
        "41419",
        "CRLs partitioned by onlySomeReasons are not supported by certval",
    ),
    (
        "41404",
        "distribution point given as nameRelativeToCRLIssuer: not supported by certval",
    ),
    (
        "41405",
        "distribution point given as nameRelativeToCRLIssuer: not supported by certval",
    ),
    (
        "41407",
        "issuingDistributionPoint given as nameRelativeToCRLIssuer: not supported by certval",
    ),
    ("41424", "indirect CRLs are not supported by certval"),
    ("41425", "indirect CRLs are not supported by certval"),
    (
        "41428",
        "CRL issued by a separate cRLIssuer (indirect CRL): not supported by certval",
    ),
    (
        "41429",
        "CRL issued by a separate cRLIssuer (indirect CRL): not supported by certval",
    ),
    (
        "41430",
        "CRL issued by a separate cRLIssuer (indirect CRL): not supported by certval",
    ),
    ("41433", "indirect CRLs are not supported by certval"),
    ("41502", "delta CRLs are not supported (fail closed)"),
    ("41505", "delta CRLs are not supported (fail closed)"),
    ("41507", "delta CRLs are not supported (fail closed)"),
    ("41508", "delta CRLs are not supported (fail closed)"),
];

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    name: String,
    cert: String,
    #[serde(default)]
    other_certs: Vec<String>,
    #[serde(default)]
    crls: Vec<String>,
    path_len: Option<usize>,
    path_intermediates: Option<Vec<String>>,
    #[serde(default)]
    params: Params,
    revocation: Option<bool>,
    error: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default)]
    user_initial_policy_set: Vec<String>,
    #[serde(default)]
    initial_explicit_policy: bool,
    #[serde(default)]
    initial_policy_mapping_inhibit: bool,
    #[serde(default)]
    initial_any_policy_inhibit: bool,
}

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/pkits"));
    assert!(
        dir.join("pkits.json").is_file(),
        "PKITS test data not found at {} (it is part of the repository: testdata/pkits, see its README)",
        dir.display()
    );
    dir
}

fn read(dir: &std::path::Path, sub: &str, name: &str) -> Vec<u8> {
    let p = dir.join(sub).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

const TIME: OffsetDateTime = datetime!(2022-05-01 00:00:00 UTC);

fn anchors(dir: &std::path::Path) -> TrustAnchors {
    let mut anchors = TrustAnchors::new();
    anchors
        .add_der(&read(dir, "certs", "TrustAnchorRootCertificate.crt"))
        .expect("trust anchor parses");
    anchors
}

fn load_cases(dir: &std::path::Path) -> Vec<Case> {
    let json = std::fs::read_to_string(dir.join("pkits.json")).expect("pkits.json readable");
    let mut cases: Vec<Case> = serde_json::from_str(&json).expect("pkits.json parses");
    assert_eq!(cases.len(), 246, "pkits.json should hold 246 cases");
    cases.push(Case {
        id: "40820".into(),
        name: "cps_pointer_qualifier_test20".into(),
        cert: "CPSPointerQualifierTest20EE.crt".into(),
        other_certs: vec!["GoodCACert.crt".into()],
        crls: vec!["GoodCACRL.crl".into()],
        path_len: Some(3),
        path_intermediates: None,
        params: Params::default(),
        revocation: None,
        error: None,
    });
    cases
}

/// Outcome status as text, or the reason validation could not run.
type CaseResult = Result<PathOutcome, String>;

fn run_case(dir: &std::path::Path, anchors: &TrustAnchors, case: &Case) -> CaseResult {
    let ee = read(dir, "certs", &case.cert);
    let intermediates: Vec<Vec<u8>> = case
        .path_intermediates
        .as_ref()
        .unwrap_or(&case.other_certs)
        .iter()
        .map(|n| read(dir, "certs", n))
        .collect();
    let mut crls = vec![read(dir, "crls", "TrustAnchorRootCRL.crl")];
    crls.extend(case.crls.iter().map(|n| read(dir, "crls", n)));
    let policy = PathPolicy {
        revocation: match case.revocation {
            Some(false) => RevocationMode::IfAvailable,
            _ => RevocationMode::Require,
        },
        user_initial_policy_set: case
            .params
            .user_initial_policy_set
            .iter()
            .map(|s| s.parse().expect("policy OID"))
            .collect(),
        initial_explicit_policy: case.params.initial_explicit_policy,
        initial_policy_mapping_inhibit: case.params.initial_policy_mapping_inhibit,
        initial_any_policy_inhibit: case.params.initial_any_policy_inhibit,
    };
    let input = PathInput {
        end_entity: &ee,
        intermediates: &intermediates,
        crls: &crls,
        ocsp_responses: &[],
        time: TIME,
    };
    validate_path(anchors, &input, &policy).map_err(|e| format!("could not run: {e}"))
}

#[test]
fn pkits() {
    let dir = data_dir();
    let anchors = anchors(&dir);
    let cases = load_cases(&dir);
    let exceptions: BTreeMap<&str, &str> = DELIBERATE_EXCEPTIONS.iter().copied().collect();

    let started = Instant::now();
    let mut passed = 0usize;
    let mut excepted: Vec<String> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut exception_ids_seen = std::collections::BTreeSet::new();

    for case in &cases {
        let result = run_case(&dir, &anchors, case);
        let expect_valid = case.error.is_none();
        let got_valid = result.as_ref().is_ok_and(|o| o.status.is_valid());
        let status = match &result {
            Ok(o) => o.status.to_string(),
            Err(e) => e.clone(),
        };
        if let Some(reason) = exceptions.get(case.id.as_str()) {
            exception_ids_seen.insert(case.id.as_str());
            if !expect_valid {
                failures.push(format!(
                    "{} {}: listed as exception but expected invalid (only expected-valid cases may be exceptions)",
                    case.id, case.name
                ));
            } else if got_valid {
                failures.push(format!(
                    "{} {}: listed as exception ({reason}) but now VALID: remove it from DELIBERATE_EXCEPTIONS",
                    case.id, case.name
                ));
            } else if status.is_empty() {
                failures.push(format!(
                    "{} {}: not valid but without a reason",
                    case.id, case.name
                ));
            } else {
                excepted.push(format!(
                    "{} {:<55} {reason}\n        -> {status}",
                    case.id, case.name
                ));
            }
            continue;
        }
        if expect_valid != got_valid {
            failures.push(format!(
                "{} {}: expected {}, got {status}",
                case.id,
                case.name,
                if expect_valid { "valid" } else { "invalid" },
            ));
            continue;
        }
        if let (Ok(outcome), Some(len)) = (&result, case.path_len)
            && got_valid
            && outcome.path.len() != len
        {
            failures.push(format!(
                "{} {}: valid, but path has {} certificates, expected {len}",
                case.id,
                case.name,
                outcome.path.len()
            ));
            continue;
        }
        passed += 1;
    }
    for (id, _) in DELIBERATE_EXCEPTIONS {
        if !exception_ids_seen.contains(id) {
            failures.push(format!("exception {id} matches no case"));
        }
    }
    let elapsed = started.elapsed();

    println!("PKITS: {} cases in {elapsed:.2?}", cases.len());
    println!("  passed (verdict matches): {passed}");
    println!("  deliberate exceptions:    {}", excepted.len());
    for e in &excepted {
        println!("    {e}");
    }
    println!("  failures:                 {}", failures.len());
    for f in &failures {
        println!("    {f}");
    }
    assert!(
        failures.is_empty(),
        "{} PKITS mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(passed + excepted.len(), cases.len());
}

/// Every expected-invalid case must come out not valid with a reason that names the right
/// kind of problem for the revocation classes (spot checks of the mapping).
#[test]
fn pkits_failure_kinds() {
    let dir = data_dir();
    let anchors = anchors(&dir);
    let cases = load_cases(&dir);
    let find = |name: &str| {
        let case = cases.iter().find(|c| c.name == name).expect("case exists");
        run_case(&dir, &anchors, case).expect("runs")
    };

    let o = find("invalid_ca_signature_test2");
    assert_eq!(
        o.status,
        PathStatus::Invalid(PathFailure::BadSignature { position: 1 })
    );
    assert_eq!(o.path.len(), 3);

    let o = find("invalid_ee_signature_test3");
    assert_eq!(
        o.status,
        PathStatus::Invalid(PathFailure::BadSignature { position: 0 })
    );

    let o = find("invalid_revoked_ee_test3");
    assert!(
        matches!(
            o.status,
            PathStatus::Invalid(PathFailure::Revoked { position: 0, ref reason, .. })
                if reason.as_deref() == Some("keyCompromise")
        ),
        "{o:?}"
    );

    let o = find("invalid_revoked_ca_test2");
    assert!(
        matches!(
            o.status,
            PathStatus::Invalid(PathFailure::Revoked { position: 1, .. })
        ),
        "{o:?}"
    );

    let o = find("missing_crl_test1");
    assert!(
        matches!(
            o.status,
            PathStatus::Indeterminate(PathFailure::RevocationUnknown { position: 0, .. })
        ),
        "{o:?}"
    );
    assert!(matches!(
        o.end_entity_revocation,
        RevocationInfo::Unknown { .. }
    ));

    let o = find("invalid_old_crl_nextupdate_test11");
    assert!(
        matches!(
            o.status,
            PathStatus::Indeterminate(PathFailure::RevocationUnknown { .. })
        ),
        "{o:?}"
    );

    let o = find("invalid_ee_notafter_date_test6");
    assert!(
        matches!(
            o.status,
            PathStatus::Invalid(PathFailure::Expired { position: 0, .. })
        ),
        "{o:?}"
    );

    let o = find("invalid_ca_notbefore_date_test1");
    assert!(
        matches!(
            o.status,
            PathStatus::Invalid(PathFailure::NotYetValid { position: 1, .. })
        ),
        "{o:?}"
    );

    let o = find("invalid_dsa_signature_test6");
    assert!(
        matches!(
            o.status,
            PathStatus::Indeterminate(PathFailure::UnsupportedAlgorithm { position: 0, .. })
        ),
        "{o:?}"
    );

    let o = find("valid_signatures_test1");
    assert!(o.status.is_valid());
    assert!(
        matches!(
            o.end_entity_revocation,
            RevocationInfo::Good {
                source: RevocationSource::Crl,
                ..
            }
        ),
        "{o:?}"
    );
}

/// "Status at signing time": InvalidRevokedEETest3EE (serial 0x0F) is on GoodCACRL with
/// revocationDate 2010-01-01T08:30:01Z; the certificate is valid from 08:30:00.
#[test]
fn revoked_before_and_after_signing_time() {
    let dir = data_dir();
    let anchors = anchors(&dir);
    let ee = read(&dir, "certs", "InvalidRevokedEETest3EE.crt");
    let intermediates = vec![read(&dir, "certs", "GoodCACert.crt")];
    let crls = vec![
        read(&dir, "crls", "TrustAnchorRootCRL.crl"),
        read(&dir, "crls", "GoodCACRL.crl"),
    ];
    let revoked_at = datetime!(2010-01-01 08:30:01 UTC);
    let at = |time| {
        let input = PathInput {
            end_entity: &ee,
            intermediates: &intermediates,
            crls: &crls,
            ocsp_responses: &[],
            time,
        };
        validate_path(&anchors, &input, &PathPolicy::default()).expect("runs")
    };

    // Signed one second before the revocation: the path is valid, the later revocation is
    // reported for the caller to weigh.
    let before = at(datetime!(2010-01-01 08:30:00 UTC));
    assert_eq!(before.status, PathStatus::Valid, "{before:?}");
    assert_eq!(
        before.end_entity_revocation,
        RevocationInfo::Revoked {
            source: RevocationSource::Crl,
            at: revoked_at,
            reason: Some("keyCompromise".into()),
        }
    );

    // Signed at the revocation instant and later: revoked.
    for time in [revoked_at, TIME] {
        let after = at(time);
        assert_eq!(
            after.status,
            PathStatus::Invalid(PathFailure::Revoked {
                position: 0,
                at: revoked_at,
                reason: Some("keyCompromise".into()),
            }),
            "{after:?}"
        );
    }

    // Without the CA's CRL the status is unknown: never valid under Require, valid under
    // IfAvailable.
    let crls = vec![read(&dir, "crls", "TrustAnchorRootCRL.crl")];
    let input = PathInput {
        end_entity: &ee,
        intermediates: &intermediates,
        crls: &crls,
        ocsp_responses: &[],
        time: TIME,
    };
    let o = validate_path(&anchors, &input, &PathPolicy::default()).expect("runs");
    assert!(
        matches!(
            o.status,
            PathStatus::Indeterminate(PathFailure::RevocationUnknown { position: 0, .. })
        ),
        "{o:?}"
    );
    let lenient = PathPolicy {
        revocation: RevocationMode::IfAvailable,
        ..PathPolicy::default()
    };
    let o = validate_path(&anchors, &input, &lenient).expect("runs");
    assert_eq!(o.status, PathStatus::Valid);
    let skip = PathPolicy {
        revocation: RevocationMode::Skip,
        ..PathPolicy::default()
    };
    let o = validate_path(&anchors, &input, &skip).expect("runs");
    assert_eq!(o.status, PathStatus::Valid);
    assert_eq!(o.end_entity_revocation, RevocationInfo::NotChecked);
}

#[test]
fn types_are_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TrustAnchors>();
    send_sync::<PathPolicy>();
    send_sync::<PathOutcome>();
    send_sync::<kyso_pki::PathError>();
}

#[test]
fn trust_anchor_basics() {
    let dir = data_dir();
    let mut anchors = TrustAnchors::new();
    assert!(anchors.is_empty());
    let root = read(&dir, "certs", "TrustAnchorRootCertificate.crt");
    anchors.add_der(&root).expect("parses");
    anchors.add_der(&root).expect("duplicate is a no-op");
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors.certificates().len(), 1);
    assert!(anchors.add_der(b"not a certificate").is_err());

    // The anchor itself validates trivially.
    let input = PathInput {
        end_entity: &root,
        intermediates: &[],
        crls: &[],
        ocsp_responses: &[],
        time: TIME,
    };
    let o = validate_path(&anchors, &input, &PathPolicy::default()).expect("runs");
    assert!(o.status.is_valid());

    // Garbage end entity: could not run.
    let input = PathInput {
        end_entity: b"garbage",
        ..input
    };
    assert!(validate_path(&anchors, &input, &PathPolicy::default()).is_err());

    // No anchors: no path.
    let ee = read(&dir, "certs", "ValidCertificatePathTest1EE.crt");
    let input = PathInput {
        end_entity: &ee,
        ..input
    };
    let o = validate_path(&TrustAnchors::new(), &input, &PathPolicy::default()).expect("runs");
    assert_eq!(
        o.status,
        PathStatus::Invalid(PathFailure::NoPathToTrustAnchor)
    );
}

/// `kyso_pki::name::display` writes every subject and issuer of the PKITS certificates
/// (hundreds of names, many attribute types and string kinds) exactly as x509_cert does.
#[test]
fn names_display_as_x509_cert_writes_them() {
    use x509_cert::der::Decode;
    let dir = data_dir().join("certs");
    let mut names = 0;
    for entry in std::fs::read_dir(&dir).expect("certs directory") {
        let path = entry.expect("directory entry").path();
        let der = std::fs::read(&path).expect("certificate readable");
        let Ok(cert) = x509_cert::Certificate::from_der(&der) else {
            continue;
        };
        for name in [
            cert.tbs_certificate().subject(),
            cert.tbs_certificate().issuer(),
        ] {
            assert_eq!(
                kyso_pki::name::display(name),
                name.to_string(),
                "{}",
                path.display()
            );
            names += 1;
        }
    }
    assert!(names > 300, "only {names} names compared");
}
