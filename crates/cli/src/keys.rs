//! Opening the signing key the command line names: a keystore entry (`--key`), a
//! PKCS#12 file (`--p12`) or a PKCS#11 token (`--pkcs11`), with passphrases and PINs from
//! the environment or a prompt. Local plumbing shared by the commands that sign.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use kyso_signer::{Signer, SoftKey};
use x509_cert::Certificate;

use crate::args::TokenArgs;
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

/// The signing identity chosen on the command line: `--key NAME` (keystore),
/// `--p12 FILE` or `--pkcs11 MODULE` (token; the chain is completed through AIA).
pub(crate) fn load_identity(
    data: &Path,
    key: Option<&str>,
    p12: Option<&Path>,
    token: &TokenArgs,
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
            for w in kyso_app::trust::complete_chain(&mut chain, net) {
                eprintln!("kyso: lưu ý / note: {w}");
            }
            Ok(Identity::from_signer(Box::new(key), chain))
        }
        _ => bail!("choose one key: --key NAME (keystore), --p12 FILE or --pkcs11 MODULE (token)"),
    }
}
