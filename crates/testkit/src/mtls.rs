//! Fixtures for delivery between kyso nodes over mutual TLS: a node CA (kyso's own CA
//! code) issuing node certificates (TLS profile, for 127.0.0.1) as PEM files, free
//! loopback ports, and a client that has no certificate.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use der::Encode;
use kyso_pki::ca::{IssueRequest, Issuer, Profile, RevokedEntry, SubjectName, build_crl, issue};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

/// A CA for node certificates, its files under `dir`.
#[derive(Debug)]
pub struct NodeCa {
    dir: PathBuf,
    key: SoftKey,
    certificate: Certificate,
    /// The CA certificate (PEM): `--exchange-ca`.
    pub ca_pem: PathBuf,
    serial: u8,
}

/// A node's certificate and key.
#[derive(Debug, Clone)]
pub struct NodeCert {
    /// Certificate (PEM): `--exchange-cert`.
    pub cert_pem: PathBuf,
    /// Private key (PKCS#8 PEM): `--exchange-key`.
    pub key_pem: PathBuf,
    /// SHA-256 of the certificate (hex): the directory's `node_certificate`.
    pub fingerprint: String,
}

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

fn request(profile: Profile, cn: &str, key: &dyn Signer, serial: u8) -> IssueRequest {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    IssueRequest {
        profile,
        subject: SubjectName {
            common_name: cn.into(),
            organization: Some("Các nút kyso thử nghiệm".into()),
            country: "VN".into(),
            ..SubjectName::default()
        },
        public_key: key.public_key().clone(),
        not_before: now - Duration::days(1),
        not_after: now
            + Duration::days(if profile == Profile::RootCa {
                3650
            } else {
                365
            }),
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: if profile == Profile::Tls {
            vec!["localhost".into()]
        } else {
            Vec::new()
        },
        ip_addresses: if profile == Profile::Tls {
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        } else {
            Vec::new()
        },
        path_len: None,
    }
}

impl NodeCa {
    /// A new CA writing its files into `dir`.
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let certificate = issue(
            &request(Profile::RootCa, "CA các nút thử nghiệm kyso", &key, 1),
            None,
            Some(&key),
        )
        .unwrap();
        let ca_pem = dir.join("node-ca.pem");
        std::fs::write(&ca_pem, pem("CERTIFICATE", &certificate.to_der().unwrap())).unwrap();
        Self {
            dir: dir.to_path_buf(),
            key,
            certificate,
            ca_pem,
            serial: 1,
        }
    }

    /// A node certificate (server and client authentication, for 127.0.0.1 and
    /// localhost) named `name`.
    pub fn node(&mut self, name: &str) -> NodeCert {
        self.serial += 1;
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let issuer = Issuer {
            certificate: &self.certificate,
            key: &self.key,
        };
        let cert = issue(
            &request(Profile::Tls, &format!("Nút {name}"), &key, self.serial),
            Some(&issuer),
            None,
        )
        .unwrap();
        let der = cert.to_der().unwrap();
        let cert_pem = self.dir.join(format!("{name}.pem"));
        let key_pem = self.dir.join(format!("{name}.key.pem"));
        std::fs::write(&cert_pem, pem("CERTIFICATE", &der)).unwrap();
        std::fs::write(&key_pem, pem("PRIVATE KEY", &key.to_pkcs8_der())).unwrap();
        NodeCert {
            cert_pem,
            key_pem,
            fingerprint: hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(&der)),
        }
    }
}

impl NodeCa {
    /// A CRL of the node CA (PEM, written beside the CA) revoking `revoked`:
    /// `--exchange-crl`.
    pub fn crl(&self, revoked: &[&NodeCert]) -> PathBuf {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let entries: Vec<RevokedEntry> = revoked
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(&n.cert_pem).unwrap();
                let (_, der) = der::pem::decode_vec(text.as_bytes()).unwrap();
                let cert = <Certificate as der::Decode>::from_der(&der).unwrap();
                RevokedEntry {
                    serial: cert.tbs_certificate().serial_number().as_bytes().to_vec(),
                    revoked_at: now - Duration::minutes(1),
                    reason: None,
                }
            })
            .collect();
        let issuer = Issuer {
            certificate: &self.certificate,
            key: &self.key,
        };
        let crl = build_crl(
            &issuer,
            &entries,
            now - Duration::minutes(1),
            now + Duration::days(7),
            1,
        )
        .unwrap();
        let path = self.dir.join("node-ca.crl.pem");
        std::fs::write(&path, pem("X509 CRL", &crl)).unwrap();
        path
    }

    /// [`Self::crl`] (written the same way) as DER, for `kyso_net::NodeClient::from_pem`.
    pub fn crl_der(&self, revoked: &[&NodeCert]) -> Vec<u8> {
        let text = std::fs::read_to_string(self.crl(revoked)).unwrap();
        der::pem::decode_vec(text.as_bytes()).unwrap().1
    }
}

/// A loopback port nothing listens on now (for a node to be started later on it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// POSTs `body` to `url` over HTTPS trusting `ca_pem`, without a client certificate:
/// the status, or the error (a node's exchange listener refuses the handshake).
pub fn post_without_certificate(url: &str, ca_pem: &Path, body: &[u8]) -> Result<u16, String> {
    use ureq::tls::{Certificate as TlsCertificate, RootCerts, TlsConfig};
    let ca = TlsCertificate::from_pem(&std::fs::read(ca_pem).unwrap()).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(20)))
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .build()
        .into();
    agent
        .post(url)
        .header("Content-Type", "application/vnd.kyso.exchange")
        .send(body)
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}
