//! `kyso sign` for any file: detached CAdES `.p7s` (B-B; B-T with `--tsa`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kyso_cades::sign::{SignRequest, add_signature_timestamp, cosign, signature_value};
use kyso_cades::tsp;
use kyso_signer::{DigestAlgorithm, Signer, SoftKey};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::store::{self, Keystore};

/// A loaded signing identity: key + certificate chain (signer first).
pub(crate) struct Identity {
    pub(crate) key: Box<dyn Signer>,
    pub(crate) chain: Vec<Certificate>,
}

impl Identity {
    pub(crate) fn from_keystore(
        data: &Path,
        name: &str,
        pss: bool,
        passphrase: &str,
    ) -> Result<Self> {
        let (key, chain) = Keystore::new(data).load(name, passphrase, None)?;
        Self::new(key, chain, pss)
    }

    pub(crate) fn from_p12(path: &Path, pss: bool, passphrase: &str) -> Result<Self> {
        let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let contents = kyso_signer::pkcs12::parse(&bytes, passphrase.as_bytes())
            .with_context(|| format!("cannot open {}", path.display()))?;
        let key = SoftKey::from_pkcs8_der(&contents.private_key, None)?;
        let cert_der = contents
            .certificate
            .with_context(|| format!("{} holds no certificate for its key", path.display()))?;
        let mut chain = vec![der::Decode::from_der(&cert_der)?];
        for other in &contents.other_certificates {
            chain.push(der::Decode::from_der(other)?);
        }
        Self::new(key, chain, pss)
    }

    /// A key from elsewhere (a PKCS#11 token); `chain` starts with its certificate.
    pub(crate) fn from_signer(key: Box<dyn Signer>, chain: Vec<Certificate>) -> Self {
        Self { key, chain }
    }

    fn new(key: SoftKey, chain: Vec<Certificate>, pss: bool) -> Result<Self> {
        let key = if pss {
            let alg = key.algorithm().to_pss();
            if !alg.is_pss() {
                bail!("--pss needs an RSA key");
            }
            key.with_algorithm(alg)?
        } else {
            key
        };
        if chain.is_empty() {
            bail!("no certificate for the key");
        }
        Ok(Self {
            key: Box::new(key),
            chain,
        })
    }

    pub(crate) fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }
}

/// Complete a chain through AIA caIssuers (see [`kyso_app::trust::complete_chain`]).
pub(crate) fn complete_chain(chain: &mut Vec<Certificate>, net: &kyso_net::Client) -> Vec<String> {
    kyso_app::trust::complete_chain(chain, net)
}

/// The CRLs named by the distribution points of `chain`, fetched (each once);
/// unreachable ones become warnings.
pub(crate) fn fetch_crls(
    chain: &[Certificate],
    net: &kyso_net::Client,
    warnings: &mut Vec<String>,
) -> Vec<Vec<u8>> {
    let mut crls = Vec::new();
    for cert in chain {
        for url in kyso_cades::verify::crl_urls(cert) {
            match net.get(&url) {
                Ok(c) if !crls.contains(&c) => crls.push(c),
                Ok(_) => {}
                Err(e) => warnings.push(format!("could not fetch CRL {url}: {e}")),
            }
        }
    }
    crls
}

/// Options of one signing.
pub(crate) struct SignJob<'a> {
    pub(crate) file: &'a Path,
    pub(crate) out: PathBuf,
    pub(crate) cosign: Option<&'a Path>,
    pub(crate) tsa: Option<&'a str>,
    pub(crate) embed_revocation: bool,
    pub(crate) force: bool,
}

/// What a signing produced.
pub(crate) struct Signed {
    pub(crate) out: PathBuf,
    pub(crate) signing_time: OffsetDateTime,
    pub(crate) timestamped: bool,
    pub(crate) embedded_crls: usize,
    pub(crate) warnings: Vec<String>,
}

/// Digest a file by streaming it.
pub(crate) fn digest_file(path: &Path, digest: DigestAlgorithm) -> Result<Vec<u8>> {
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = digest.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

pub(crate) fn sign_file(
    identity: &Identity,
    job: &SignJob<'_>,
    net: &kyso_net::Client,
) -> Result<Signed> {
    let input_abs = fs::canonicalize(job.file)
        .with_context(|| format!("cannot read {}", job.file.display()))?;
    if fs::canonicalize(&job.out).ok().as_deref() == Some(input_abs.as_path()) {
        bail!("the output {} would overwrite the input", job.out.display());
    }
    if job.out.exists() && !job.force && job.cosign.map(|c| c != job.out).unwrap_or(true) {
        bail!(
            "{} exists; use --force to replace it, or --cosign to add a signature to it",
            job.out.display()
        );
    }
    let mut warnings = Vec::new();
    let chain = &identity.chain;
    let digest = identity.key.algorithm().digest();
    let message_digest = digest_file(job.file, digest)?;

    let crls = if job.embed_revocation {
        fetch_crls(chain, net, &mut warnings)
    } else {
        Vec::new()
    };
    let signing_time = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let validity = identity.certificate().tbs_certificate().validity();
    let (from, to) = (
        crate::ca::time_of(&validity.not_before),
        crate::ca::time_of(&validity.not_after),
    );
    if signing_time < from || signing_time > to {
        warnings.push(format!(
            "the certificate is not valid now (valid {} to {}): verifiers will reject this signature / chứng thư số không còn hiệu lực",
            crate::ca::rfc3339(from),
            crate::ca::rfc3339(to)
        ));
    }
    let request = SignRequest {
        message_digest: &message_digest,
        signer_certificate: identity.certificate(),
        chain: &chain[1..],
        signing_time: Some(signing_time),
        content_type: None,
        crls: &crls,
        encapsulated: None,
    };
    let (mut cms, signature) = match job.cosign {
        Some(existing) => {
            let bytes = fs::read(existing)
                .with_context(|| format!("cannot read {}", existing.display()))?;
            cosign(&bytes, identity.key.as_ref(), &request)?
        }
        None => {
            let cms = kyso_cades::sign(identity.key.as_ref(), &request)?;
            let sig = signature_value(&cms)?;
            (cms, sig)
        }
    };
    let mut timestamped = false;
    if let Some(url) = job.tsa {
        let imprint = DigestAlgorithm::Sha256.digest(&signature);
        let nonce: u64 = rand::random::<u64>() >> 1;
        let req = tsp::request(DigestAlgorithm::Sha256, &imprint, Some(nonce), true)?;
        let resp = net
            .post(url, "application/timestamp-query", &req)
            .with_context(|| format!("time-stamp authority {url} did not answer"))?;
        let token = tsp::token_from_response(&resp, &imprint, Some(nonce))?;
        cms = add_signature_timestamp(&cms, &signature, &token)?;
        timestamped = true;
    }
    store::write_atomic(&job.out, &cms, false)?;
    Ok(Signed {
        out: job.out.clone(),
        signing_time,
        timestamped,
        embedded_crls: crls.len(),
        warnings,
    })
}

/// The signing identity chosen on the command line: `--key NAME` (keystore),
/// `--p12 FILE` or `--pkcs11 MODULE` (token; the chain is completed through AIA).
pub(crate) fn load_identity(
    data: &Path,
    key: Option<&str>,
    p12: Option<&Path>,
    token: &crate::args::TokenArgs,
    pss: bool,
    net: &kyso_net::Client,
) -> Result<Identity> {
    match (key, p12, &token.module) {
        (Some(name), None, None) => {
            let pass = store::passphrase("Mật khẩu khóa bí mật (passphrase): ")?;
            Identity::from_keystore(data, name, pss, &pass)
        }
        (None, Some(p12), None) => {
            let pass = store::passphrase("Mật khẩu tệp .p12 (passphrase): ")?;
            Identity::from_p12(p12, pss, &pass)
        }
        (None, None, Some(_)) => {
            let key = crate::token::open_key(token, pss)?;
            let mut chain = vec![key.certificate().clone()];
            // Tokens often hold only the signer's certificate: fetch the rest of the
            // chain (AIA caIssuers) so verifiers need only the root.
            for w in complete_chain(&mut chain, net) {
                eprintln!("kyso: lưu ý / note: {w}");
            }
            Ok(Identity::from_signer(Box::new(key), chain))
        }
        _ => bail!("choose one key: --key NAME (keystore), --p12 FILE or --pkcs11 MODULE (token)"),
    }
}
