//! `kyso token` and signing with a PKCS#11 token.

use anyhow::{Context, Result, bail};
use kyso_pkcs11::{KeySelector, Module, Pin, TokenKey};

use crate::args::TokenArgs;

/// The PIN: `KYSO_PIN`, else a prompt. Never logged.
pub(crate) fn pin() -> Result<Pin> {
    if let Ok(p) = std::env::var("KYSO_PIN") {
        return Ok(Pin::new(p));
    }
    let p = rpassword::prompt_password("Mã PIN của thiết bị ký số (token PIN): ")
        .context("no KYSO_PIN set and no terminal to ask for the PIN")?;
    Ok(Pin::new(p))
}

pub(crate) fn module(args: &TokenArgs) -> Result<Module> {
    let path = args
        .module
        .as_ref()
        .context("give the token vendor's PKCS#11 module with --pkcs11 PATH")?;
    Ok(Module::open(path)?)
}

pub(crate) fn selector(args: &TokenArgs) -> Result<KeySelector> {
    Ok(match (&args.key_id, &args.key_label, &args.cert_serial) {
        (Some(id), None, None) => {
            KeySelector::Id(hex::decode(id).with_context(|| format!("--key-id {id} is not hex"))?)
        }
        (None, Some(label), None) => KeySelector::Label(label.clone()),
        (None, None, Some(serial)) => KeySelector::CertificateSerial(serial.clone()),
        (None, None, None) => KeySelector::Only,
        _ => bail!("choose the key by one of --key-id, --key-label or --cert-serial"),
    })
}

/// Open the token, log in and select the key.
pub(crate) fn open_key(args: &TokenArgs, pss: bool) -> Result<TokenKey> {
    let module = module(args)?;
    let token = module.find_token(args.token_serial.as_deref(), args.token_label.as_deref())?;
    let session = module.login(&token, &pin()?, args.allow_final_pin_try)?;
    Ok(session.key(&selector(args)?, None, pss)?)
}

/// `kyso token list`.
pub(crate) fn list(args: &TokenArgs, keys: bool) -> Result<String> {
    let module = module(args)?;
    let mut out = String::new();
    for t in module.tokens()? {
        let pin_state = if t.pin.locked {
            "PIN ĐÃ KHÓA / locked"
        } else if t.pin.final_try {
            "còn 1 lần nhập PIN / one PIN attempt left"
        } else if t.pin.count_low {
            "đã nhập sai PIN / wrong PIN entered before"
        } else {
            "PIN bình thường / ok"
        };
        out.push_str(&format!(
            "slot {}\t{}\tserial {}\t{} {}\t{pin_state}\n",
            t.slot, t.label, t.serial, t.manufacturer, t.model
        ));
        if keys {
            let session = module.login(&t, &pin()?, args.allow_final_pin_try)?;
            for k in session.keys()? {
                let cert = k
                    .certificate
                    .as_ref()
                    .map(|c| {
                        format!(
                            "{} (serial {})",
                            c.tbs_certificate().subject(),
                            hex::encode_upper(c.tbs_certificate().serial_number().as_bytes())
                        )
                    })
                    .unwrap_or_else(|| "không có chứng thư số / no certificate".into());
                out.push_str(&format!(
                    "  key id {} label {:?} {}: {cert}\n",
                    hex::encode_upper(&k.id),
                    k.label,
                    k.key_type
                ));
            }
        }
    }
    Ok(out)
}
