//! RFC 3161 time-stamping: requests, responses, a time-stamp authority (the responder
//! core, served over HTTP by the `kyso` binary) and token parsing.

use const_oid::ObjectIdentifier;
use der::asn1::{Any, Int, OctetString};
use der::{Decode, Encode, Tagged};
use kyso_signer::{DigestAlgorithm, Signer};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::CadesError;
use crate::asn1::{
    Accuracy, ID_CT_TST_INFO, MessageImprint, PkiStatusInfo, TimeStampReq, TimeStampResp, TstInfo,
};
use crate::sign::{SignRequest, prepare};

/// Largest time-stamp response or token accepted.
pub const MAX_TOKEN_SIZE: usize = 1 << 20;

/// The default policy OID of kyso's built-in TSA (a private arc; agencies using a
/// licensed TSA get that TSA's policy).
pub const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59959.1.1");

/// Build a DER `TimeStampReq` asking for a token over `imprint`.
pub fn request(
    digest: DigestAlgorithm,
    imprint: &[u8],
    nonce: Option<u64>,
    cert_req: bool,
) -> Result<Vec<u8>, CadesError> {
    let req = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: digest.algorithm_identifier(),
            hashed_message: OctetString::new(imprint).map_err(CadesError::encoding)?,
        },
        req_policy: None,
        nonce: nonce.map(int_from_u64).transpose()?,
        cert_req,
        extensions: None,
    };
    req.to_der().map_err(CadesError::encoding)
}

/// Check a DER `TimeStampResp` against what was asked and return the token
/// (DER `ContentInfo`).
pub fn token_from_response(
    response: &[u8],
    imprint: &[u8],
    nonce: Option<u64>,
) -> Result<Vec<u8>, CadesError> {
    if response.len() > MAX_TOKEN_SIZE {
        return Err(CadesError::Timestamp(format!(
            "time-stamp response of {} bytes exceeds the {MAX_TOKEN_SIZE}-byte limit",
            response.len()
        )));
    }
    let resp = TimeStampResp::from_der(response)
        .map_err(|e| CadesError::Timestamp(format!("malformed time-stamp response: {e}")))?;
    if resp.status.status > 1 {
        let text = resp
            .status
            .status_string
            .map(|v| v.join("; "))
            .unwrap_or_default();
        return Err(CadesError::Timestamp(format!(
            "the time-stamp authority refused (status {}): {text}",
            resp.status.status
        )));
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| CadesError::Timestamp("granted response without a token".into()))?;
    let token_der = token.to_der().map_err(CadesError::encoding)?;
    let parsed = parse_token(&token_der)?;
    if parsed.imprint != imprint {
        return Err(CadesError::Timestamp(
            "the token's message imprint is not the one requested".into(),
        ));
    }
    if let Some(n) = nonce
        && parsed.nonce != Some(n)
    {
        return Err(CadesError::Timestamp(
            "the token's nonce does not match the request".into(),
        ));
    }
    Ok(token_der)
}

/// What a time-stamp token says (before its signature is verified).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// The time the TSA asserts.
    pub gen_time: OffsetDateTime,
    /// TSA policy.
    pub policy: ObjectIdentifier,
    /// Hash algorithm of the imprint.
    pub imprint_algorithm: DigestAlgorithm,
    /// The imprint.
    pub imprint: Vec<u8>,
    /// Nonce, when it fits in 64 bits.
    pub nonce: Option<u64>,
    /// Serial number, hex.
    pub serial_hex: String,
    /// The DER `TSTInfo` (the token's encapsulated content).
    pub tst_info_der: Vec<u8>,
}

/// Parse a token's `TSTInfo` without verifying its signature.
pub fn parse_token(token_der: &[u8]) -> Result<TokenInfo, CadesError> {
    let signed_data = crate::verify::decode_signed_data(token_der)?;
    if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(CadesError::Timestamp(
            "token content is not id-ct-TSTInfo".into(),
        ));
    }
    let econtent = signed_data
        .encap_content_info
        .econtent
        .ok_or_else(|| CadesError::Timestamp("token without TSTInfo".into()))?;
    let octets: OctetString = econtent
        .decode_as()
        .map_err(|e| CadesError::Timestamp(format!("TSTInfo wrapper: {e}")))?;
    let tst_info_der = octets.as_bytes().to_vec();
    let tst = TstInfo::from_der(&tst_info_der)
        .map_err(|e| CadesError::Timestamp(format!("malformed TSTInfo: {e}")))?;
    let imprint_algorithm = DigestAlgorithm::from_oid(&tst.message_imprint.hash_algorithm.oid)
        .ok_or_else(|| {
            CadesError::Timestamp(format!(
                "unsupported imprint hash {}",
                tst.message_imprint.hash_algorithm.oid
            ))
        })?;
    Ok(TokenInfo {
        gen_time: parse_generalized_time(&tst.gen_time)?,
        policy: tst.policy,
        imprint_algorithm,
        imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        nonce: tst.nonce.as_ref().and_then(int_to_u64),
        serial_hex: hex_upper(tst.serial_number.as_bytes()),
        tst_info_der,
    })
}

/// A time-stamp authority: certificate (with critical EKU id-kp-timeStamping), chain
/// and key.
#[derive(Debug)]
pub struct Tsa<'a> {
    /// The TSA certificate.
    pub certificate: &'a Certificate,
    /// Intermediates to include when the request asks for certificates.
    pub chain: &'a [Certificate],
    /// The TSA key.
    pub signer: &'a dyn Signer,
    /// Policy OID put in every token.
    pub policy: ObjectIdentifier,
}

impl Tsa<'_> {
    /// Answer a DER `TimeStampReq` with a DER `TimeStampResp`. Bad requests get a
    /// rejection response (status 2, badDataFormat / badAlg), not an error; `Err` is
    /// only for a failing key or encoder.
    pub fn respond(
        &self,
        request_der: &[u8],
        serial: [u8; 16],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, CadesError> {
        let req = match TimeStampReq::from_der(request_der) {
            Ok(r) if request_der.len() <= 64 * 1024 => r,
            _ => return rejection(5, "malformed request"),
        };
        let Some(digest) = DigestAlgorithm::from_oid(&req.message_imprint.hash_algorithm.oid)
        else {
            return rejection(0, "unsupported hash algorithm");
        };
        if digest == DigestAlgorithm::Sha1
            || req.message_imprint.hashed_message.as_bytes().len() != digest.output_len()
        {
            return rejection(0, "unsupported hash algorithm or wrong imprint length");
        }
        if req.req_policy.is_some_and(|p| p != self.policy) {
            return rejection(8, "unaccepted policy");
        }
        let mut serial = serial;
        serial[0] &= 0x7f;
        // DER: no leading zero byte unless the next one has its high bit set (a random
        // serial starting 00 0x would otherwise be rejected by strict parsers, about
        // one response in 256).
        let start = serial
            .windows(2)
            .take_while(|w| w[0] == 0 && w[1] & 0x80 == 0)
            .count();
        let tst = TstInfo {
            version: 1,
            policy: self.policy,
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::new(&serial[start..]).map_err(CadesError::encoding)?,
            gen_time: Any::encode_from(&generalized_time(now)?).map_err(CadesError::encoding)?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(CadesError::encoding)?;
        let digest_alg = self.signer.algorithm().digest();
        let message_digest = digest_alg.digest(&tst_der);
        let chain: &[Certificate] = if req.cert_req { self.chain } else { &[] };
        let sign_request = SignRequest {
            message_digest: &message_digest,
            signer_certificate: self.certificate,
            chain,
            signing_time: Some(now),
            content_type: Some(ID_CT_TST_INFO),
            crls: &[],
            encapsulated: Some(&tst_der),
        };
        let prepared = prepare(&sign_request, self.signer.algorithm())?;
        let signature = self.signer.sign(prepared.to_be_signed())?;
        let mut token_der = prepared.assemble(signature)?;
        if !req.cert_req {
            token_der = strip_certificates(&token_der)?;
        }
        let resp = TimeStampResp {
            status: PkiStatusInfo {
                status: 0,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(
                cms::content_info::ContentInfo::from_der(&token_der)
                    .map_err(CadesError::encoding)?,
            ),
        };
        resp.to_der().map_err(CadesError::encoding)
    }
}

fn strip_certificates(token_der: &[u8]) -> Result<Vec<u8>, CadesError> {
    let mut sd = crate::verify::decode_signed_data(token_der)?;
    sd.certificates = None;
    crate::sign::encode_content_info(&sd)
}

/// A rejection `TimeStampResp` with one PKIFailureInfo bit set.
fn rejection(fail_bit: u8, text: &str) -> Result<Vec<u8>, CadesError> {
    let mut bits = vec![0u8; usize::from(fail_bit / 8) + 1];
    bits[usize::from(fail_bit / 8)] |= 0x80 >> (fail_bit % 8);
    let unused = 7 - (fail_bit % 8);
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec![text.to_string()]),
            fail_info: Some(der::asn1::BitString::new(unused, bits).map_err(CadesError::encoding)?),
        },
        time_stamp_token: None,
    };
    resp.to_der().map_err(CadesError::encoding)
}

fn generalized_time(at: OffsetDateTime) -> Result<der::asn1::GeneralizedTime, CadesError> {
    let secs = u64::try_from(at.unix_timestamp())
        .map_err(|_| CadesError::Misuse("time before 1970".into()))?;
    der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(CadesError::encoding)
}

/// Parse `YYYYMMDDHHMMSS[.f+]Z` leniently about fractional seconds.
pub(crate) fn parse_generalized_time(any: &Any) -> Result<OffsetDateTime, CadesError> {
    let bad = || CadesError::Timestamp("malformed genTime".into());
    if any.tag() != der::Tag::GeneralizedTime {
        return Err(bad());
    }
    let text = std::str::from_utf8(any.value()).map_err(|_| bad())?;
    let text = text.strip_suffix('Z').ok_or_else(bad)?;
    let (main, frac) = match text.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (text, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| main[r].parse::<u32>().map_err(|_| bad());
    let month =
        time::Month::try_from(u8::try_from(num(4..6)?).map_err(|_| bad())?).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).map_err(|_| bad())?,
        month,
        u8::try_from(num(6..8)?).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let mut nanos = 0u32;
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        nanos = f.parse::<u32>().map_err(|_| bad())? * 10u32.pow(9 - f.len() as u32);
    }
    let t = time::Time::from_hms_nano(
        u8::try_from(num(8..10)?).map_err(|_| bad())?,
        u8::try_from(num(10..12)?).map_err(|_| bad())?,
        u8::try_from(num(12..14)?).map_err(|_| bad())?,
        nanos,
    )
    .map_err(|_| bad())?;
    Ok(date.with_time(t).assume_utc())
}

fn int_from_u64(n: u64) -> Result<Int, CadesError> {
    let bytes = n.to_be_bytes();
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    Int::new(&v).map_err(CadesError::encoding)
}

fn int_to_u64(i: &Int) -> Option<u64> {
    let bytes = i.as_bytes();
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if trimmed.len() > 8 || bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut buf = [0u8; 8];
    buf[8 - trimmed.len()..].copy_from_slice(&trimmed);
    Some(u64::from_be_bytes(buf))
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
