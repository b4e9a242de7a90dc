#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! PAdES signing against the peers: pyHanko (strict validation, AdES levels), qpdf,
//! pdfsig, poppler's renderer and text extractor; on every test document (ReportLab
//! xref tables, qpdf xref streams / object streams / linearized, LibreOffice, an
//! image-only scan, an already pyHanko-signed file).

#[path = "sign/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use kyso_pades::sign::{
    self, CopyForm, DocumentTimestampOptions, InfoLine, PdfSignRequest, Placement, Role, SignError,
    SignedPdf, ValidationData,
};
use kyso_signer::{DigestAlgorithm, Signer};
use support::*;

/// Documents with a signer block, and whose image signs them.
const SIGNED_DOCUMENTS: [(&str, &str); 8] = [
    ("quyet-dinh.pdf", "signature-blue.png"),
    ("quyet-dinh-linearized.pdf", "signature-blue.png"),
    ("quyet-dinh-objstm.pdf", "signature-blue.png"),
    ("cong-van.pdf", "signature-blue.png"),
    ("cong-van-libreoffice.pdf", "signature-blue.png"),
    ("giay-moi.pdf", "signature-blue-2.png"),
    ("bao-cao.pdf", "signature-blue-2.png"),
    ("thong-bao-lich-lam-viec.pdf", "signature-blue-3.png"),
];

fn append(pdf: &[u8], update: &[u8]) -> Vec<u8> {
    let mut v = pdf.to_vec();
    v.extend_from_slice(update);
    v
}

fn timestamper(pki: &Pki) -> impl FnMut(DigestAlgorithm, &[u8]) -> Result<Vec<u8>, String> + '_ {
    move |alg, imprint| pki.timestamp(alg, imprint)
}

/// Sign `pdf` with `who` in `role`, optionally time-stamped; returns the whole file.
fn sign_as(
    pdf: &[u8],
    who: &Identity,
    role: Role,
    image: Option<&[u8]>,
    placement: Placement,
    timestamp: bool,
) -> (Vec<u8>, SignedPdf) {
    let pki = pki();
    let chain = pki.chain();
    let mut req = PdfSignRequest::new(&who.cert, pki.now);
    req.chain = &chain;
    req.role = role;
    req.image = image;
    req.placement = placement;
    req.reason = Some("Ký ban hành văn bản".into());
    req.location = Some("Cần Thơ".into());
    let mut ts = timestamper(pki);
    let signed = sign::sign(
        pdf,
        &who.key,
        &req,
        if timestamp { Some(&mut ts) } else { None },
    )
    .unwrap_or_else(|e| panic!("signing failed: {e}"));
    (append(pdf, &signed.update), signed)
}

fn anchor_of(doc: &str) -> String {
    let l = layout();
    l["documents"][doc]["marks"]["signer_name"]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

/// B-LT: a DSS with every embedded certificate, the root and fresh CRLs.
fn add_dss(pdf: &[u8]) -> Vec<u8> {
    let pki = pki();
    let mut certificates = pki.dss_certs();
    for s in sign::embedded_signatures(pdf).unwrap() {
        for c in s.certificates {
            if !certificates.contains(&c) {
                certificates.push(c);
            }
        }
    }
    let data = ValidationData {
        certificates,
        crls: pki.crls(),
        ocsps: Vec::new(),
    };
    append(pdf, &sign::add_validation_data(pdf, &data).unwrap())
}

/// B-LTA: a document time-stamp over everything.
fn add_doc_timestamp(pdf: &[u8]) -> Vec<u8> {
    let pki = pki();
    let mut ts = timestamper(pki);
    let update =
        sign::timestamp_document(pdf, &DocumentTimestampOptions::default(), &mut ts).unwrap();
    append(pdf, &update)
}

fn dir(name: &str) -> PathBuf {
    let d = pki().dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The structural peers every produced file must pass.
fn check_structure(original: &[u8], signed: &[u8], path: &Path) {
    assert!(
        signed.starts_with(original),
        "{}: the original bytes are not an exact prefix",
        path.display()
    );
    qpdf_check(path);
}

// ----------------------------------------------------------------------------------
// Placement
// ----------------------------------------------------------------------------------

#[test]
fn finds_the_signature_area_of_every_producer() {
    for (doc, _) in SIGNED_DOCUMENTS {
        let pdf = document(doc);
        let (page, want) = mark(doc, "signature_area");
        let found = sign::find_signature_area(&pdf, &anchor_of(doc), None)
            .unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(found.page, page, "{doc}: page");
        for i in 0..4 {
            assert!(
                (found.rect[i] - want[i]).abs() <= 3.0,
                "{doc}: found area {:?}, measured {want:?}",
                found.rect
            );
        }
        let (_, name_box) = mark(doc, "signer_name");
        let cx = (found.name_line.bbox[0] + found.name_line.bbox[2]) / 2.0;
        assert!(
            (cx - (name_box[0] + name_box[2]) / 2.0).abs() < 1.0,
            "{doc}: name line {:?} vs {name_box:?}",
            found.name_line.bbox
        );
    }
    // Not found: a clear error, not a guess.
    let err =
        sign::find_signature_area(&document("quyet-dinh.pdf"), "Không Có Ai", None).unwrap_err();
    assert!(matches!(err, SignError::Placement(_)), "{err}");
    // The scan has no text at all.
    assert!(
        sign::find_signature_area(&document("ban-sao-scan.pdf"), "Trần Thị Mai", None).is_err()
    );
}

#[test]
fn text_lines_are_extracted_exactly() {
    // Every ReportLab line of layout.json is found with the same text and baseline.
    let l = layout();
    for doc in ["quyet-dinh.pdf", "quyet-dinh-objstm.pdf", "bao-cao.pdf"] {
        let pdf = document(doc);
        let lines = l["documents"][doc]["lines"].as_array().unwrap();
        let mut by_page: std::collections::HashMap<usize, Vec<sign::TextLine>> =
            std::collections::HashMap::new();
        let mut missing = Vec::new();
        for want in lines {
            let page = want["page"].as_u64().unwrap() as usize;
            let got = by_page
                .entry(page)
                .or_insert_with(|| sign::text_lines(&pdf, page).unwrap());
            let text = want["text"].as_str().unwrap();
            let baseline = want["baseline"].as_f64().unwrap();
            if !got
                .iter()
                .any(|g| (g.baseline - baseline).abs() < 0.6 && g.text.contains(text))
            {
                missing.push(format!("p{page} {baseline}: {text}"));
            }
        }
        assert!(
            missing.is_empty(),
            "{doc}: lines not extracted: {missing:#?}"
        );
    }
}

// ----------------------------------------------------------------------------------
// Leader + seal on every producer
// ----------------------------------------------------------------------------------

#[test]
fn leader_then_seal_on_every_producer() {
    let pki = pki();
    let out = dir("leader-seal");
    let seal_png = image("seal-red.png");
    let jobs: Vec<_> = SIGNED_DOCUMENTS
        .iter()
        .enumerate()
        .map(|(i, (doc, png))| {
            let original = document(doc);
            let leader = if i % 2 == 0 {
                &pki.leader_rsa
            } else {
                &pki.leader_p256
            };
            let img = image(png);
            let placement = Placement {
                anchor: Some(anchor_of(doc)),
                ..Placement::default()
            };
            let (one, first) = sign_as(
                &original,
                leader,
                Role::Leader,
                Some(&img),
                placement,
                false,
            );
            let (two, second) = sign_as(
                &one,
                &pki.seal,
                Role::Seal,
                Some(&seal_png),
                Placement::default(),
                false,
            );
            assert!(
                two.starts_with(&one),
                "{doc}: the leader's revision is not a prefix"
            );
            let path = write(&out, doc, &two);
            (doc, original, two, path, first, second)
        })
        .collect();
    std::thread::scope(|s| {
        for (doc, original, signed, path, first, second) in &jobs {
            s.spawn(move || {
                check_structure(original, signed, path);
                let report = pyhanko_validate(path, &pki.root_pem());
                assert_pyhanko_report_valid(&report, 2);
                pdfsig_valid(path, 2);

                // Appearance: the blue image in the measured area, the red seal at real
                // size over the left third of it.
                let (page, area) = mark(doc, "signature_area");
                assert_eq!(first.placed.page, page, "{doc}");
                assert_eq!(second.placed.page, page, "{doc}");
                let l = first.placed.rect;
                for i in 0..2 {
                    assert!(
                        l[i] >= area[i] - 0.01 && l[i + 2] <= area[i + 2] + 0.01,
                        "{doc}: {l:?} outside {area:?}"
                    );
                }
                let seal = second.placed.rect;
                let seal_mm = (seal[2] - seal[0]) * 25.4 / 72.0;
                assert!(
                    (seal_mm - 35.98).abs() < 0.1,
                    "{doc}: seal {seal_mm} mm wide"
                );
                let lw = l[2] - l[0];
                assert!(
                    (seal[2] - (l[0] + lw / 3.0)).abs() < 0.01,
                    "{doc}: seal {seal:?} leader {l:?}"
                );
                let rendered = render(path, page);
                let h = 841.89;
                let blue_in = count_pixels(&rendered, h, area, is_blue);
                let blue_all = count_pixels(&rendered, h, [0.0, 0.0, 600.0, 850.0], is_blue);
                assert!(
                    blue_in > 300,
                    "{doc}: {blue_in} blue pixels in the signature area"
                );
                assert!(
                    blue_in * 100 >= blue_all * 95,
                    "{doc}: blue outside the area ({blue_in}/{blue_all})"
                );
                let left_third = [l[0], l[1], l[0] + lw / 3.0, l[3]];
                let rest = [l[0] + lw / 3.0 + 2.0, l[1], l[2], l[3]];
                let red_left = count_pixels(&rendered, h, left_third, is_red);
                let red_rest = count_pixels(&rendered, h, rest, is_red);
                assert!(
                    red_left > 500,
                    "{doc}: {red_left} red pixels over the left third"
                );
                assert!(
                    red_rest * 20 < red_left,
                    "{doc}: seal reaches right ({red_rest} vs {red_left})"
                );
            });
        }
    });
}

// ----------------------------------------------------------------------------------
// Levels
// ----------------------------------------------------------------------------------

/// `pyhanko sign adesverify` summary line of the first signature, and the log.
fn adesverify(path: &Path) -> (String, String) {
    let pki = pki();
    let mut cmd = pyhanko();
    cmd.args(["sign", "adesverify", "--trust"])
        .arg(pki.root_pem())
        .arg("--trust-replace")
        .arg(path);
    let out = run(&mut cmd);
    let text = describe(&cmd, &out);
    let summary = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("Signature1:"))
        .unwrap_or_else(|| panic!("no summary line: {text}"))
        .to_string();
    (summary, text)
}

/// Validate every document time-stamp with pyHanko's Python API (the CLI validates
/// them only as part of a signature's LTA chain).
fn pyhanko_document_timestamps(path: &Path) -> Vec<String> {
    const SCRIPT: &str = r#"
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
from pyhanko.keys import load_cert_from_pemder
with open(sys.argv[1], 'rb') as f:
    r = PdfFileReader(f, strict=True)
    vc = ValidationContext(trust_roots=[load_cert_from_pemder(sys.argv[2])], allow_fetching=False)
    for ts in r.embedded_timestamp_signatures:
        st = validate_pdf_timestamp(ts, validation_context=vc)
        print(ts.field_name, st.intact, st.valid, st.trusted, st.coverage.name)
"#;
    let python =
        PathBuf::from(std::env::var_os("KYSO_PYTHON").unwrap_or_else(|| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python").into()
        }));
    let mut cmd = std::process::Command::new(python);
    cmd.arg("-c").arg(SCRIPT).arg(path).arg(pki().root_pem());
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", describe(&cmd, &out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn levels_b_t_b_lt_b_lta() {
    let pki = pki();
    let out = dir("levels");
    let original = document("cong-van.pdf");
    let img = image("signature-blue.png");
    let mut jobs = Vec::new();
    for (name, who) in [("rsa", &pki.leader_rsa), ("p256", &pki.leader_p256)] {
        let placement = Placement {
            anchor: Some(anchor_of("cong-van.pdf")),
            ..Placement::default()
        };
        let (bt, signed) = sign_as(&original, who, Role::Leader, Some(&img), placement, true);
        assert!(signed.timestamped);
        let blt = add_dss(&bt);
        let blta = add_doc_timestamp(&blt);
        // Raising B-LTA again (archive time-stamp renewal): DSS + new time-stamp.
        let blta2 = add_doc_timestamp(&add_dss(&blta));
        for (level, bytes) in [
            ("b-t", &bt),
            ("b-lt", &blt),
            ("b-lta", &blta),
            ("b-lta2", &blta2),
        ] {
            let path = write(&out, &format!("{name}-{level}.pdf"), bytes);
            jobs.push((name, level, bytes.clone(), path));
        }
    }
    std::thread::scope(|s| {
        for (name, level, bytes, path) in &jobs {
            let original = &original;
            s.spawn(move || {
                check_structure(original, bytes, path);
                let report = pyhanko_validate(path, &pki.root_pem());
                assert_pyhanko_report_valid(&report, 1);
                assert!(
                    report.contains("The signature is judged VALID") && !report.contains("INVALID"),
                    "{name} {level}: {report}"
                );
                pdfsig_valid(path, 1);
                let (summary, log) = adesverify(path);
                if *level == "b-t" {
                    // Without revocation data the AdES validation cannot trust the signer
                    // (the CRL URLs do not resolve): what B-LT fixes.
                    assert!(summary.contains(":UNTRUSTED"), "{name} {level}: {summary}");
                } else {
                    assert!(
                        summary.contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                            && summary.contains("EXTENDED_WITH_LTA_UPDATES")
                            && summary.contains("ACCEPTABLE_MODIFICATIONS"),
                        "{name} {level}: {summary}\n{log}"
                    );
                }
                let doc_ts = pyhanko_document_timestamps(path);
                let want = match *level {
                    "b-lta" => 1,
                    "b-lta2" => 2,
                    _ => 0,
                };
                assert_eq!(doc_ts.len(), want, "{name} {level}: {doc_ts:?}");
                for (i, line) in doc_ts.iter().enumerate() {
                    let coverage = if i + 1 == want {
                        "ENTIRE_FILE"
                    } else {
                        "ENTIRE_REVISION"
                    };
                    assert_eq!(
                        line,
                        &format!("DocTimeStamp{} True True True {coverage}", i + 1),
                        "{name} {level}"
                    );
                }
                if level.starts_with("b-lta") {
                    assert!(
                        !log.contains("No document timestamps after signature"),
                        "{name} {level}: {log}"
                    );
                }
            });
        }
    });
}

// ----------------------------------------------------------------------------------
// Attachments, copies, invisible, explicit placement
// ----------------------------------------------------------------------------------

#[test]
fn attachment_and_copy_information_lines() {
    let pki = pki();
    let out = dir("info-lines");
    let cases = [
        (
            "phu-luc.pdf",
            Role::Attachment,
            InfoLine {
                notation: Some("15/QĐ-STTTT".into()),
                ..InfoLine::default()
            },
        ),
        (
            "ban-sao-scan.pdf",
            Role::Copy,
            InfoLine {
                copy_form: Some(CopyForm::SaoY),
                agency: Some(AGENCY.into()),
                ..InfoLine::default()
            },
        ),
    ];
    for (doc, role, info) in cases {
        let original = document(doc);
        let chain = pki.chain();
        let mut req = PdfSignRequest::new(&pki.seal.cert, pki.now);
        req.chain = &chain;
        req.role = role;
        req.info = info;
        let signed = sign::sign(&original, &pki.seal.key, &req, None).unwrap();
        let bytes = append(&original, &signed.update);
        let path = write(&out, doc, &bytes);
        check_structure(&original, &bytes, &path);
        // Pillow writes generation 65536 on the free head entry of its xref table, which
        // pyHanko's strict reader refuses in the original bytes (not in kyso's update).
        let strict = doc != "ban-sao-scan.pdf";
        assert_pyhanko_report_valid(&pyhanko_validate_with(&path, &pki.root_pem(), strict), 1);
        pdfsig_valid(&path, 1);

        let text = signed.placed.info_text.clone().unwrap();
        let time = sign::vietnam_iso8601(pki.now);
        let want = match role {
            Role::Attachment => format!("Số: 15/QĐ-STTTT; {time}"),
            _ => format!("SAO Y; {AGENCY}; {time}"),
        };
        assert_eq!(text, want);
        let extracted = text_of(&path, 1);
        assert!(
            extracted.contains(&want),
            "{doc}: pdftotext does not give {want:?}: {extracted}"
        );
        // Black text at the top right of page 1, 10 pt.
        let r = signed.placed.rect;
        let (w, h) = if doc == "ban-sao-scan.pdf" {
            (595.44, 842.04)
        } else {
            (595.28, 841.89)
        };
        let mm = 72.0 / 25.4;
        assert!(
            (r[2] - (w - 15.0 * mm)).abs() < 0.01 && r[3] > h - 60.0 && r[0] > 30.0 * mm,
            "{doc}: {r:?}"
        );
        assert!(
            (r[3] - r[1] - 10.0 * 1.1).abs() < 1.0,
            "{doc}: line height {r:?}"
        );
        let before = write(&out, &format!("orig-{doc}"), &original);
        let black_before = count_pixels(&render(&before, 1), h, r, is_black);
        let black_after = count_pixels(&render(&path, 1), h, r, is_black);
        assert!(
            black_after > black_before + 100,
            "{doc}: {black_before} → {black_after} black pixels"
        );
        // The font is an embedded Identity-H subset with ToUnicode.
        let mut cmd = std::process::Command::new("pdffonts");
        cmd.arg(&path);
        let fonts = String::from_utf8(run(&mut cmd).stdout).unwrap();
        assert!(
            fonts.lines().any(|l| l.contains("LiberationSerif")
                && l.contains("CID TrueType")
                && l.contains("Identity-H")
                && l.contains("yes yes yes")),
            "{fonts}"
        );
    }
}

#[test]
fn invisible_and_explicit_rectangle() {
    let pki = pki();
    let out = dir("explicit");
    let original = document("quyet-dinh.pdf");
    let (one, first) = sign_as(
        &original,
        &pki.leader_p256,
        Role::Invisible,
        None,
        Placement::default(),
        false,
    );
    assert_eq!(first.placed.rect, [0.0; 4]);
    let img = image("signature-blue.png");
    let rect = [100.0, 100.0, 250.0, 160.0];
    let (two, second) = sign_as(
        &one,
        &pki.leader_rsa,
        Role::Leader,
        Some(&img),
        Placement {
            page: Some(1),
            rect: Some(rect),
            anchor: None,
        },
        false,
    );
    let r = second.placed.rect;
    assert!(
        r[0] >= rect[0] && r[1] >= rect[1] && r[2] <= rect[2] && r[3] <= rect[3],
        "{r:?}"
    );
    // PAdES B-B: content-type, message-digest, signing-certificate-v2; no signingTime
    // (the claimed time is /M).
    for sig in sign::embedded_signatures(&two).unwrap() {
        assert_eq!(sig.sub_filter, "ETSI.CAdES.detached");
        let ci = <cms::content_info::ContentInfo as der::Decode>::from_der(&sig.cms).unwrap();
        let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
        let si = sd.signer_infos.0.iter().next().unwrap();
        let oids: Vec<String> = si
            .signed_attrs
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.oid.to_string())
            .collect();
        assert!(
            !oids.contains(&"1.2.840.113549.1.9.5".to_string()),
            "{oids:?}"
        );
        for want in [
            "1.2.840.113549.1.9.3",
            "1.2.840.113549.1.9.4",
            "1.2.840.113549.1.9.16.2.47",
        ] {
            assert!(oids.contains(&want.to_string()), "{want} missing: {oids:?}");
        }
    }
    let tail = String::from_utf8_lossy(&two[original.len()..]).into_owned();
    assert!(
        tail.contains("/M (D:") && tail.contains("+07'00')"),
        "no /M"
    );
    let path = write(&out, "invisible-explicit.pdf", &two);
    check_structure(&original, &two, &path);
    assert_pyhanko_report_valid(&pyhanko_validate(&path, &pki.root_pem()), 2);
    pdfsig_valid(&path, 2);
    // Bad placements are clear errors.
    let chain = pki.chain();
    let mut req = PdfSignRequest::new(&pki.leader_rsa.cert, pki.now);
    req.chain = &chain;
    req.role = Role::Leader;
    req.image = Some(&img);
    req.placement.page = Some(9);
    assert!(matches!(
        sign::prepare(&original, &req, pki.leader_rsa.key.algorithm()),
        Err(SignError::Placement(_))
    ));
    req.placement = Placement {
        page: Some(1),
        rect: Some([10.0, 10.0, 5.0, 5.0]),
        anchor: None,
    };
    assert!(matches!(
        sign::prepare(&original, &req, pki.leader_rsa.key.algorithm()),
        Err(SignError::Placement(_))
    ));
    req.image = Some(b"not a png");
    req.placement = Placement::default();
    assert!(matches!(
        sign::prepare(&original, &req, pki.leader_rsa.key.algorithm()),
        Err(SignError::Image(_))
    ));
}

// ----------------------------------------------------------------------------------
// Already-signed input, errors, limits
// ----------------------------------------------------------------------------------

#[test]
fn signs_over_a_pyhanko_signature() {
    let pki = pki();
    let out = dir("over-pyhanko");
    let original = document("giay-moi.pdf");
    let key_pem = der::pem::encode_string(
        "PRIVATE KEY",
        der::pem::LineEnding::LF,
        &pki.seal.key.to_pkcs8_der(),
    )
    .unwrap();
    let key = write(&out, "k.pem", key_pem.as_bytes());
    let cert = write(&out, "c.pem", pem(&pki.seal.cert).as_bytes());
    let chain = write(&out, "chain.pem", pem(&pki.issuing).as_bytes());
    let input = write(&out, "in.pdf", &original);
    let by_pyhanko = out.join("pyhanko-signed.pdf");
    let mut cmd = pyhanko();
    cmd.args(["sign", "addsig", "--field", "PyHanko1", "pemder", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--chain")
        .arg(&chain)
        .arg("--no-pass")
        .arg(&input)
        .arg(&by_pyhanko);
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", describe(&cmd, &o));
    let signed_by_peer = std::fs::read(&by_pyhanko).unwrap();
    let img = image("signature-blue-2.png");
    let (bytes, placed) = sign_as(
        &signed_by_peer,
        &pki.leader_p256,
        Role::Leader,
        Some(&img),
        Placement {
            anchor: Some(anchor_of("giay-moi.pdf")),
            ..Placement::default()
        },
        true,
    );
    assert_eq!(placed.placed.field_name, "Signature1");
    let path = write(&out, "both.pdf", &bytes);
    check_structure(&signed_by_peer, &bytes, &path);
    assert_pyhanko_report_valid(&pyhanko_validate(&path, &pki.root_pem()), 2);
    pdfsig_valid(&path, 2);
    // Both signatures are listed for B-LT material.
    let sigs = sign::embedded_signatures(&bytes).unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[1].timestamp_tokens.len(), 1);
}

#[test]
fn refuses_encrypted_and_damaged_files() {
    let pki = pki();
    let out = dir("errors");
    let input = write(&out, "plain.pdf", &document("quyet-dinh.pdf"));
    let encrypted = out.join("encrypted.pdf");
    let mut cmd = qpdf();
    cmd.args(["--encrypt", "u", "o", "256", "--"])
        .arg(&input)
        .arg(&encrypted);
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", describe(&cmd, &o));
    let enc = std::fs::read(&encrypted).unwrap();
    let req = PdfSignRequest::new(&pki.seal.cert, pki.now);
    let err = sign::sign(&enc, &pki.seal.key, &req, None).unwrap_err();
    assert!(matches!(err, SignError::Encrypted), "{err}");
    assert!(err.to_string().contains("encrypted"));
    for bad in [
        &b""[..],
        b"%PDF-1.7\n",
        b"hello world",
        b"%PDF-1.4\nstartxref\n999999\n%%EOF",
        b"%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer<</Size 1>>\nstartxref\n9\n%%EOF",
    ] {
        let err = sign::sign(bad, &pki.seal.key, &req, None).unwrap_err();
        assert!(matches!(err, SignError::Malformed(_)), "{err}");
    }
    // A truncated file.
    let doc = document("quyet-dinh.pdf");
    assert!(sign::sign(&doc[..doc.len() / 2], &pki.seal.key, &req, None).is_err());
}

#[test]
fn contents_reservation_is_checked_and_grows() {
    let pki = pki();
    let original = document("quyet-dinh-objstm.pdf");
    let chain = pki.chain();
    let mut req = PdfSignRequest::new(&pki.leader_rsa.cert, pki.now);
    req.chain = &chain;
    req.contents_size = Some(600);
    // Two-step API: a clear error.
    let prepared = sign::prepare(&original, &req, pki.leader_rsa.key.algorithm()).unwrap();
    let sig = pki.leader_rsa.key.sign(prepared.to_be_signed()).unwrap();
    let err = prepared.assemble(sig).unwrap().finish().unwrap_err();
    assert!(
        matches!(err, SignError::ContentsTooSmall { reserved: 600, .. }),
        "{err}"
    );
    // One call: grows and signs again.
    let mut ts = timestamper(pki);
    let signed = sign::sign(&original, &pki.leader_rsa.key, &req, Some(&mut ts)).unwrap();
    assert!(signed.reserved >= signed.cms_len && signed.timestamped);
    let bytes = append(&original, &signed.update);
    let path = write(&dir("reservation"), "grown.pdf", &bytes);
    assert_pyhanko_report_valid(&pyhanko_validate(&path, &pki.root_pem()), 1);
}

#[test]
fn mutated_pdfs_never_panic() {
    let pki = pki();
    let original = document("quyet-dinh-objstm.pdf");
    let img = image("signature-blue.png");
    let mut req = PdfSignRequest::new(&pki.leader_p256.cert, pki.now);
    req.role = Role::Leader;
    req.image = Some(&img);
    let alg = pki.leader_p256.key.algorithm();
    // Deterministic pseudo-random mutations (xorshift).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut m = original.clone();
        for _ in 0..(1 + next() % 8) {
            let i = (next() as usize) % m.len();
            match next() % 3 {
                0 => m[i] = next() as u8,
                1 => {
                    m.truncate(i.max(1));
                }
                _ => m.insert(i, b"0<[(/"[(next() % 5) as usize]),
            }
        }
        let _ = sign::prepare(&m, &req, alg);
        let _ = sign::embedded_signatures(&m);
        let _ = sign::text_lines(&m, 1);
    }
}
