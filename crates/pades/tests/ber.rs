#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! A PDF signature whose /Contents holds BER (indefinite lengths, as Adobe Acrobat
//! writes) verifies exactly like its DER form: CMS allows BER (RFC 5652 §1), and
//! `kyso-cades` normalises it before decoding. Before issue 9 this was
//! `contents_not_der`.

#[path = "support/fixture.rs"]
mod fixture;

use fixture::{codes, signed_table, verify};
use kyso_cades::Verdict;

/// Indefinite lengths on every constructed value down to `depth` levels.
fn to_ber(der: &[u8], depth: usize) -> Vec<u8> {
    fn header(b: &[u8], pos: usize) -> (usize, usize) {
        let first = b[pos + 1];
        if first < 0x80 {
            return (2, usize::from(first));
        }
        let n = usize::from(first & 0x7f);
        let len = (0..n).fold(0, |acc, i| acc << 8 | usize::from(b[pos + 2 + i]));
        (2 + n, len)
    }
    fn walk(b: &[u8], depth: usize, out: &mut Vec<u8>) {
        let mut pos = 0;
        while pos < b.len() {
            let (h, len) = header(b, pos);
            let tag = b[pos];
            if depth > 0 && tag & 0x20 != 0 {
                out.extend_from_slice(&[tag, 0x80]);
                walk(&b[pos + h..pos + h + len], depth - 1, out);
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&b[pos..pos + h + len]);
            }
            pos += h + len;
        }
    }
    let mut out = Vec::new();
    walk(der, depth, &mut out);
    out
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| format!("{b:02X}").into_bytes())
        .collect()
}

fn unhex(text: &[u8]) -> Vec<u8> {
    text.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn ber_contents_verify_like_der() {
    let pdf = signed_table().to_vec();
    let der_report = verify(&pdf);
    assert_eq!(der_report.verdict, Verdict::Valid, "{der_report:#?}");
    let marker = b"/Contents <";
    let start = pdf
        .windows(marker.len())
        .rposition(|w| w == marker)
        .unwrap()
        + marker.len();
    let end = start + pdf[start..].iter().position(|b| *b == b'>').unwrap();
    let value = unhex(&pdf[start..end]);
    let der_len = kyso_cades::ber::encoded_len(&value).unwrap();
    let der = &value[..der_len];
    for depth in [1, 4, 64] {
        let ber = to_ber(der, depth);
        assert_eq!(&ber[..2], &[0x30, 0x80]);
        assert_eq!(kyso_cades::ber::to_der(&ber).unwrap(), der);
        let mut contents = hex(&ber);
        assert!(
            contents.len() <= end - start,
            "BER must fit the placeholder"
        );
        contents.resize(end - start, b'0');
        let mut out = pdf.clone();
        out[start..end].copy_from_slice(&contents);
        let r = verify(&out);
        assert_eq!(
            r.verdict,
            Verdict::Valid,
            "depth {depth}: {:?}\n{r:#?}",
            codes(&r)
        );
        // Something after the BER value other than padding is still refused.
        let mut trailing = hex(&ber);
        trailing.extend_from_slice(b"01");
        trailing.resize(end - start, b'0');
        let mut out = pdf.clone();
        out[start..end].copy_from_slice(&trailing);
        assert_eq!(verify(&out).verdict, Verdict::Invalid);
    }
}

/// A PDF signature whose CMS has no signed attributes (legacy adbe.pkcs7.detached
/// writers, `openssl cms -sign -noattr`): the signature over the byte ranges' digest
/// verifies, with a "not baseline" warning instead of `no_signed_attributes`.
#[test]
fn cms_without_signed_attributes_in_a_pdf_is_valid_with_a_warning() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::{SignedData, SignerInfos};
    use der::{Decode, Encode};
    use kyso_signer::Signer;

    let pdf = signed_table().to_vec();
    let marker = b"/ByteRange [";
    let at = pdf
        .windows(marker.len())
        .rposition(|w| w == marker)
        .unwrap()
        + marker.len();
    let close = at + pdf[at..].iter().position(|b| *b == b']').unwrap();
    let range: Vec<usize> = std::str::from_utf8(&pdf[at..close])
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let segments = [
        &pdf[range[0]..range[0] + range[1]],
        &pdf[range[2]..range[2] + range[3]],
    ];
    let (key, _, _) = fixture::leader();
    let signature = key.sign(&segments.concat()).unwrap();
    let with_attrs = fixture::cms_over(&segments, false);
    let info = ContentInfo::from_der(&with_attrs).unwrap();
    let mut sd: SignedData = info.content.decode_as().unwrap();
    let mut infos = sd.signer_infos.0.into_vec();
    infos[0].signed_attrs = None;
    infos[0].signature = der::asn1::OctetString::new(signature).unwrap();
    sd.signer_infos = SignerInfos(infos.try_into().unwrap());
    let cms = ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    // The gap is the /Contents hex string, between the two ranges.
    let start = range[0] + range[1] + 1;
    let end = range[2] - 1;
    for value in [cms.clone(), to_ber(&cms, 4)] {
        let mut contents = hex(&value);
        contents.resize(end - start, b'0');
        let mut out = pdf.clone();
        out[start..end].copy_from_slice(&contents);
        let r = verify(&out);
        let found = codes(&r);
        assert_eq!(r.verdict, Verdict::Valid, "{found:?}\n{r:#?}");
        let warnings: Vec<&str> = r
            .signatures
            .last()
            .unwrap()
            .cms
            .warnings
            .iter()
            .map(|w| w.code)
            .collect();
        assert!(warnings.contains(&"not_baseline"), "{warnings:?}");
    }
}
