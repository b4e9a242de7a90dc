//! Decoding the fields of JSON request bodies (base64 and PEM certificates, images,
//! signature values; PINs), with one clear 400 answer per field, and the JSON of
//! answers.

use axum::Json;
use base64::Engine as _;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{ApiError, ApiResult};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A base64 field (`field` names it in the error).
pub(crate) fn base64_field(field: &str, text: &str) -> ApiResult<Vec<u8>> {
    B64.decode(text.trim()).map_err(|_| {
        ApiError::bad_request(
            field,
            format!("trường {field} phải được mã hóa base64"),
            format!("the field {field} must be base64"),
        )
    })
}

/// A certificate given as base64 DER or PEM: its DER bytes.
pub(crate) fn certificate_der(text: &str) -> ApiResult<Vec<u8>> {
    let text = text.trim();
    let body: String = if text.starts_with("-----BEGIN") {
        text.lines().filter(|l| !l.starts_with("-----")).collect()
    } else {
        text.to_string()
    };
    B64.decode(body.trim()).map_err(|_| {
        ApiError::bad_request(
            "certificates",
            "chứng thư số phải là DER (base64) hoặc PEM",
            "certificates are base64 DER or PEM",
        )
    })
}

/// The certificates of a two-step signature, the signer's first, then its chain (each
/// base64 DER or PEM): their DER. More than [`kyso_app::outgoing::MAX_CERTIFICATES`]
/// are refused before any is decoded.
pub(crate) fn certificate_chain(list: &[String]) -> ApiResult<Vec<Vec<u8>>> {
    if list.len() > kyso_app::outgoing::MAX_CERTIFICATES {
        return Err(ApiError::bad_request(
            "certificates",
            "quá nhiều chứng thư số",
            "too many certificates",
        ));
    }
    list.iter().map(|c| certificate_der(c)).collect()
}

/// A certificate given as base64 DER or PEM.
pub(crate) fn certificate(text: &str) -> ApiResult<x509_cert::Certificate> {
    let der = certificate_der(text)?;
    der::Decode::from_der(&der).map_err(|_| {
        ApiError::bad_request(
            "certificates",
            "chứng thư số không đọc được (cần một chứng thư X.509)",
            "the certificate cannot be read (an X.509 certificate is expected)",
        )
    })
}

/// The encoding of responses that carry bytes.
pub(crate) fn base64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// A PIN from a request body (`field` names it), moved at once into a zeroizing holder;
/// an empty or overlong one is refused (its value never echoed).
pub(crate) fn pin(field: &str, pin: String) -> ApiResult<Zeroizing<String>> {
    let pin = Zeroizing::new(pin);
    if pin.is_empty() || pin.len() > kyso_app::custody::MAX_PIN_CHARS {
        return Err(ApiError::bad_request(
            "pin",
            format!("thiếu mã PIN ({field}) hoặc mã PIN quá dài"),
            format!("the PIN ({field}) is missing or too long"),
        ));
    }
    Ok(pin)
}

/// The PIN of the device attached to the server, checked as [`pin`], for one request.
pub(crate) fn device_pin(field: &str, text: String) -> ApiResult<kyso_app::custody::Pin> {
    let mut text = pin(field, text)?;
    // Moved, not copied: the holder is left empty.
    Ok(kyso_app::custody::Pin::new(std::mem::take(&mut *text)))
}

/// A value as the JSON of an answer.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> ApiResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(value).map_err(kyso_app::AppError::internal)?,
    ))
}

/// A JSON body that carries a secret (a PIN): a malformed one is refused without
/// axum's detail, which can quote the value it could not read.
pub(crate) fn secret_json<T>(
    body: Result<axum::Json<T>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<T> {
    match body {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => Err(ApiError(kyso_app::AppError::new(
            if rejection.status().as_u16() == 413 {
                kyso_app::Kind::TooLarge
            } else {
                kyso_app::Kind::Invalid
            },
            "bad_request",
            "nội dung JSON không hợp lệ: cần đúng các trường đã mô tả, mã PIN là chuỗi ký tự",
            "the JSON body is not valid: the documented fields are needed, PINs as strings",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_base64_give_the_same_der_and_junk_is_a_400() {
        let pem = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            certificate_der(pem).unwrap(),
            certificate_der(" MAMCAQE= ").unwrap()
        );
        assert_eq!(
            certificate_der("not base64!").unwrap_err().0.code,
            "certificates"
        );
        assert_eq!(certificate("MAMCAQE=").unwrap_err().0.code, "certificates");
        assert_eq!(base64_field("image", "%%").unwrap_err().0.code, "image");
        let many = vec!["MAMCAQE=".to_string(); kyso_app::outgoing::MAX_CERTIFICATES + 1];
        assert_eq!(certificate_chain(&many).unwrap_err().0.code, "certificates");
        assert_eq!(certificate_chain(&many[1..]).unwrap().len(), many.len() - 1);
    }

    #[test]
    fn pins_are_refused_empty_or_overlong() {
        assert_eq!(pin("pin", String::new()).unwrap_err().0.code, "pin");
        let long = "1".repeat(kyso_app::custody::MAX_PIN_CHARS + 1);
        let refused = device_pin("new_pin", long).unwrap_err().0;
        assert!(refused.en.contains("new_pin") && !refused.en.contains("111"));
        assert_eq!(pin("pin", "123456".into()).unwrap().as_str(), "123456");
    }
}
