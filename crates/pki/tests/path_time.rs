//! Revocation "as of the signing time" with OCSP responses and CRLs made by the built-in CA:
//! data issued before or after the signing time, revocations before or after it, delegated
//! responders, stale and post-expiry data, foreign responders.
#![allow(clippy::unwrap_used)]

use certval::{PDVTrustAnchorChoice, build_ocsp_request};
use kyso_pki::ca::{
    IssueRequest, Issuer, OcspStatus, Profile, RevocationReason, RevokedEntry, SubjectName,
    build_crl, issue, respond_ocsp,
};
use kyso_pki::der::{Decode, Encode};
use kyso_pki::x509_cert::Certificate;
use kyso_pki::x509_cert::certificate::{CertificateInner, Raw};
use kyso_pki::{
    PathFailure, PathInput, PathOutcome, PathPolicy, PathStatus, RevocationInfo, RevocationMode,
    RevocationSource, TrustAnchors, validate_path,
};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The asserted signing time.
const T: OffsetDateTime = datetime!(2026-06-01 10:00:00 UTC);

struct Pki {
    root: Certificate,
    root_key: SoftKey,
    ee: Certificate,
    responder: Certificate,
    responder_key: SoftKey,
    /// A CA with the same name as `root` but another key (not trusted).
    impostor: Certificate,
    impostor_key: SoftKey,
}

fn name(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        country: "VN".into(),
        ..SubjectName::default()
    }
}

fn request(
    profile: Profile,
    cn: &str,
    key: &SoftKey,
    from: OffsetDateTime,
    to: OffsetDateTime,
    serial: u8,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: name(cn),
        public_key: key.public_key().clone(),
        not_before: from,
        not_after: to,
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: vec![],
        ip_addresses: vec![],
        path_len: None,
    }
}

fn pki() -> Pki {
    let root_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root_from = datetime!(2025-01-01 00:00:00 UTC);
    let root_to = datetime!(2035-01-01 00:00:00 UTC);
    let root = issue(
        &request(Profile::RootCa, "Root CA", &root_key, root_from, root_to, 1),
        None,
        Some(&root_key),
    )
    .unwrap();
    let issuer = Issuer {
        certificate: &root,
        key: &root_key,
    };
    let ee_key = SoftKey::generate(KeyKind::P256).unwrap();
    let ee = issue(
        &request(
            Profile::Person,
            "Signer",
            &ee_key,
            datetime!(2026-01-01 00:00:00 UTC),
            datetime!(2027-01-01 00:00:00 UTC),
            2,
        ),
        Some(&issuer),
        None,
    )
    .unwrap();
    let responder_key = SoftKey::generate(KeyKind::P256).unwrap();
    let responder = issue(
        &request(
            Profile::Ocsp,
            "OCSP responder",
            &responder_key,
            root_from,
            root_to,
            3,
        ),
        Some(&issuer),
        None,
    )
    .unwrap();
    let impostor_key = SoftKey::generate(KeyKind::P256).unwrap();
    let impostor = issue(
        &request(
            Profile::RootCa,
            "Root CA",
            &impostor_key,
            root_from,
            root_to,
            4,
        ),
        None,
        Some(&impostor_key),
    )
    .unwrap();
    Pki {
        root,
        root_key,
        ee,
        responder,
        responder_key,
        impostor,
        impostor_key,
    }
}

impl Pki {
    fn anchors(&self) -> TrustAnchors {
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&self.root.to_der().unwrap()).unwrap();
        anchors
    }

    fn ocsp(
        &self,
        certificate: &Certificate,
        key: &SoftKey,
        status: OcspStatus,
        produced: OffsetDateTime,
        validity: Duration,
    ) -> Vec<u8> {
        let ee = CertificateInner::<Raw>::from_der(&self.ee.to_der().unwrap()).unwrap();
        let issuer =
            PDVTrustAnchorChoice::try_from(self.root.to_der().unwrap().as_slice()).unwrap();
        let req = build_ocsp_request(&ee, issuer.decoded(), None).unwrap();
        let responder = Issuer { certificate, key };
        let ca = if certificate == &self.impostor {
            &self.impostor
        } else {
            &self.root
        };
        respond_ocsp(&req, ca, &responder, &|_| status, produced, validity).unwrap()
    }

    fn crl(&self, revoked: &[RevokedEntry], this_update: OffsetDateTime) -> Vec<u8> {
        let issuer = Issuer {
            certificate: &self.root,
            key: &self.root_key,
        };
        build_crl(
            &issuer,
            revoked,
            this_update,
            this_update + Duration::days(7),
            1,
        )
        .unwrap()
    }

    fn validate(&self, crls: &[Vec<u8>], ocsp: &[Vec<u8>], mode: RevocationMode) -> PathOutcome {
        let ee = self.ee.to_der().unwrap();
        let input = PathInput {
            end_entity: &ee,
            intermediates: &[],
            crls,
            ocsp_responses: ocsp,
            time: T,
        };
        let policy = PathPolicy {
            revocation: mode,
            ..PathPolicy::default()
        };
        validate_path(&self.anchors(), &input, &policy).unwrap()
    }

    fn ee_serial(&self) -> Vec<u8> {
        self.ee
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .to_vec()
    }
}

fn revoked(at: OffsetDateTime) -> OcspStatus {
    OcspStatus::Revoked {
        at,
        reason: Some(RevocationReason::KeyCompromise),
    }
}

#[test]
fn ocsp_time_rules() {
    let p = pki();
    let hour = Duration::hours(1);
    let day = Duration::days(1);
    let require = RevocationMode::Require;

    // Good, produced an hour after signing (the usual case: fetched right after signing).
    let good = p.ocsp(&p.root, &p.root_key, OcspStatus::Good, T + hour, day);
    let o = p.validate(&[], &[good], require);
    assert_eq!(o.status, PathStatus::Valid, "{o:?}");
    assert!(matches!(
        o.end_entity_revocation,
        RevocationInfo::Good {
            source: RevocationSource::Ocsp,
            ..
        }
    ));
    assert_eq!(o.path.len(), 2);

    // Good, produced before signing and still current at signing time.
    let good = p.ocsp(&p.root, &p.root_key, OcspStatus::Good, T - hour, day);
    assert_eq!(p.validate(&[], &[good], require).status, PathStatus::Valid);

    // Stale: produced two days before signing, valid for one.
    let stale = p.ocsp(&p.root, &p.root_key, OcspStatus::Good, T - 2 * day, day);
    let o = p.validate(&[], std::slice::from_ref(&stale), require);
    assert!(
        matches!(
            o.status,
            PathStatus::Indeterminate(PathFailure::RevocationUnknown { position: 0, .. })
        ),
        "{o:?}"
    );
    assert_eq!(
        p.validate(&[], &[stale], RevocationMode::IfAvailable)
            .status,
        PathStatus::Valid
    );

    // Revoked before signing, learnt afterwards: invalid.
    let resp = p.ocsp(&p.root, &p.root_key, revoked(T - day), T + day, day);
    let o = p.validate(&[], &[resp], require);
    assert_eq!(
        o.status,
        PathStatus::Invalid(PathFailure::Revoked {
            position: 0,
            at: T - day,
            reason: Some("keyCompromise".into()),
        })
    );

    // Revoked after signing: the path is valid, the revocation is reported.
    let resp = p.ocsp(&p.root, &p.root_key, revoked(T + day), T + 2 * day, day);
    let o = p.validate(&[], &[resp], require);
    assert_eq!(o.status, PathStatus::Valid, "{o:?}");
    assert_eq!(
        o.end_entity_revocation,
        RevocationInfo::Revoked {
            source: RevocationSource::Ocsp,
            at: T + day,
            reason: Some("keyCompromise".into()),
        }
    );

    // Delegated responder (id-kp-OCSPSigning, issued by the CA).
    let resp = p.ocsp(
        &p.responder,
        &p.responder_key,
        OcspStatus::Good,
        T + hour,
        day,
    );
    assert_eq!(p.validate(&[], &[resp], require).status, PathStatus::Valid);

    // "unknown" answer.
    let resp = p.ocsp(&p.root, &p.root_key, OcspStatus::Unknown, T + hour, day);
    let o = p.validate(&[], &[resp], require);
    assert!(
        matches!(o.status, PathStatus::Indeterminate(PathFailure::RevocationUnknown { ref why, .. }) if why.contains("unknown")),
        "{o:?}"
    );

    // Signed by another CA of the same name: not usable.
    let resp = p.ocsp(
        &p.impostor,
        &p.impostor_key,
        OcspStatus::Good,
        T + hour,
        day,
    );
    let o = p.validate(&[], &[resp], require);
    assert!(matches!(o.status, PathStatus::Indeterminate(_)), "{o:?}");

    // Produced after the certificate expired: proves nothing.
    let late = datetime!(2027-06-01 00:00:00 UTC);
    let resp = p.ocsp(&p.root, &p.root_key, OcspStatus::Good, late, day);
    let o = p.validate(&[], &[resp], require);
    assert!(
        matches!(o.status, PathStatus::Indeterminate(PathFailure::RevocationUnknown { ref why, .. }) if why.contains("expired")),
        "{o:?}"
    );
}

#[test]
fn crl_time_rules() {
    let p = pki();
    let day = Duration::days(1);
    let require = RevocationMode::Require;
    let entry = |at| RevokedEntry {
        serial: p.ee_serial(),
        revoked_at: at,
        reason: Some(RevocationReason::KeyCompromise),
    };

    // Current at signing time, empty.
    let o = p.validate(&[p.crl(&[], T - day)], &[], require);
    assert_eq!(o.status, PathStatus::Valid, "{o:?}");
    assert!(matches!(
        o.end_entity_revocation,
        RevocationInfo::Good {
            source: RevocationSource::Crl,
            ..
        }
    ));

    // Issued after signing, empty: authoritative.
    assert_eq!(
        p.validate(&[p.crl(&[], T + 3 * day)], &[], require).status,
        PathStatus::Valid
    );

    // Stale at signing time.
    let o = p.validate(&[p.crl(&[], T - 30 * day)], &[], require);
    assert!(matches!(o.status, PathStatus::Indeterminate(_)), "{o:?}");

    // Issued after signing, revocation before signing: invalid.
    let o = p.validate(&[p.crl(&[entry(T - day)], T + 3 * day)], &[], require);
    assert!(
        matches!(o.status, PathStatus::Invalid(PathFailure::Revoked { position: 0, at, .. }) if at == T - day),
        "{o:?}"
    );

    // Issued after signing, revocation after signing: valid, reported.
    let o = p.validate(&[p.crl(&[entry(T + day)], T + 3 * day)], &[], require);
    assert_eq!(o.status, PathStatus::Valid, "{o:?}");
    assert!(matches!(
        o.end_entity_revocation,
        RevocationInfo::Revoked { at, .. } if at == T + day
    ));

    // An old CRL says good, a newer one says revoked before signing: revoked wins.
    let o = p.validate(
        &[p.crl(&[], T - day), p.crl(&[entry(T - 2 * day)], T + day)],
        &[],
        require,
    );
    assert!(
        matches!(o.status, PathStatus::Invalid(PathFailure::Revoked { .. })),
        "{o:?}"
    );

    // Issued after the certificate expired: proves nothing.
    let o = p.validate(
        &[p.crl(&[], datetime!(2027-06-01 00:00:00 UTC))],
        &[],
        require,
    );
    assert!(matches!(o.status, PathStatus::Indeterminate(_)), "{o:?}");
}
