//! `kyso demo`: the whole story on one machine, with real components — a city CA and
//! its HTTP services (CRL, OCSP, RFC 3161 time-stamps) on loopback, two agencies, a
//! Công văn signed by the leader (time-stamped) and sealed by the clerk with the
//! agency certificate, verified by the receiving agency; then a tampered copy, and a
//! revocation after signing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kyso_app::ca::{Ca, CertifiedKey, EndEntity, InitRequest};
use kyso_app::signing::{DetachedRequest, Keystore, sign_detached};
use kyso_cades::report::Reason;
use kyso_pki::ca::{Profile, RevocationReason, SubjectName};
use kyso_signer::KeyKind;
use time::OffsetDateTime;

use crate::args::Lang;
use crate::store;
use crate::verifying::{VerifyJob, render, run};

/// Demo keys are protected with this passphrase (printed, as it is a demo).
const DEMO_PASSPHRASE: &str = "kyso-demo";

pub(crate) fn demo(data: &Path, dir: Option<&Path>, lang: Lang) -> Result<bool> {
    let vi = lang == Lang::Vi;
    let say = |v: &str, e: &str| println!("{}", if vi { v } else { e });
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let root: PathBuf = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data.join(format!("demo-{stamp}")));
    if root.join("ca/state.json").exists() {
        anyhow::bail!(
            "{} already holds a demo; choose another --dir",
            root.display()
        );
    }
    fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let root = fs::canonicalize(&root)?;
    // Demo keys: a lighter scrypt cost unless the caller chose one.
    if std::env::var_os("KYSO_SCRYPT_LOG_N").is_none() {
        store::set_default_scrypt_log_n(14);
    }
    let pass = DEMO_PASSPHRASE;
    let net = kyso_net::Client::default();

    say(
        "== kyso: trình diễn ký số văn bản hành chính ==",
        "== kyso: digital signatures for administrative documents ==",
    );
    println!(
        "{} {}",
        if vi { "Thư mục:" } else { "Directory:" },
        root.display()
    );

    // 1. The city CA and its services.
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let ca_dir = root.join("ca");
    kyso_app::ca::init(
        &ca_dir,
        &InitRequest {
            name: "Trung tâm Chứng thực số thành phố Cần Thơ (thử nghiệm)",
            base_url: Some(&base_url),
            key_kind: KeyKind::P384,
            years: 20,
        },
        pass,
        store::scrypt_cost(),
        OffsetDateTime::now_utc(),
    )?;
    let server = crate::serve::start(&ca_dir, listener, pass)?;
    println!(
        "{} {base_url}",
        if vi {
            "1. Đã tạo CA của thành phố (CA gốc + CA cấp dưới, P-384) và dịch vụ CRL/OCSP/dấu thời gian tại"
        } else {
            "1. Created the city CA (root + issuing CA, P-384) and its CRL/OCSP/time-stamp services at"
        }
    );

    // 2. Two agencies: the People's Committee (leader + seal) and the Home Affairs Dept.
    let mut ca = Ca::open(&ca_dir)?;
    let keys = Keystore::new(&root);
    let org1 = "Ủy ban nhân dân thành phố Cần Thơ";
    let org2 = "Sở Nội vụ thành phố Cần Thơ";
    let mut issue =
        |name: &str, profile: Profile, subject: SubjectName, kind: KeyKind| -> Result<()> {
            let fields = EndEntity {
                profile,
                subject,
                not_before: OffsetDateTime::now_utc().replace_nanosecond(0)?
                    - time::Duration::minutes(1),
                days: 3 * 365,
                dns_names: Vec::new(),
            };
            ca.issue(
                pass,
                &fields,
                CertifiedKey::Generate {
                    kind,
                    keystore: &keys,
                    name,
                    passphrase: pass,
                    cost: store::scrypt_cost(),
                    export_plain: None,
                },
            )?;
            Ok(())
        };
    let person = |cn: &str, title: &str, org: &str, uid: &str| SubjectName {
        common_name: cn.into(),
        organization: Some(org.into()),
        title: Some(title.into()),
        uid: Some(uid.into()),
        state: Some("Cần Thơ".into()),
        country: "VN".into(),
        ..SubjectName::default()
    };
    issue(
        "ubnd-chu-tich",
        Profile::Person,
        person("Trần Văn Bình", "Chủ tịch", org1, "CCCD:092080001234"),
        KeyKind::P256,
    )?;
    issue(
        "ubnd-con-dau",
        Profile::Seal,
        person(org1, "Văn thư", org1, "MST:1800000001"),
        KeyKind::Rsa2048,
    )?;
    issue(
        "snv-con-dau",
        Profile::Seal,
        person(org2, "Văn thư", org2, "MST:1800000002"),
        KeyKind::P256,
    )?;
    drop(ca);
    say(
        "2. Đã cấp chứng thư số: lãnh đạo UBND thành phố (Trần Văn Bình, P-256), con dấu điện tử của UBND (RSA-2048), con dấu của Sở Nội vụ (P-256)",
        "2. Issued certificates: the city leader (Trần Văn Bình, P-256), the People's Committee seal (RSA-2048), the Home Affairs Department seal (P-256)",
    );

    // 3. The document.
    let doc = root.join("12-UBND-VP.txt");
    store::write_atomic(&doc, DOCUMENT.as_bytes(), false)?;
    say(
        "3. Văn bản: Công văn số 12/UBND-VP về việc triển khai ký số văn bản điện tử",
        "3. Document: Công văn 12/UBND-VP on rolling out digital signatures",
    );

    // 4. Leader signs (B-T), then the clerk adds the agency seal (co-signature).
    let sig = root.join("12-UBND-VP.txt.p7s");
    let (leader, leader_chain) = keys.load("ubnd-chu-tich", pass, None)?;
    let tsa_url = format!("{base_url}/tsa");
    let signed = sign_detached(
        &leader,
        &leader_chain,
        &DetachedRequest {
            file: &doc,
            out: Some(sig.clone()),
            cosign: None,
            tsa: Some(&tsa_url),
            embed_revocation: true,
            force: false,
        },
        &net,
        OffsetDateTime::now_utc(),
    )?;
    println!(
        "{} {}",
        if vi {
            "4. Lãnh đạo đã ký (CAdES B-T, có dấu thời gian) lúc"
        } else {
            "4. The leader signed (CAdES B-T, time-stamped) at"
        },
        kyso_cades::report::vietnam_time(signed.signing_time)
    );
    let (seal, seal_chain) = keys.load("ubnd-con-dau", pass, None)?;
    sign_detached(
        &seal,
        &seal_chain,
        &DetachedRequest {
            file: &doc,
            out: Some(sig.clone()),
            cosign: Some(&sig),
            tsa: Some(&tsa_url),
            embed_revocation: true,
            force: false,
        },
        &net,
        OffsetDateTime::now_utc(),
    )?;
    say(
        "5. Văn thư đã ký số bằng chứng thư số của cơ quan (con dấu điện tử) lên cùng văn bản",
        "5. The clerk added the agency's seal signature to the same document",
    );

    // 5. The receiving agency verifies with only the city root as trust anchor.
    let root_cert = ca_dir.join("root.crt.pem");
    let verify =
        |content: &Path, at: OffsetDateTime| -> Result<(kyso_cades::Report, Vec<Reason>)> {
            let (anchors, own) = store::load_anchors(std::slice::from_ref(&root_cert))?;
            run(
                &VerifyJob {
                    content: content.to_path_buf(),
                    signature: sig.clone(),
                    settings: kyso_app::verify::Settings::new(anchors, own, at),
                },
                &net,
            )
        };
    say(
        "\n6. Sở Nội vụ nhận văn bản và kiểm tra chữ ký (chỉ tin cậy CA gốc của thành phố):",
        "\n6. The Home Affairs Department receives it and verifies (trusting only the city root):",
    );
    let (report, notes) = verify(&doc, OffsetDateTime::now_utc())?;
    print!("{}", indent(&render(&report, &doc, lang, &notes)));
    let mut ok = report.verdict == kyso_cades::Verdict::Valid && report.signatures.len() == 2;

    // 6. A tampered copy.
    let tampered = root.join("12-UBND-VP-sua.txt");
    store::write_atomic(
        &tampered,
        DOCUMENT
            .replace("ngày 15 tháng 12", "ngày 25 tháng 12")
            .as_bytes(),
        false,
    )?;
    say(
        "\n7. Một bản bị sửa ngày (15 → 25 tháng 12) được kiểm tra với cùng chữ ký:",
        "\n7. A copy with the date changed (15 → 25 December) is checked against the same signature:",
    );
    let (report, notes) = verify(&tampered, OffsetDateTime::now_utc())?;
    print!("{}", indent(&render(&report, &tampered, lang, &notes)));
    ok &= report.verdict == kyso_cades::Verdict::Invalid;

    // 7. The leader's certificate is revoked after signing: the time-stamped signature
    // stays valid (status at signing time).
    let serial = kyso_app::ca::serial_of(&root.join("keys/ubnd-chu-tich.chain.pem"))?;
    Ca::open(&ca_dir)?.revoke(
        pass,
        &serial,
        RevocationReason::Superseded,
        OffsetDateTime::now_utc() + time::Duration::seconds(1),
    )?;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    say(
        "\n8. Chứng thư số của lãnh đạo bị thu hồi SAU khi ký; kiểm tra lại (CRL mới):",
        "\n8. The leader's certificate is revoked AFTER signing; verify again (fresh CRL):",
    );
    let (report, notes) = verify(&doc, OffsetDateTime::now_utc())?;
    print!("{}", indent(&render(&report, &doc, lang, &notes)));
    ok &= report.verdict == kyso_cades::Verdict::Valid
        && report
            .signatures
            .iter()
            .any(|s| s.revocation == kyso_cades::report::RevocationCheck::RevokedAfterSigning);

    drop(server);
    println!();
    if ok {
        say(
            "Hoàn tất: mọi kết quả đúng như mong đợi.",
            "Done: every result is as expected.",
        );
    } else {
        say(
            "CÓ LỖI: một kết quả không như mong đợi.",
            "ERROR: a result was not as expected.",
        );
    }
    println!(
        "{} kyso verify {} --trust {}",
        if vi {
            "Tự kiểm tra lại:"
        } else {
            "Check it yourself:"
        },
        doc.display(),
        root_cert.display()
    );
    println!(
        "{} {DEMO_PASSPHRASE}",
        if vi {
            "Mật khẩu các khóa thử nghiệm:"
        } else {
            "Passphrase of the demo keys:"
        }
    );
    Ok(ok)
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("   {l}\n")).collect()
}

const DOCUMENT: &str = "ỦY BAN NHÂN DÂN                 CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
THÀNH PHỐ CẦN THƠ                     Độc lập - Tự do - Hạnh phúc

Số: 12/UBND-VP                        Cần Thơ, ngày 15 tháng 12 năm 2026
V/v triển khai ký số văn bản điện tử

Kính gửi: Sở Nội vụ thành phố Cần Thơ.

Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác
văn thư, Ủy ban nhân dân thành phố đề nghị các cơ quan, đơn vị ký số và gửi văn bản điện
tử qua mạng, không gửi kèm bản giấy, kể từ ngày 01 tháng 01 năm 2027.

                                      TM. ỦY BAN NHÂN DÂN
                                      CHỦ TỊCH

                                      Trần Văn Bình
";
