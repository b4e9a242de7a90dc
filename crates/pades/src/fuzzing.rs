//! The fuzz entry (`fuzz/fuzz_targets/pades_revisions.rs`, replayed on stable Rust by
//! `tests/fuzz_replay.rs`): any bytes through the verifier and the signer.

use der::Decode;
use kyso_signer::SignatureAlgorithm;
use x509_cert::Certificate;

use crate::sign::{
    self, CopyForm, DocumentTimestampOptions, InfoLine, PdfSignRequest, Placement, Role,
    ValidationData,
};

/// A throwaway P-256 certificate (`CN=Signer`, issued by `CN=Root`; the certificate of
/// the seed corpus's `signed.pdf`).
const CERTIFICATE: &[u8] = include_bytes!("fuzzing-signer.der");

/// Parse arbitrary bytes as a PDF and run everything kyso does with one: the verifier
/// (revisions, every object, field and page trees, a full verification), the signer's
/// reading (page count, text lines, placement, signature widgets, embedded signatures)
/// and a whole signature (prepare, assemble with a dummy value, finish) in a role
/// chosen by the input's length, whose result is verified again; a document time-stamp
/// and a DSS update are prepared too.
pub fn pdf(data: &[u8]) {
    crate::verify::fuzzing::revisions(data);
    signing(data);
}

fn signing(data: &[u8]) {
    let Ok(certificate) = Certificate::from_der(CERTIFICATE) else {
        return;
    };
    let _ = sign::embedded_signatures(data);
    let _ = sign::document_text(data, 4);
    let _ = sign::signature_widgets(data, 1);
    let _ = sign::find_signature_area(data, "Signer", None);
    let pages = sign::page_count(data).unwrap_or(0);
    if pages > 1 {
        let _ = sign::text_lines(data, pages);
    }
    if let Ok(p) = sign::prepare_document_timestamp(data, &DocumentTimestampOptions::default()) {
        let _ = p.imprint();
    }
    let _ = sign::add_validation_data(
        data,
        &ValidationData {
            certificates: vec![CERTIFICATE.to_vec()],
            crls: Vec::new(),
            ocsps: Vec::new(),
        },
    );

    let signing_time = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let image = tiny_png();
    let mut request = PdfSignRequest::new(&certificate, signing_time);
    request.reason = Some("fuzz".into());
    match data.len() % 5 {
        0 => {}
        1 => {
            request.role = Role::Attachment;
            request.info = InfoLine {
                notation: Some("15/QĐ-STTTT".into()),
                ..InfoLine::default()
            };
        }
        2 => {
            request.role = Role::Copy;
            request.info = InfoLine {
                copy_form: Some(CopyForm::SaoY),
                agency: Some("Sở Thông tin".into()),
                ..InfoLine::default()
            };
        }
        3 => {
            // The first line of the first page as the name line: the placement search.
            request.role = Role::Leader;
            request.image = image.as_deref();
            request.placement = Placement {
                anchor: sign::text_lines(data, 1)
                    .ok()
                    .and_then(|l| l.into_iter().next())
                    .map(|l| l.text),
                ..Placement::default()
            };
        }
        _ => {
            request.role = Role::Seal;
            request.image = image.as_deref();
            request.placement = Placement {
                page: Some(1),
                rect: Some([100.0, 100.0, 200.0, 200.0]),
                anchor: None,
            };
        }
    }
    let Ok(prepared) = sign::prepare(data, &request, SignatureAlgorithm::EcdsaP256Sha256) else {
        return;
    };
    let _ = prepared.to_be_signed().len();
    let Ok(assembled) = prepared.assemble(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
    else {
        return;
    };
    let Ok(signed) = assembled.finish() else {
        return;
    };
    let mut out = Vec::with_capacity(data.len() + signed.update.len());
    out.extend_from_slice(data);
    out.extend_from_slice(&signed.update);
    crate::verify::fuzzing::verify_only(&out);
}

/// A 2×2 RGBA PNG.
fn tiny_png() -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 2, 2);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&[0x20; 16]).ok()?;
    }
    Some(out)
}
