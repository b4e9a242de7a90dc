//! Decoding the base64 and PEM fields of JSON request bodies (certificates, images,
//! signature values), with one clear 400 answer per field.

use base64::Engine as _;

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
    }
}
