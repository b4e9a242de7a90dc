//! edXML export and import: fixed examples, tolerance, refusals.

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

#[path = "support/fixtures.rs"]
mod fixtures;

use kyso_exchange::edxml::{self, EDXML_NS};
use kyso_exchange::{ExchangeError, Limit, Limits, Package};
use kyso_model::time::macros::date;
use kyso_model::{BusinessDocType, DocumentId, Secrecy, Urgency};

fn import(xml: &str) -> Result<Package, ExchangeError> {
    edxml::import_package(xml.as_bytes(), &Limits::default())
}

#[test]
fn round_trip_of_a_complete_package() {
    let package = fixtures::package();
    let xml = edxml::export_package(&package);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML:edXML xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"));
    for needle in [
        "<edXML:MessageHeader>",
        "<edXML:OrganId>000.00.00.H41</edXML:OrganId>",
        "<edXML:PromulgationDate>2025/03/01</edXML:PromulgationDate>",
        "<edXML:Priority>2</edXML:Priority>",
        "<edXML:DocumentId>000.00.00.H41,2025,12</edXML:DocumentId>",
        "<edXML:Timestamp>2025/03/01 08:30:00</edXML:Timestamp>",
        "<edXML:BussinessDocType>0</edXML:BussinessDocType>",
        "<edXML:Paper>1</edXML:Paper>",
        "&amp; kế hoạch &lt;quý II&gt;",
        "<edXML:ContentId>cid:",
        "<edXML:ContentTransferEncoded>JVBERi0xLjcKJSBzaWduZWQK</edXML:ContentTransferEncoded>",
    ] {
        assert!(xml.contains(needle), "{needle}\n{xml}");
    }
    let imported = import(&xml).unwrap();
    assert_eq!(imported, package);
    assert_eq!(imported.digest(), package.digest());
    // Deterministic.
    assert_eq!(edxml::export_package(&fixtures::package()), xml);
}

#[test]
fn round_trip_of_business_variants() {
    let mut header = fixtures::header();
    header.business.doc_type = BusinessDocType::Update;
    header.business.reason = "Bổ sung nơi nhận".into();
    header.business.document_id = Some(DocumentId::parse("000.00.00.H41,2025,11").unwrap());
    header.business.update = Some(kyso_exchange::UpdateInfo {
        document_info_changed: false,
        receivers_changed: true,
        receivers: vec![
            kyso_exchange::ReceiverChange {
                added: true,
                organ_id: fixtures::agency("000.00.00.G12"),
            },
            kyso_exchange::ReceiverChange {
                added: false,
                organ_id: fixtures::agency("000.00.00.G09"),
            },
        ],
    });
    let package = Package::new(header.clone(), vec![]).unwrap();
    assert_eq!(import(&edxml::export_package(&package)).unwrap(), package);

    header.business.doc_type = BusinessDocType::Replace;
    header.business.update = None;
    header.business.replacements = vec![kyso_exchange::Replacement {
        document_id: DocumentId::parse("000.00.00.H41,2025,11").unwrap(),
        organ_ids: vec![
            fixtures::agency("000.00.00.G22"),
            fixtures::agency("000.00.00.G09"),
        ],
    }];
    let package = Package::new(header, vec![]).unwrap();
    assert_eq!(import(&edxml::export_package(&package)).unwrap(), package);
}

/// A package as another system writes it: unqualified children, `Business` spelling,
/// `dd/MM/yyyy` dates, an XML signature, `xlink:href` references, base64 in lines,
/// decomposed Vietnamese, missing optional fields, comments.
const FOREIGN: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<!-- exported by another system -->
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:xlink="http://www.w3.org/1999/xlink">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></From>
        <To><OrganId>000.00.00.H41</OrganId></To>
        <Code><CodeNumber>7816</CodeNumber><CodeNotation>VPCP-TTĐT</CodeNotation></Code>
        <PromulgationInfo><Place>Hà Nội</Place><PromulgationDate>20/09/2018</PromulgationDate></PromulgationInfo>
        <DocumentType><Type>1</Type><TypeName>Công văn</TypeName></DocumentType>
        <Subject>
          V/v triển khai hệ thống
        </Subject>
        <OtherInfo><Priority>3</Priority><PageAmount></PageAmount></OtherInfo>
        <UnknownExtension><Anything/></UnknownExtension>
        <DocumentId>000.00.00.G22,2018/09/20,7816/VPCP-TTĐT</DocumentId>
      </MessageHeader>
      <TraceHeaderList>
        <TraceHeader><OrganId>000.00.00.G22</OrganId><Timestamp>2018-09-20T01:00:00Z</Timestamp></TraceHeader>
        <Business><BusinessDocType>0</BusinessDocType></Business>
      </TraceHeaderList>
      <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/><SignatureValue>AAAA</SignatureValue></Signature>
    </edXMLHeader>
    <edXMLBody>
      <edXMLManifest>
        <Reference xlink:href="cid:1" xlink:type="simple"><AttachmentName>cong van.pdf</AttachmentName></Reference>
      </edXMLManifest>
    </edXMLBody>
  </edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:1</ContentId>
      <ContentType>application/pdf</ContentType>
      <ContentTransferEncoded>
        JVBERi0x
        LjcK
      </ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>"#;

#[test]
fn tolerant_import_of_another_systems_package() {
    let package = import(FOREIGN).unwrap();
    let header = package.header();
    assert_eq!(header.from.organ_id.as_str(), "000.00.00.G22");
    assert_eq!(header.to.len(), 1);
    assert_eq!(header.to[0].organ_name, "");
    assert_eq!(header.promulgation.promulgation_date, date!(2018 - 09 - 20));
    assert_eq!(header.subject, "V/v triển khai hệ thống");
    assert_eq!(header.priority, Urgency::HoaToc);
    assert_eq!(header.other.page_amount, None);
    assert_eq!(
        header.document_id.to_string(),
        "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT"
    );
    assert_eq!(header.secrecy, Secrecy::None);
    assert_eq!(package.trace()[0].timestamp.edxml(), "2018/09/20 08:00:00");
    let attachment = &package.attachments()[0];
    assert_eq!(attachment.name, "cong van.pdf");
    assert_eq!(attachment.content_type, "application/pdf");
    assert_eq!(attachment.content, b"%PDF-1.7\n");
    // Re-exported in the common form, it reads back the same.
    let again = import(&edxml::export_package(&package)).unwrap();
    assert_eq!(again, package);
}

#[test]
fn refusals() {
    let code = |xml: &str| import(xml).unwrap_err().code();
    // DOCTYPE (entity expansion, external entities).
    let doctype = FOREIGN.replacen(
        "<!-- exported",
        "<!DOCTYPE edXML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><!-- exported",
        1,
    );
    assert!(matches!(
        import(&doctype),
        Err(ExchangeError::Doctype { .. })
    ));
    let entity = FOREIGN.replacen("Hà Nội", "&x;", 1);
    assert_eq!(code(&entity), "unknown_entity");
    // Wrong namespace on the root, or on a structural element.
    let wrong = FOREIGN.replacen(EDXML_NS, "http://www.go.vn/eDoc", 1);
    assert!(matches!(
        import(&wrong),
        Err(ExchangeError::WrongNamespace { ref element, .. }) if element == "edXML"
    ));
    let wrong_child = FOREIGN.replacen("<MessageHeader>", "<MessageHeader xmlns=\"urn:other\">", 1);
    assert!(matches!(
        import(&wrong_child),
        Err(ExchangeError::WrongNamespace { ref element, .. }) if element == "MessageHeader"
    ));
    // Not edXML at all.
    assert_eq!(code("<html/>"), "missing_element");
    // Required parts.
    let no_id = FOREIGN.replacen(
        "<DocumentId>000.00.00.G22,2018/09/20,7816/VPCP-TTĐT</DocumentId>",
        "",
        1,
    );
    assert!(matches!(
        import(&no_id),
        Err(ExchangeError::MissingElement { ref path }) if path == "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentId"
    ));
    let no_subject = FOREIGN.replacen("V/v triển khai hệ thống", "", 1);
    assert_eq!(code(&no_subject), "invalid_field");
    let no_to = FOREIGN.replacen("<To><OrganId>000.00.00.H41</OrganId></To>", "", 1);
    assert_eq!(code(&no_to), "missing_element");
    // Bad values, with the element's path.
    let bad_date = FOREIGN.replacen("20/09/2018", "31/02/2018", 1);
    assert!(matches!(
        import(&bad_date),
        Err(ExchangeError::InvalidValue { ref path, .. }) if path.ends_with("PromulgationInfo/PromulgationDate")
    ));
    assert_eq!(
        code(&FOREIGN.replacen("<Priority>3", "<Priority>7", 1)),
        "invalid_value"
    );
    assert_eq!(
        code(&FOREIGN.replacen("000.00.00.H41", "H41", 1)),
        "invalid_value"
    );
    assert_eq!(
        code(&FOREIGN.replacen("JVBERi0x", "JVB!Ri0x", 1)),
        "invalid_value"
    );
    // A reference without its attachment.
    assert_eq!(
        code(&FOREIGN.replacen(
            "<ContentId>cid:1</ContentId>",
            "<ContentId>cid:2</ContentId>",
            1
        )),
        "missing_attachment"
    );
    // Dangerous attachment names.
    assert_eq!(
        code(&FOREIGN.replacen("cong van.pdf", "../../etc/cron.d/x", 1)),
        "attachment_name"
    );
    // Malformed XML.
    assert_eq!(code(&FOREIGN[..FOREIGN.len() - 10]), "invalid_xml");
    assert_eq!(
        code(&FOREIGN.replacen("</Subject>", "</Subjekt>", 1)),
        "invalid_xml"
    );
    assert!(matches!(
        edxml::import_package(b"<edXML>\xff</edXML>", &Limits::default()),
        Err(ExchangeError::InvalidUtf8 { offset: 7, .. })
    ));
}

#[test]
fn import_limits() {
    let limited = |limits: Limits| match edxml::import_package(FOREIGN.as_bytes(), &limits) {
        Err(ExchangeError::LimitExceeded { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    let defaults = Limits::default();
    assert_eq!(
        limited(Limits {
            max_xml_bytes: 100,
            ..defaults
        }),
        Limit::XmlBytes
    );
    assert_eq!(
        limited(Limits {
            max_xml_depth: 4,
            ..defaults
        }),
        Limit::XmlDepth
    );
    assert_eq!(
        limited(Limits {
            max_xml_elements: 10,
            ..defaults
        }),
        Limit::XmlElements
    );
    assert_eq!(
        limited(Limits {
            max_attachments: 0,
            ..defaults
        }),
        Limit::Attachments
    );
    assert_eq!(
        limited(Limits {
            max_attachment_bytes: 4,
            ..defaults
        }),
        Limit::AttachmentBytes
    );
    assert_eq!(
        limited(Limits {
            max_trace_hops: 0,
            ..defaults
        }),
        Limit::TraceHops
    );
    // Many small elements (a "billion laughs" without entities) stop at the count.
    let mut flood = String::from("<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">");
    flood.push_str(&"<a/>".repeat(30_000));
    flood.push_str("</edXML>");
    assert!(matches!(
        edxml::import_package(flood.as_bytes(), &defaults),
        Err(ExchangeError::LimitExceeded {
            what: Limit::XmlElements,
            ..
        })
    ));
}
