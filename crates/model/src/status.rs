//! edXML status codes (spec §15.5): the processing states an agency reports back for a
//! document it received, and the recall requests of the sender.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, excerpt};

/// An edXML `StatusCode` (QCVN 102:2016 as implemented; spec §15.5), written with two
/// digits on the wire.
///
/// Normal flow: `01` automatically on arrival, then `02` or `03` by the clerk, then `04`,
/// `05`, `06`. Recall: the sender sends `13`, the receiver answers `15` or `16`. There is
/// no code for "deleted". Serde uses the snake_case [`key`](Self::key), not the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatusCode {
    /// `01` đã đến: the receiving system got it; the clerk has not acted yet.
    Arrived,
    /// `02` từ chối tiếp nhận: refused or returned, with a reason.
    Refused,
    /// `03` đã tiếp nhận: accepted and registered in the incoming register.
    Accepted,
    /// `04` phân công xử lý: assigned for handling by a leader.
    Assigned,
    /// `05` đang xử lý: being handled.
    Processing,
    /// `06` hoàn thành: handling completed.
    Completed,
    /// `13` yêu cầu lấy lại: the sender asks to take the document back (recall).
    RecallRequested,
    /// `15` đồng ý lấy lại: the receiver agrees to the recall (or update).
    RecallAgreed,
    /// `16` từ chối lấy lại: the receiver refuses the recall (or update).
    RecallRefused,
}

impl StatusCode {
    /// All codes in code order.
    pub const ALL: [StatusCode; 9] = [
        Self::Arrived,
        Self::Refused,
        Self::Accepted,
        Self::Assigned,
        Self::Processing,
        Self::Completed,
        Self::RecallRequested,
        Self::RecallAgreed,
        Self::RecallRefused,
    ];

    /// The two-digit wire code (`"01"`, `"13"`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Arrived => "01",
            Self::Refused => "02",
            Self::Accepted => "03",
            Self::Assigned => "04",
            Self::Processing => "05",
            Self::Completed => "06",
            Self::RecallRequested => "13",
            Self::RecallAgreed => "15",
            Self::RecallRefused => "16",
        }
    }

    /// The code as a number (`1`, `13`).
    pub fn number(self) -> u8 {
        match self {
            Self::Arrived => 1,
            Self::Refused => 2,
            Self::Accepted => 3,
            Self::Assigned => 4,
            Self::Processing => 5,
            Self::Completed => 6,
            Self::RecallRequested => 13,
            Self::RecallAgreed => 15,
            Self::RecallRefused => 16,
        }
    }

    /// The status with this numeric code.
    pub fn from_number(number: u8) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.number() == number)
    }

    /// Reads a wire code: one or two ASCII digits (`"01"`, also `"1"`).
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let number = match text.as_bytes() {
            [units @ b'0'..=b'9'] => Some(units - b'0'),
            [tens @ b'0'..=b'9', units @ b'0'..=b'9'] => Some((tens - b'0') * 10 + (units - b'0')),
            _ => None,
        };
        number
            .and_then(Self::from_number)
            .ok_or_else(|| ModelError::UnknownCode {
                what: "edXML StatusCode",
                found: excerpt(text),
                known: "01, 02, 03, 04, 05, 06, 13, 15, 16",
            })
    }

    /// Whether the sender of the document sends this status (only `13`); all others come
    /// from the receiver.
    pub fn is_sent_by_sender(self) -> bool {
        self == Self::RecallRequested
    }

    /// The Vietnamese label.
    pub fn vietnamese_label(self) -> &'static str {
        match self {
            Self::Arrived => "Đã đến",
            Self::Refused => "Từ chối tiếp nhận",
            Self::Accepted => "Đã tiếp nhận",
            Self::Assigned => "Phân công xử lý",
            Self::Processing => "Đang xử lý",
            Self::Completed => "Hoàn thành",
            Self::RecallRequested => "Yêu cầu lấy lại",
            Self::RecallAgreed => "Đồng ý lấy lại",
            Self::RecallRefused => "Từ chối lấy lại",
        }
    }

    /// An English label (informative).
    pub fn english_label(self) -> &'static str {
        match self {
            Self::Arrived => "Arrived",
            Self::Refused => "Refused",
            Self::Accepted => "Accepted",
            Self::Assigned => "Assigned",
            Self::Processing => "Processing",
            Self::Completed => "Completed",
            Self::RecallRequested => "Recall requested",
            Self::RecallAgreed => "Recall agreed",
            Self::RecallRefused => "Recall refused",
        }
    }

    /// The serde key (`"arrived"`, `"recall_requested"`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Arrived => "arrived",
            Self::Refused => "refused",
            Self::Accepted => "accepted",
            Self::Assigned => "assigned",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::RecallRequested => "recall_requested",
            Self::RecallAgreed => "recall_agreed",
            Self::RecallRefused => "recall_refused",
        }
    }
}

impl fmt::Display for StatusCode {
    /// Writes the two-digit code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED: [(StatusCode, &str); 9] = [
        (StatusCode::Arrived, "01"),
        (StatusCode::Refused, "02"),
        (StatusCode::Accepted, "03"),
        (StatusCode::Assigned, "04"),
        (StatusCode::Processing, "05"),
        (StatusCode::Completed, "06"),
        (StatusCode::RecallRequested, "13"),
        (StatusCode::RecallAgreed, "15"),
        (StatusCode::RecallRefused, "16"),
    ];

    #[test]
    fn codes_both_ways() {
        for (status, code) in EXPECTED {
            assert_eq!(status.code(), code);
            assert_eq!(status.to_string(), code);
            assert_eq!(StatusCode::parse(code), Ok(status));
            assert_eq!(format!("{:02}", status.number()), code);
            assert_eq!(StatusCode::from_number(status.number()), Some(status));
        }
        assert_eq!(StatusCode::parse("1"), Ok(StatusCode::Arrived));
        assert_eq!(StatusCode::ALL.len(), EXPECTED.len());
    }

    #[test]
    fn unknown_codes_are_refused() {
        for text in ["", "00", "07", "14", "17", "99", "001", "1a", " 01", "+1"] {
            let error = StatusCode::parse(text).unwrap_err();
            assert!(
                matches!(
                    error,
                    ModelError::UnknownCode {
                        what: "edXML StatusCode",
                        ..
                    }
                ),
                "{text:?}"
            );
        }
        let message = StatusCode::parse("14").unwrap_err().to_string();
        assert!(
            message.contains("\"14\"") && message.contains("13, 15, 16"),
            "{message}"
        );
    }

    #[test]
    fn labels_keys_and_senders() {
        assert_eq!(StatusCode::Refused.vietnamese_label(), "Từ chối tiếp nhận");
        assert!(StatusCode::RecallRequested.is_sent_by_sender());
        assert!(!StatusCode::RecallAgreed.is_sent_by_sender());
        for status in StatusCode::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.key()));
            assert_eq!(serde_json::from_str::<StatusCode>(&json).unwrap(), status);
            assert!(!status.english_label().is_empty());
        }
    }
}
