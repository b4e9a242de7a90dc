//! edXML (QCVN 102:2016 as implemented, spec §15): export of packages and status
//! messages, and tolerant import.
//!
//! Export writes every element with the `edXML` prefix bound to [`EDXML_NS`], two-space
//! indentation, dates `yyyy/MM/dd`, times `yyyy/MM/dd HH:mm:ss` (Vietnam time), empty
//! optional fields left out, attachments base64 (one line) in `AttachmentEncoded`, with
//! content identifiers derived from the attachment (deterministic). No XML signature.
//!
//! Import takes what implementations on the axis write: elements in the edXML namespace
//! or unqualified (an element of another namespace where an edXML one is expected is
//! [`ExchangeError::WrongNamespace`]; unknown elements, `Signature` included, are
//! skipped), `Bussiness…` or `Business…`, `Reference` with `ContentId` children or
//! `xlink:href`, dates `yyyy/MM/dd`, `dd/MM/yyyy` or `yyyy-MM-dd`, times with or without
//! an ISO 8601 offset, missing optional fields; text is normalised (NFC, trimmed) and the
//! header rules applied. The secrecy level is not part of edXML: an imported package is
//! not secret (and a secret one cannot be built, so never exported).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kyso_model::time::Date;
use kyso_model::{AgencyId, AgencyIdFormat, BusinessDocType, DocumentId, StatusCode, Urgency};

use crate::datetime::{VnDateTime, edxml_date, parse_edxml_date_lenient};
use crate::error::{ExchangeError, Limit, excerpt};
use crate::header::{
    Business, Code, DocumentTypeInfo, Header, Hop, Organization, OtherInfo, PromulgationInfo,
    ReceiverChange, Replacement, ResponseFor, SignerInfo, StaffInfo, UpdateInfo,
};
use crate::limits::Limits;
use crate::package::{Attachment, Package, Sha256Digest};
use crate::status::StatusMessage;
use crate::xml::{self, Element, escape};

pub use crate::xml::EDXML_NS;

// ----------------------------------------------------------------------------------
// Export
// ----------------------------------------------------------------------------------

struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn new() -> Self {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!("<edXML:edXML xmlns:edXML=\"{EDXML_NS}\">\n"));
        Self { out, depth: 1 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, name: &str) {
        self.indent();
        self.out.push_str(&format!("<edXML:{name}>\n"));
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str(&format!("</edXML:{name}>\n"));
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        self.out
            .push_str(&format!("<edXML:{name}>{}</edXML:{name}>\n", escape(text)));
    }

    fn optional(&mut self, name: &str, text: &str) {
        if !text.is_empty() {
            self.leaf(name, text);
        }
    }

    fn finish(mut self) -> String {
        self.out.push_str("</edXML:edXML>\n");
        self.out
    }

    fn organization(&mut self, name: &str, organization: &Organization) {
        self.open(name);
        self.leaf("OrganId", organization.organ_id.as_str());
        self.optional("OrganizationInCharge", &organization.organization_in_charge);
        self.optional("OrganName", &organization.organ_name);
        self.optional("OrganAdd", &organization.organ_add);
        self.optional("Email", &organization.email);
        self.optional("Telephone", &organization.telephone);
        self.optional("Fax", &organization.fax);
        self.optional("Website", &organization.website);
        self.close(name);
    }

    fn response_for(&mut self, response: &ResponseFor) {
        self.open("ResponseFor");
        self.leaf("OrganId", response.organ_id.as_str());
        self.optional("Code", &response.code);
        if let Some(date) = response.promulgation_date {
            self.leaf("PromulgationDate", &edxml_date(date));
        }
        self.leaf("DocumentId", &response.document_id.to_string());
        self.close("ResponseFor");
    }

    fn staff(&mut self, staff: &StaffInfo) {
        if staff.is_empty() {
            return;
        }
        self.open("StaffInfo");
        self.optional("Department", &staff.department);
        self.optional("Staff", &staff.staff);
        self.optional("Mobile", &staff.mobile);
        self.optional("Email", &staff.email);
        self.close("StaffInfo");
    }
}

fn flag(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

/// The edXML `ContentId` of attachment `index`: `cid:` and a UUID-shaped value derived
/// from the index, the name and the content's SHA-256, so the same package always
/// exports to the same XML.
pub fn content_id(index: usize, attachment: &Attachment) -> String {
    let mut input = Vec::new();
    input.extend_from_slice(b"kyso-exchange/cid\0");
    input.extend_from_slice(&(index as u64).to_be_bytes());
    input.extend_from_slice(attachment.name.as_bytes());
    input.push(0);
    input.extend_from_slice(&attachment.sha256().0);
    let mut bytes = Sha256Digest::of(&input).0;
    // RFC 9562 version 8 (custom), variant 10.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(&bytes[..16]);
    format!(
        "cid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The package as an edXML document (deterministic).
pub fn export_package(package: &Package) -> String {
    let header = package.header();
    let mut w = Writer::new();
    w.open("edXMLEnvelope");
    w.open("edXMLHeader");
    w.open("MessageHeader");
    w.organization("From", &header.from);
    for to in &header.to {
        w.organization("To", to);
    }
    w.open("Code");
    w.optional("CodeNumber", &header.code.code_number);
    w.leaf("CodeNotation", &header.code.code_notation);
    w.close("Code");
    w.open("PromulgationInfo");
    w.optional("Place", &header.promulgation.place);
    w.leaf(
        "PromulgationDate",
        &edxml_date(header.promulgation.promulgation_date),
    );
    w.close("PromulgationInfo");
    w.open("DocumentType");
    w.leaf("Type", &header.document_type.type_code.to_string());
    w.optional("TypeName", &header.document_type.type_name);
    w.close("DocumentType");
    w.leaf("Subject", &header.subject);
    w.optional("Content", &header.content);
    let signer = &header.signer;
    if !(signer.competence.is_empty() && signer.position.is_empty() && signer.full_name.is_empty())
    {
        w.open("SignerInfo");
        w.optional("Competence", &signer.competence);
        w.optional("Position", &signer.position);
        w.optional("FullName", &signer.full_name);
        w.close("SignerInfo");
    }
    if let Some(due) = header.due_date {
        w.leaf("DueDate", &edxml_date(due));
    }
    if !header.to_places.is_empty() {
        w.open("ToPlaces");
        for place in &header.to_places {
            w.leaf("Place", place);
        }
        w.close("ToPlaces");
    }
    let other = &header.other;
    w.open("OtherInfo");
    w.leaf("Priority", &header.priority.priority().to_string());
    w.optional("SphereOfPromulgation", &other.sphere_of_promulgation);
    w.optional("TyperNotation", &other.typer_notation);
    if let Some(amount) = other.promulgation_amount {
        w.leaf("PromulgationAmount", &amount.to_string());
    }
    if let Some(amount) = other.page_amount {
        w.leaf("PageAmount", &amount.to_string());
    }
    if !other.appendixes.is_empty() {
        w.open("Appendixes");
        for appendix in &other.appendixes {
            w.leaf("Appendix", appendix);
        }
        w.close("Appendixes");
    }
    w.close("OtherInfo");
    for response in &header.response_for {
        w.response_for(response);
    }
    if let Some(steering) = header.steering_type {
        w.leaf("SteeringType", &steering.to_string());
    }
    w.leaf("DocumentId", &header.document_id.to_string());
    w.close("MessageHeader");

    w.open("TraceHeaderList");
    for hop in package.trace() {
        w.open("TraceHeader");
        w.leaf("OrganId", hop.organ_id.as_str());
        w.leaf("Timestamp", &hop.timestamp.edxml());
        w.close("TraceHeader");
    }
    let business = &header.business;
    w.open("Bussiness");
    w.leaf("BussinessDocType", &business.doc_type.code().to_string());
    w.optional("BussinessDocReason", &business.reason);
    if let Some(id) = &business.document_id {
        w.leaf("DocumentId", &id.to_string());
    }
    w.leaf("Paper", flag(business.paper));
    w.staff(&business.staff);
    if let Some(update) = &business.update {
        w.open("BussinessDocumentInfo");
        w.leaf("DocumentInfo", flag(update.document_info_changed));
        w.leaf("DocumentReceiver", flag(update.receivers_changed));
        if !update.receivers.is_empty() {
            w.open("ReceiverList");
            for receiver in &update.receivers {
                w.open("Receiver");
                w.leaf("ReceiverType", flag(receiver.added));
                w.leaf("OrganId", receiver.organ_id.as_str());
                w.close("Receiver");
            }
            w.close("ReceiverList");
        }
        w.close("BussinessDocumentInfo");
    }
    if !business.replacements.is_empty() {
        w.open("ReplacementInfoList");
        for replacement in &business.replacements {
            w.open("ReplacementInfo");
            w.leaf("DocumentId", &replacement.document_id.to_string());
            w.open("OrganIdList");
            for organ in &replacement.organ_ids {
                w.leaf("OrganId", organ.as_str());
            }
            w.close("OrganIdList");
            w.close("ReplacementInfo");
        }
        w.close("ReplacementInfoList");
    }
    w.close("Bussiness");
    w.close("TraceHeaderList");
    w.close("edXMLHeader");

    let ids: Vec<String> = package
        .attachments()
        .iter()
        .enumerate()
        .map(|(index, attachment)| content_id(index, attachment))
        .collect();
    w.open("edXMLBody");
    w.open("edXMLManifest");
    for (attachment, id) in package.attachments().iter().zip(&ids) {
        w.open("Reference");
        w.leaf("ContentId", id);
        w.leaf("ContentType", &attachment.content_type);
        w.leaf("AttachmentName", &attachment.name);
        w.optional("Description", &attachment.description);
        w.close("Reference");
    }
    w.close("edXMLManifest");
    w.close("edXMLBody");
    w.close("edXMLEnvelope");

    w.open("AttachmentEncoded");
    for (attachment, id) in package.attachments().iter().zip(&ids) {
        w.open("Attachment");
        w.leaf("ContentId", id);
        w.leaf("AttachmentName", &attachment.name);
        w.leaf("ContentType", &attachment.content_type);
        w.leaf(
            "ContentTransferEncoded",
            &STANDARD.encode(&attachment.content),
        );
        w.optional("Description", &attachment.description);
        w.close("Attachment");
    }
    w.close("AttachmentEncoded");
    w.finish()
}

/// The status message as an edXML status packet: the envelope with a `MessageHeader`
/// holding `ResponseFor`, `From`, `StatusCode`, `Description`, `Timestamp` and
/// `StaffInfo`. Normalised and checked first.
pub fn export_status(message: &StatusMessage) -> Result<String, ExchangeError> {
    let mut message = message.clone();
    message.normalize()?;
    let mut w = Writer::new();
    w.open("edXMLEnvelope");
    w.open("edXMLHeader");
    w.open("MessageHeader");
    w.response_for(&message.response_for);
    w.organization("From", &message.from);
    w.leaf("StatusCode", message.status_code.code());
    w.optional("Description", &message.description);
    w.leaf("Timestamp", &message.timestamp.edxml());
    w.staff(&message.staff);
    w.close("MessageHeader");
    w.close("edXMLHeader");
    w.close("edXMLEnvelope");
    Ok(w.finish())
}

// ----------------------------------------------------------------------------------
// Import
// ----------------------------------------------------------------------------------

/// An element with its path, for errors.
#[derive(Clone)]
struct Node<'a> {
    element: &'a Element,
    path: String,
}

impl<'a> Node<'a> {
    fn path(&self) -> String {
        self.path.clone()
    }

    fn missing(&self, name: &str) -> ExchangeError {
        ExchangeError::MissingElement {
            path: format!("{}/{name}", self.path()),
        }
    }

    /// Children named `name` (any of `names`), in the edXML namespace or unqualified.
    fn all(&self, names: &[&str]) -> Result<Vec<Node<'a>>, ExchangeError> {
        let mut found = Vec::new();
        for child in &self.element.children {
            if !names.contains(&child.name.as_str()) {
                continue;
            }
            if !child.is_edxml() {
                return Err(ExchangeError::WrongNamespace {
                    element: child.name.clone(),
                    offset: child.offset,
                    found: child.ns_text().to_owned(),
                    expected: EDXML_NS,
                });
            }
            found.push(Node {
                element: child,
                path: format!("{}/{}", self.path, child.name),
            });
        }
        Ok(found)
    }

    fn first(&self, names: &[&str]) -> Result<Option<Node<'a>>, ExchangeError> {
        Ok(self.all(names)?.into_iter().next())
    }

    fn child(&self, name: &str) -> Result<Option<Node<'a>>, ExchangeError> {
        self.first(&[name])
    }

    fn required(&self, name: &str) -> Result<Node<'a>, ExchangeError> {
        self.child(name)?.ok_or_else(|| self.missing(name))
    }

    /// The text of child `name`, or empty when absent.
    fn text(&self, names: &[&str]) -> Result<String, ExchangeError> {
        Ok(self
            .first(names)?
            .map(|node| node.element.text.clone())
            .unwrap_or_default())
    }

    fn invalid(&self, expected: &str) -> ExchangeError {
        ExchangeError::InvalidValue {
            path: self.path(),
            offset: self.element.offset,
            value: excerpt(self.element.text.trim()),
            expected: expected.into(),
        }
    }

    fn value(&self) -> &str {
        self.element.text.trim()
    }

    fn agency(&self) -> Result<AgencyId, ExchangeError> {
        AgencyId::parse_with(self.value(), AgencyIdFormat::Lenient)
            .map_err(|_| self.invalid("an agency identifier (000.00.00.H13)"))
    }

    fn document_id(&self) -> Result<DocumentId, ExchangeError> {
        DocumentId::parse_with(self.value(), AgencyIdFormat::Lenient)
            .map_err(|error| self.invalid(&format!("a document identifier ({error})")))
    }

    fn date(&self) -> Result<Date, ExchangeError> {
        parse_edxml_date_lenient(self.value()).ok_or_else(|| self.invalid("a date yyyy/MM/dd"))
    }

    fn time(&self) -> Result<VnDateTime, ExchangeError> {
        VnDateTime::parse_edxml(self.value())
            .ok_or_else(|| self.invalid("a time yyyy/MM/dd HH:mm:ss"))
    }

    fn number<T: std::str::FromStr>(&self) -> Result<T, ExchangeError> {
        let value = self.value();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.invalid("a number"));
        }
        value.parse().map_err(|_| self.invalid("a smaller number"))
    }

    fn flag(&self) -> Result<bool, ExchangeError> {
        match self.value() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Ok(self.number::<u64>()? > 0),
        }
    }

    // Optional typed children: absent or empty = None.
    fn opt<T>(
        &self,
        names: &[&str],
        read: impl Fn(&Node<'a>) -> Result<T, ExchangeError>,
    ) -> Result<Option<T>, ExchangeError> {
        match self.first(names)? {
            Some(node) if !node.value().is_empty() => read(&node).map(Some),
            _ => Ok(None),
        }
    }
}

fn root_node(element: &Element) -> Result<Node<'_>, ExchangeError> {
    if element.name != "edXML" {
        return Err(ExchangeError::MissingElement {
            path: format!("edXML (the root element is {})", excerpt(&element.name)),
        });
    }
    if element.ns_text() != EDXML_NS {
        return Err(ExchangeError::WrongNamespace {
            element: element.name.clone(),
            offset: element.offset,
            found: element.ns_text().to_owned(),
            expected: EDXML_NS,
        });
    }
    Ok(Node {
        element,
        path: element.name.clone(),
    })
}

fn organization(node: &Node<'_>) -> Result<Organization, ExchangeError> {
    Ok(Organization {
        organ_id: node.required("OrganId")?.agency()?,
        organization_in_charge: node.text(&["OrganizationInCharge"])?,
        organ_name: node.text(&["OrganName"])?,
        organ_add: node.text(&["OrganAdd"])?,
        email: node.text(&["Email"])?,
        telephone: node.text(&["Telephone"])?,
        fax: node.text(&["Fax"])?,
        website: node.text(&["Website"])?,
    })
}

fn response_for(node: &Node<'_>) -> Result<ResponseFor, ExchangeError> {
    Ok(ResponseFor {
        organ_id: node.required("OrganId")?.agency()?,
        code: node.text(&["Code"])?,
        promulgation_date: node.opt(&["PromulgationDate"], Node::date)?,
        document_id: node.required("DocumentId")?.document_id()?,
    })
}

fn staff(node: Option<Node<'_>>) -> Result<StaffInfo, ExchangeError> {
    let Some(node) = node else {
        return Ok(StaffInfo::default());
    };
    Ok(StaffInfo {
        department: node.text(&["Department"])?,
        staff: node.text(&["Staff"])?,
        mobile: node.text(&["Mobile"])?,
        email: node.text(&["Email"])?,
    })
}

/// Both spellings of a `Bussiness…` element.
fn biz(suffix: &str) -> [String; 2] {
    [format!("Bussiness{suffix}"), format!("Business{suffix}")]
}

fn business(list: &Node<'_>) -> Result<Business, ExchangeError> {
    let names = biz("");
    let Some(node) = list.first(&[&names[0], &names[1]])? else {
        return Ok(Business::default());
    };
    let names = biz("DocType");
    let doc_type = node
        .opt(&[&names[0], &names[1]], |n| {
            BusinessDocType::parse(n.value()).map_err(|_| n.invalid("a business type 0-3"))
        })?
        .unwrap_or_default();
    let names = biz("DocReason");
    let reason = node.text(&[&names[0], &names[1]])?;
    let names = biz("DocumentInfo");
    let update = match node.first(&[&names[0], &names[1]])? {
        Some(info) => {
            let mut receivers = Vec::new();
            if let Some(list) = info.child("ReceiverList")? {
                for receiver in list.all(&["Receiver"])? {
                    receivers.push(ReceiverChange {
                        added: receiver
                            .opt(&["ReceiverType"], Node::flag)?
                            .unwrap_or(false),
                        organ_id: receiver.required("OrganId")?.agency()?,
                    });
                }
            }
            Some(UpdateInfo {
                document_info_changed: info.opt(&["DocumentInfo"], Node::flag)?.unwrap_or(false),
                receivers_changed: info
                    .opt(&["DocumentReceiver"], Node::flag)?
                    .unwrap_or(false),
                receivers,
            })
        }
        None => None,
    };
    let mut replacements = Vec::new();
    if let Some(list) = node.child("ReplacementInfoList")? {
        for info in list.all(&["ReplacementInfo"])? {
            let mut organ_ids = Vec::new();
            if let Some(ids) = info.child("OrganIdList")? {
                for id in ids.all(&["OrganId"])? {
                    organ_ids.push(id.agency()?);
                }
            }
            replacements.push(Replacement {
                document_id: info.required("DocumentId")?.document_id()?,
                organ_ids,
            });
        }
    }
    Ok(Business {
        doc_type,
        reason,
        document_id: node.opt(&["DocumentId"], Node::document_id)?,
        paper: node.opt(&["Paper"], Node::flag)?.unwrap_or(false),
        staff: staff(node.child("StaffInfo")?)?,
        update,
        replacements,
    })
}

/// Imports an edXML package from untrusted bytes (see the module documentation for
/// what is tolerated). The result is normalised and satisfies every rule of
/// [`Package::new`].
pub fn import_package(bytes: &[u8], limits: &Limits) -> Result<Package, ExchangeError> {
    let root_element = xml::parse(bytes, limits)?;
    let root = root_node(&root_element)?;
    let envelope = root.required("edXMLEnvelope")?;
    let header_node = envelope.required("edXMLHeader")?;
    let mh = header_node.required("MessageHeader")?;

    let to_nodes = mh.all(&["To"])?;
    if to_nodes.is_empty() {
        return Err(mh.missing("To"));
    }
    let to = to_nodes
        .iter()
        .map(organization)
        .collect::<Result<Vec<_>, _>>()?;
    let code = match mh.child("Code")? {
        Some(code) => Code {
            code_number: code.text(&["CodeNumber"])?,
            code_notation: code.text(&["CodeNotation"])?,
        },
        None => Code::default(),
    };
    let promulgation = mh.required("PromulgationInfo")?;
    let promulgation = PromulgationInfo {
        place: promulgation.text(&["Place"])?,
        promulgation_date: promulgation.required("PromulgationDate")?.date()?,
    };
    let document_type = match mh.child("DocumentType")? {
        Some(node) => DocumentTypeInfo {
            type_code: node.opt(&["Type"], Node::number::<u8>)?.unwrap_or(1),
            type_name: node.text(&["TypeName"])?,
        },
        None => DocumentTypeInfo {
            type_code: 1,
            type_name: String::new(),
        },
    };
    let signer = match mh.child("SignerInfo")? {
        Some(node) => SignerInfo {
            competence: node.text(&["Competence"])?,
            position: node.text(&["Position"])?,
            full_name: node.text(&["FullName"])?,
        },
        None => SignerInfo::default(),
    };
    let mut to_places = Vec::new();
    if let Some(places) = mh.child("ToPlaces")? {
        for place in places.all(&["Place"])? {
            if !place.value().is_empty() {
                to_places.push(place.element.text.clone());
            }
        }
    }
    let (priority, other) = match mh.child("OtherInfo")? {
        Some(node) => {
            let priority = node
                .opt(&["Priority"], |n| {
                    Urgency::parse_priority(n.value()).map_err(|_| n.invalid("a priority 0-4"))
                })?
                .unwrap_or_default();
            let mut appendixes = Vec::new();
            if let Some(list) = node.child("Appendixes")? {
                for appendix in list.all(&["Appendix"])? {
                    if !appendix.value().is_empty() {
                        appendixes.push(appendix.element.text.clone());
                    }
                }
            }
            (
                priority,
                OtherInfo {
                    sphere_of_promulgation: node.text(&["SphereOfPromulgation"])?,
                    typer_notation: node.text(&["TyperNotation"])?,
                    promulgation_amount: node.opt(&["PromulgationAmount"], Node::number)?,
                    page_amount: node.opt(&["PageAmount"], Node::number)?,
                    appendixes,
                },
            )
        }
        None => (Urgency::default(), OtherInfo::default()),
    };
    let responses = mh
        .all(&["ResponseFor"])?
        .iter()
        .map(response_for)
        .collect::<Result<Vec<_>, _>>()?;

    let mut trace = Vec::new();
    let mut business_info = Business::default();
    if let Some(list) = header_node.child("TraceHeaderList")? {
        let hops = list.all(&["TraceHeader"])?;
        if hops.len() > limits.max_trace_hops {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::TraceHops,
                limit: limits.max_trace_hops as u64,
                found: hops.len() as u64,
                offset: Some(list.element.offset),
            });
        }
        for hop in hops {
            trace.push(Hop {
                organ_id: hop.required("OrganId")?.agency()?,
                timestamp: hop.required("Timestamp")?.time()?,
            });
        }
        business_info = business(&list)?;
    }

    let header = Header {
        from: organization(&mh.required("From")?)?,
        to,
        code,
        promulgation,
        document_type,
        subject: mh.text(&["Subject"])?,
        content: mh.text(&["Content"])?,
        signer,
        priority,
        due_date: mh.opt(&["DueDate"], Node::date)?,
        to_places,
        other,
        response_for: responses,
        steering_type: mh.opt(&["SteeringType"], Node::number::<u8>)?,
        document_id: mh.required("DocumentId")?.document_id()?,
        business: business_info,
        secrecy: kyso_model::Secrecy::None,
    };
    let attachments = attachments(&root, &envelope, limits)?;
    Package::from_parts(header, attachments, trace, limits)
}

/// Reads `AttachmentEncoded/Attachment` (beside the envelope, or inside it) and checks
/// that every manifest `Reference` has its attachment.
fn attachments(
    root: &Node<'_>,
    envelope: &Node<'_>,
    limits: &Limits,
) -> Result<Vec<Attachment>, ExchangeError> {
    let encoded = match root.child("AttachmentEncoded")? {
        Some(node) => Some(node),
        None => envelope.child("AttachmentEncoded")?,
    };
    let nodes = match &encoded {
        Some(encoded) => encoded.all(&["Attachment"])?,
        None => Vec::new(),
    };
    if nodes.len() > limits.max_attachments {
        return Err(ExchangeError::LimitExceeded {
            what: Limit::Attachments,
            limit: limits.max_attachments as u64,
            found: nodes.len() as u64,
            offset: encoded.map(|node| node.element.offset),
        });
    }
    // The manifest's references: content id → (name, type, description).
    let mut references = Vec::new();
    if let Some(body) = envelope.child("edXMLBody")?
        && let Some(manifest) = body.child("edXMLManifest")?
    {
        for reference in manifest.all(&["Reference"])? {
            let mut id = reference.text(&["ContentId"])?.trim().to_owned();
            if id.is_empty() {
                id = reference
                    .element
                    .attribute("href")
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
            }
            references.push((
                id,
                reference.text(&["AttachmentName"])?,
                reference.text(&["ContentType"])?,
                reference.text(&["Description"])?,
            ));
        }
    }
    let mut attachments = Vec::with_capacity(nodes.len());
    let mut ids = Vec::with_capacity(nodes.len());
    let mut total: u64 = 0;
    for node in &nodes {
        let id = node.text(&["ContentId"])?.trim().to_owned();
        let reference = references.iter().find(|r| !id.is_empty() && r.0 == id);
        let pick = |own: String, from_reference: Option<&String>| {
            if own.trim().is_empty() {
                from_reference.cloned().unwrap_or_default()
            } else {
                own
            }
        };
        let name = pick(node.text(&["AttachmentName"])?, reference.map(|r| &r.1));
        let content_type = pick(
            node.text(&["ContentType", "MimeType"])?,
            reference.map(|r| &r.2),
        );
        let description = pick(node.text(&["Description"])?, reference.map(|r| &r.3));
        let encoded_node = node.required("ContentTransferEncoded")?;
        let text: Vec<u8> = encoded_node
            .element
            .text
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let estimate = (text.len() as u64 / 4) * 3;
        if estimate > limits.max_attachment_bytes.saturating_add(3) {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::AttachmentBytes,
                limit: limits.max_attachment_bytes,
                found: estimate,
                offset: Some(encoded_node.element.offset),
            });
        }
        let content = STANDARD
            .decode(&text)
            .map_err(|error| encoded_node.invalid(&format!("base64 ({error})")))?;
        if content.len() as u64 > limits.max_attachment_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::AttachmentBytes,
                limit: limits.max_attachment_bytes,
                found: content.len() as u64,
                offset: Some(encoded_node.element.offset),
            });
        }
        total += content.len() as u64;
        if total > limits.max_total_bytes {
            return Err(ExchangeError::LimitExceeded {
                what: Limit::TotalBytes,
                limit: limits.max_total_bytes,
                found: total,
                offset: Some(encoded_node.element.offset),
            });
        }
        ids.push(id);
        attachments.push(Attachment {
            name,
            content_type,
            description,
            content,
        });
    }
    for (index, reference) in references.iter().enumerate() {
        if !ids.contains(&reference.0) {
            return Err(ExchangeError::MissingAttachment {
                index,
                content_id: excerpt(&reference.0),
            });
        }
    }
    Ok(attachments)
}

/// Imports an edXML status packet from untrusted bytes. The result is normalised and
/// checked.
pub fn import_status(bytes: &[u8], limits: &Limits) -> Result<StatusMessage, ExchangeError> {
    let root_element = xml::parse(bytes, limits)?;
    let root = root_node(&root_element)?;
    let envelope = root.required("edXMLEnvelope")?;
    let mh = envelope
        .required("edXMLHeader")?
        .required("MessageHeader")?;
    let code_node = mh.required("StatusCode")?;
    let status_code = StatusCode::parse(code_node.value())
        .map_err(|_| code_node.invalid("a status code 01-06, 13, 15, 16"))?;
    let mut message = StatusMessage {
        response_for: response_for(&mh.required("ResponseFor")?)?,
        from: organization(&mh.required("From")?)?,
        status_code,
        description: mh.text(&["Description"])?,
        timestamp: mh.required("Timestamp")?.time()?,
        staff: staff(mh.child("StaffInfo")?)?,
    };
    message.normalize()?;
    Ok(message)
}
