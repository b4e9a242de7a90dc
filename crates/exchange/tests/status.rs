//! Status messages: JSON and edXML, recall requests and replies.

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

#[path = "support/fixtures.rs"]
mod fixtures;

use kyso_exchange::edxml;
use kyso_exchange::{
    ExchangeError, FieldProblem, Limit, Limits, ResponseFor, StaffInfo, StatusMessage, VnDateTime,
};
use kyso_model::time::macros::{date, datetime};
use kyso_model::{DocumentId, StatusCode};

fn about() -> ResponseFor {
    ResponseFor {
        organ_id: fixtures::agency("000.00.00.H41"),
        code: "05/UBND-VP".into(),
        promulgation_date: Some(date!(2025 - 03 - 01)),
        document_id: DocumentId::parse("000.00.00.H41,2025,12").unwrap(),
    }
}

fn at() -> VnDateTime {
    VnDateTime::from_local(datetime!(2025-03-01 14:05:09))
}

fn message(code: StatusCode) -> StatusMessage {
    let mut message = StatusMessage::new(
        about(),
        fixtures::organization("000.00.00.G22", "Văn phòng Chính phủ"),
        code,
        at(),
    );
    if StatusMessage::needs_reason(code) {
        message.description = "Văn bản thiếu chữ ký số của cơ quan".into();
    }
    message.staff = StaffInfo {
        department: "Phòng Hành chính".into(),
        staff: "Lê Thị Ánh".into(),
        mobile: "0987654321".into(),
        email: "anh@example.gov.vn".into(),
    };
    message
}

#[test]
fn every_code_round_trips_in_json_and_edxml() {
    for code in StatusCode::ALL {
        let message = message(code);
        let json = message.to_json().unwrap();
        assert_eq!(
            StatusMessage::from_json(&json, &Limits::default()).unwrap(),
            message
        );
        assert_eq!(message.to_json().unwrap(), json, "deterministic");
        let xml = edxml::export_status(&message).unwrap();
        assert!(xml.contains(&format!(
            "<edXML:StatusCode>{}</edXML:StatusCode>",
            code.code()
        )));
        assert!(xml.contains("<edXML:Timestamp>2025/03/01 14:05:09</edXML:Timestamp>"));
        assert_eq!(
            edxml::import_status(xml.as_bytes(), &Limits::default()).unwrap(),
            message
        );
    }
}

#[test]
fn json_form() {
    let json = String::from_utf8(message(StatusCode::Accepted).to_json().unwrap()).unwrap();
    assert!(json.starts_with("{\"format\":\"kyso-exchange-status/1\",\"response_for\":{\"organ_id\":\"000.00.00.H41\""), "{json}");
    assert!(json.contains("\"status_code\":\"03\""), "{json}");
    assert!(
        json.contains("\"timestamp\":\"2025-03-01T14:05:09+07:00\""),
        "{json}"
    );
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(&json).unwrap())
            .unwrap();
    assert_eq!(
        StatusMessage::from_json(&pretty, &Limits::default()).unwrap_err(),
        ExchangeError::NotCanonical {
            what: "status message"
        }
    );
    let unknown = json.replace("\"status_code\":\"03\"", "\"status_code\":\"14\"");
    assert_eq!(
        StatusMessage::from_json(unknown.as_bytes(), &Limits::default())
            .unwrap_err()
            .code(),
        "invalid_field"
    );
    assert!(matches!(
        StatusMessage::from_json(
            json.as_bytes(),
            &Limits {
                max_status_bytes: 10,
                ..Limits::default()
            }
        ),
        Err(ExchangeError::LimitExceeded {
            what: Limit::StatusBytes,
            ..
        })
    ));
    assert!(matches!(
        StatusMessage::from_json(
            b"{\"format\":\"kyso-exchange-status/1\"",
            &Limits::default()
        ),
        Err(ExchangeError::Json { .. })
    ));
    assert!(matches!(
        StatusMessage::from_json(b"\xff", &Limits::default()),
        Err(ExchangeError::InvalidUtf8 { offset: 0, .. })
    ));
}

#[test]
fn recall_flow() {
    let sender = fixtures::organization("000.00.00.H41", "UBND tỉnh Nghệ An");
    let receiver = fixtures::organization("000.00.00.G22", "Văn phòng Chính phủ");
    let request =
        StatusMessage::recall_request(about(), sender.clone(), "Sai số liệu tại mục II", at())
            .unwrap();
    assert_eq!(request.status_code, StatusCode::RecallRequested);
    assert!(request.status_code.is_sent_by_sender());
    assert_eq!(
        StatusMessage::recall_request(about(), sender, "  ", at()).unwrap_err(),
        ExchangeError::Field {
            field: "Description".into(),
            problem: FieldProblem::Missing
        }
    );
    let agreed = StatusMessage::recall_reply(about(), receiver.clone(), true, "", at()).unwrap();
    assert_eq!(agreed.status_code, StatusCode::RecallAgreed);
    let refused = StatusMessage::recall_reply(
        about(),
        receiver.clone(),
        false,
        "Văn bản đã được phân công xử lý",
        at(),
    )
    .unwrap();
    assert_eq!(refused.status_code, StatusCode::RecallRefused);
    assert!(StatusMessage::recall_reply(about(), receiver, false, "", at()).is_err());
    for message in [request, agreed, refused] {
        let xml = edxml::export_status(&message).unwrap();
        assert_eq!(
            edxml::import_status(xml.as_bytes(), &Limits::default()).unwrap(),
            message
        );
    }
}

#[test]
fn tolerant_status_import() {
    let xml = r#"<?xml version="1.0"?>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
 <edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>
  <edXML:ResponseFor><edXML:OrganId>000.00.00.G22</edXML:OrganId>
   <edXML:DocumentId>000.00.00.G22,2018/09/20,7816/VPCP-TTĐT</edXML:DocumentId></edXML:ResponseFor>
  <edXML:From><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:From>
  <edXML:StatusCode>1</edXML:StatusCode>
  <edXML:Timestamp>20/09/2018 09:15:00</edXML:Timestamp>
 </edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope>
</edXML:edXML>"#;
    let message = edxml::import_status(xml.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(message.status_code, StatusCode::Arrived);
    assert_eq!(message.timestamp.edxml(), "2018/09/20 09:15:00");
    assert!(message.staff.is_empty());
    let refused = xml.replace(">1<", ">02<");
    assert_eq!(
        edxml::import_status(refused.as_bytes(), &Limits::default())
            .unwrap_err()
            .code(),
        "invalid_field",
        "a refusal needs its reason"
    );
    let unknown = xml.replace(">1<", ">07<");
    assert_eq!(
        edxml::import_status(unknown.as_bytes(), &Limits::default())
            .unwrap_err()
            .code(),
        "invalid_value"
    );
}
