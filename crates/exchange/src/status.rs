//! Status messages (edXML status packet, spec §15.5): what a receiver reports about a
//! document it got, and the sender's recall request with the receiver's answer.

use kyso_model::StatusCode;
use serde::{Deserialize, Serialize};

use crate::datetime::VnDateTime;
use crate::error::{ExchangeError, Limit, excerpt};
use crate::header::{Organization, ResponseFor, StaffInfo};
use crate::limits::Limits;
use crate::package::{encode_json, from_json, utf8};
use crate::text::{Mode, Rule, apply};

/// The value of the JSON form's `format` field.
pub const STATUS_FORMAT: &str = "kyso-exchange-status/1";

/// A status message about one document.
///
/// JSON (canonical, like the package manifest): `{"format":"kyso-exchange-status/1",
/// "response_for":…,"from":…,"status_code":"03","description":…,"timestamp":…,
/// "staff":…}`, the status as its two-digit edXML code. edXML: see
/// [`edxml`](crate::edxml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    /// `ResponseFor`: the document the status is about (its `DocumentId` is the key).
    pub response_for: ResponseFor,
    /// `From`: the agency reporting (the receiver; the sender for a recall request).
    pub from: Organization,
    /// `StatusCode`.
    pub status_code: StatusCode,
    /// `Description`: the reason or a note (max 500). Required for `02` (refused), `13`
    /// (recall requested) and `16` (recall refused).
    pub description: String,
    /// `Timestamp`, Vietnam time.
    pub timestamp: VnDateTime,
    /// `StaffInfo`: who handled it.
    pub staff: StaffInfo,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusJson {
    format: String,
    response_for: ResponseFor,
    from: Organization,
    status_code: String,
    description: String,
    timestamp: VnDateTime,
    staff: StaffInfo,
}

impl StatusMessage {
    /// A status without description or staff.
    pub fn new(
        response_for: ResponseFor,
        from: Organization,
        status_code: StatusCode,
        timestamp: VnDateTime,
    ) -> Self {
        Self {
            response_for,
            from,
            status_code,
            description: String::new(),
            timestamp,
            staff: StaffInfo::default(),
        }
    }

    /// The sender's recall request (`13`), with its reason.
    pub fn recall_request(
        response_for: ResponseFor,
        from: Organization,
        reason: impl Into<String>,
        timestamp: VnDateTime,
    ) -> Result<Self, ExchangeError> {
        let mut message = Self::new(response_for, from, StatusCode::RecallRequested, timestamp);
        message.description = reason.into();
        message.normalize()?;
        Ok(message)
    }

    /// The receiver's answer to a recall: `15` (agreed) or `16` (refused, with a reason).
    pub fn recall_reply(
        response_for: ResponseFor,
        from: Organization,
        agreed: bool,
        reason: impl Into<String>,
        timestamp: VnDateTime,
    ) -> Result<Self, ExchangeError> {
        let code = if agreed {
            StatusCode::RecallAgreed
        } else {
            StatusCode::RecallRefused
        };
        let mut message = Self::new(response_for, from, code, timestamp);
        message.description = reason.into();
        message.normalize()?;
        Ok(message)
    }

    /// Whether the description (the reason) is required for this code.
    pub fn needs_reason(code: StatusCode) -> bool {
        matches!(
            code,
            StatusCode::Refused | StatusCode::RecallRequested | StatusCode::RecallRefused
        )
    }

    /// Brings text to normal form and checks lengths and the reason rule.
    pub fn normalize(&mut self) -> Result<(), ExchangeError> {
        self.check(Mode::Normalize)
    }

    /// Checks without changing; text must be in normal form.
    pub fn validate(&self) -> Result<(), ExchangeError> {
        self.clone().check(Mode::Check)
    }

    pub(crate) fn check(&mut self, mode: Mode) -> Result<(), ExchangeError> {
        self.response_for.check("ResponseFor", mode)?;
        crate::header::check_organization(&mut self.from, "From", mode)?;
        apply(
            &|| "Description".into(),
            &mut self.description,
            Rule::multiline(500, Self::needs_reason(self.status_code)),
            mode,
        )?;
        self.staff.check("StaffInfo", mode)
    }

    /// The canonical JSON form (normalised and checked first).
    pub fn to_json(&self) -> Result<Vec<u8>, ExchangeError> {
        let mut message = self.clone();
        message.normalize()?;
        Ok(message.encode_json())
    }

    fn encode_json(&self) -> Vec<u8> {
        encode_json(&StatusJson {
            format: STATUS_FORMAT.into(),
            response_for: self.response_for.clone(),
            from: self.from.clone(),
            status_code: self.status_code.code().into(),
            description: self.description.clone(),
            timestamp: self.timestamp,
            staff: self.staff.clone(),
        })
    }

    /// Parses the JSON form from untrusted bytes: size limit, structure, rules, and the
    /// encoding must be canonical.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, ExchangeError> {
        if bytes.len() > limits.max_status_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::StatusBytes,
                limit: limits.max_status_bytes as u64,
                found: bytes.len() as u64,
                offset: None,
            });
        }
        let text = utf8(bytes, 0, "status message")?;
        let json: StatusJson = from_json(text, "status message")?;
        if json.format != STATUS_FORMAT {
            return Err(ExchangeError::UnsupportedFormat {
                found: excerpt(&json.format),
                expected: STATUS_FORMAT,
            });
        }
        let status_code = StatusCode::parse(&json.status_code)
            .map_err(|error| ExchangeError::from_model("StatusCode", &error))?;
        let mut message = Self {
            response_for: json.response_for,
            from: json.from,
            status_code,
            description: json.description,
            timestamp: json.timestamp,
            staff: json.staff,
        };
        message.check(Mode::Check)?;
        if message.encode_json() != bytes {
            return Err(ExchangeError::NotCanonical {
                what: "status message",
            });
        }
        Ok(message)
    }
}
