//! The package header: the edXML `MessageHeader` fields (spec table 1.1–1.14), the
//! `Bussiness` part of `TraceHeaderList`, and the document's secrecy level.
//!
//! Text fields are plain `String`s; an empty string means "not given" (the element is
//! left out of edXML). Field order in these structs is the field order of kyso's
//! canonical JSON. Lengths are counted in characters.

use std::collections::BTreeSet;

use kyso_model::time::Date;
use kyso_model::{AgencyId, BusinessDocType, DocumentId, Notation, Secrecy, Urgency};
use serde::{Deserialize, Serialize};

use crate::datetime::{VnDateTime, json_date, json_date_option};
use crate::error::{ExchangeError, FieldProblem};
use crate::text::{Mode, Rule, apply};

/// An agency as sender (`From`) or receiver (`To`), spec table 1.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// `OrganId`: the agency identifier (mã định danh).
    pub organ_id: AgencyId,
    /// `OrganizationInCharge`: the superior agency (max 200).
    pub organization_in_charge: String,
    /// `OrganName` (max 200).
    pub organ_name: String,
    /// `OrganAdd`: address (max 250).
    pub organ_add: String,
    /// `Email` (max 100).
    pub email: String,
    /// `Telephone` (max 20).
    pub telephone: String,
    /// `Fax` (max 20).
    pub fax: String,
    /// `Website` (max 100).
    pub website: String,
}

impl Organization {
    /// An agency with its identifier and name; the contact fields empty.
    pub fn new(organ_id: AgencyId, organ_name: impl Into<String>) -> Self {
        Self {
            organ_id,
            organization_in_charge: String::new(),
            organ_name: organ_name.into(),
            organ_add: String::new(),
            email: String::new(),
            telephone: String::new(),
            fax: String::new(),
            website: String::new(),
        }
    }

    fn check(&mut self, path: &str, mode: Mode) -> Result<(), ExchangeError> {
        let fields: [(&str, &mut String, usize); 7] = [
            (
                "OrganizationInCharge",
                &mut self.organization_in_charge,
                200,
            ),
            ("OrganName", &mut self.organ_name, 200),
            ("OrganAdd", &mut self.organ_add, 250),
            ("Email", &mut self.email, 100),
            ("Telephone", &mut self.telephone, 20),
            ("Fax", &mut self.fax, 20),
            ("Website", &mut self.website, 100),
        ];
        for (name, value, max) in fields {
            apply(
                &|| format!("{path}.{name}"),
                value,
                Rule::optional(max),
                mode,
            )?;
        }
        Ok(())
    }
}

pub(crate) fn check_organization(
    organization: &mut Organization,
    path: &str,
    mode: Mode,
) -> Result<(), ExchangeError> {
    organization.check(path, mode)
}

/// `Code`: number and notation (spec table 1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    /// `CodeNumber`: the number (`05`; max 11).
    pub code_number: String,
    /// `CodeNotation`: the notation (`QĐ-UBND`; required, max 30).
    pub code_notation: String,
}

impl Code {
    /// The code of a number/notation (`05/QĐ-UBND` → `05`, `QĐ-UBND`).
    pub fn from_notation(notation: &Notation) -> Self {
        Self {
            code_number: notation.code_number(),
            code_notation: notation.code_notation(),
        }
    }
}

/// `PromulgationInfo`: where and when the document was issued (spec table 1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromulgationInfo {
    /// `Place` (max 50).
    pub place: String,
    /// `PromulgationDate`. Whether it lies in the future is the caller's check (this
    /// crate has no clock).
    #[serde(with = "json_date")]
    pub promulgation_date: Date,
}

/// `DocumentType` (spec table 1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentTypeInfo {
    /// `Type`: validators accept 1 or 2, meaning unconfirmed; kept as sent (0–99).
    pub type_code: u8,
    /// `TypeName`: the type's name (`Công văn`; max 100).
    pub type_name: String,
}

/// `SignerInfo` (spec table 1.8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerInfo {
    /// `Competence`: `KT.`, `TL.`, `TM.`… (max 100).
    pub competence: String,
    /// `Position`: the signer's title (max 100).
    pub position: String,
    /// `FullName` (max 50).
    pub full_name: String,
}

/// `OtherInfo` except `Priority` (spec table 1.11).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherInfo {
    /// `SphereOfPromulgation` (max 100).
    pub sphere_of_promulgation: String,
    /// `TyperNotation`: the drafter's code (max 10).
    pub typer_notation: String,
    /// `PromulgationAmount`: number of copies.
    pub promulgation_amount: Option<u32>,
    /// `PageAmount`: number of pages.
    pub page_amount: Option<u32>,
    /// `Appendixes/Appendix`* (max 250 each).
    pub appendixes: Vec<String>,
}

/// `ResponseFor`: the document a package or status message answers (spec table 1.12,
/// §15.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseFor {
    /// `OrganId` of the agency that issued it.
    pub organ_id: AgencyId,
    /// `Code`: its number/notation as text (`7816/VPCP-TTĐT`; max 50).
    pub code: String,
    /// `PromulgationDate`.
    #[serde(with = "json_date_option")]
    pub promulgation_date: Option<Date>,
    /// `DocumentId`.
    pub document_id: DocumentId,
}

impl ResponseFor {
    /// The reference to a document by its identifier only.
    pub fn new(organ_id: AgencyId, document_id: DocumentId) -> Self {
        Self {
            organ_id,
            code: String::new(),
            promulgation_date: None,
            document_id,
        }
    }

    pub(crate) fn check(&mut self, path: &str, mode: Mode) -> Result<(), ExchangeError> {
        apply(
            &|| format!("{path}.Code"),
            &mut self.code,
            Rule::optional(50),
            mode,
        )
    }
}

/// `StaffInfo`: the person handling it (spec §15.3, §15.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffInfo {
    /// `Department` (max 200).
    pub department: String,
    /// `Staff`: the person's name (max 100).
    pub staff: String,
    /// `Mobile` (max 20).
    pub mobile: String,
    /// `Email` (max 100).
    pub email: String,
}

impl StaffInfo {
    pub(crate) fn check(&mut self, path: &str, mode: Mode) -> Result<(), ExchangeError> {
        let fields: [(&str, &mut String, usize); 4] = [
            ("Department", &mut self.department, 200),
            ("Staff", &mut self.staff, 100),
            ("Mobile", &mut self.mobile, 20),
            ("Email", &mut self.email, 100),
        ];
        for (name, value, max) in fields {
            apply(
                &|| format!("{path}.{name}"),
                value,
                Rule::optional(max),
                mode,
            )?;
        }
        Ok(())
    }

    /// Whether every field is empty (the element is then left out).
    pub fn is_empty(&self) -> bool {
        self.department.is_empty()
            && self.staff.is_empty()
            && self.mobile.is_empty()
            && self.email.is_empty()
    }
}

/// A receiver added or removed by an update (`ReceiverList/Receiver`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverChange {
    /// `ReceiverType`: `true` = 1 added, `false` = 0 removed.
    pub added: bool,
    /// `OrganId`.
    pub organ_id: AgencyId,
}

/// `BussinessDocumentInfo` of an update (business type 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateInfo {
    /// `DocumentInfo`: the document's information changed (0/1).
    pub document_info_changed: bool,
    /// `DocumentReceiver`: the receivers changed (0/1).
    pub receivers_changed: bool,
    /// `ReceiverList/Receiver`*.
    pub receivers: Vec<ReceiverChange>,
}

/// `ReplacementInfo` of a replacement (business type 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// `DocumentId` of the document replaced.
    pub document_id: DocumentId,
    /// `OrganIdList/OrganId`*: the agencies concerned.
    pub organ_ids: Vec<AgencyId>,
}

/// `TraceHeaderList/Bussiness`: what the package does (spec §15.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Business {
    /// `BussinessDocType`: new, recall, update, replace.
    pub doc_type: BusinessDocType,
    /// `BussinessDocReason`: required for recall, update and replace (max 500).
    pub reason: String,
    /// `DocumentId` of the earlier document: required for recall, update and replace.
    pub document_id: Option<DocumentId>,
    /// `Paper`: a paper copy is sent too.
    pub paper: bool,
    /// `StaffInfo`.
    pub staff: StaffInfo,
    /// `BussinessDocumentInfo`: only for an update.
    pub update: Option<UpdateInfo>,
    /// `ReplacementInfoList/ReplacementInfo`*: only for a replacement.
    pub replacements: Vec<Replacement>,
}

impl Business {
    fn check(&mut self, mode: Mode) -> Result<(), ExchangeError> {
        let earlier = self.doc_type.refers_to_earlier_document();
        apply(
            &|| "Bussiness.BussinessDocReason".into(),
            &mut self.reason,
            Rule::multiline(500, earlier),
            mode,
        )?;
        if earlier && self.document_id.is_none() {
            return Err(ExchangeError::field(
                "Bussiness.DocumentId",
                FieldProblem::Missing,
            ));
        }
        self.staff.check("Bussiness.StaffInfo", mode)?;
        let invalid = |field: &str, expected: &str| {
            ExchangeError::field(
                field,
                FieldProblem::Invalid {
                    expected: expected.into(),
                },
            )
        };
        if self.update.is_some() && self.doc_type != BusinessDocType::Update {
            return Err(invalid(
                "Bussiness.BussinessDocumentInfo",
                "only with BussinessDocType 2 (update)",
            ));
        }
        if !self.replacements.is_empty() && self.doc_type != BusinessDocType::Replace {
            return Err(invalid(
                "Bussiness.ReplacementInfoList",
                "only with BussinessDocType 3 (replace)",
            ));
        }
        Ok(())
    }
}

/// The package header: everything of edXML's `MessageHeader` and `Bussiness`, plus the
/// secrecy level (which edXML does not carry; see [`Package`](crate::Package)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// `From`: the sending agency.
    pub from: Organization,
    /// `To`: one or more receivers, no agency twice.
    pub to: Vec<Organization>,
    /// `Code`: number and notation.
    pub code: Code,
    /// `PromulgationInfo`: place and date of issue.
    pub promulgation: PromulgationInfo,
    /// `DocumentType`.
    pub document_type: DocumentTypeInfo,
    /// `Subject`: the summary (trích yếu; required, max 500).
    pub subject: String,
    /// `Content`: a short content (max 500).
    pub content: String,
    /// `SignerInfo`.
    pub signer: SignerInfo,
    /// `OtherInfo/Priority`: the urgency (độ khẩn).
    pub priority: Urgency,
    /// `DueDate`: the handling deadline.
    #[serde(with = "json_date_option")]
    pub due_date: Option<Date>,
    /// `ToPlaces/Place`*: other named recipients (max 150 each).
    pub to_places: Vec<String>,
    /// The rest of `OtherInfo`.
    pub other: OtherInfo,
    /// `ResponseFor`*: the documents this one answers.
    pub response_for: Vec<ResponseFor>,
    /// `SteeringType`: direction type, kept as sent (codes unconfirmed).
    pub steering_type: Option<u8>,
    /// `DocumentId`: the document's identifier across agencies.
    pub document_id: DocumentId,
    /// `TraceHeaderList/Bussiness`.
    pub business: Business,
    /// The document's secrecy level (độ mật); a package is never built for a secret one.
    pub secrecy: Secrecy,
}

impl Header {
    /// A header with the required fields; everything else empty, urgency Thường, a new
    /// document (business type 0), not secret, `Type` 1.
    pub fn new(
        from: Organization,
        to: Vec<Organization>,
        code: Code,
        promulgation: PromulgationInfo,
        type_name: impl Into<String>,
        subject: impl Into<String>,
        document_id: DocumentId,
    ) -> Self {
        Self {
            from,
            to,
            code,
            promulgation,
            document_type: DocumentTypeInfo {
                type_code: 1,
                type_name: type_name.into(),
            },
            subject: subject.into(),
            content: String::new(),
            signer: SignerInfo::default(),
            priority: Urgency::Thuong,
            due_date: None,
            to_places: Vec::new(),
            other: OtherInfo::default(),
            response_for: Vec::new(),
            steering_type: None,
            document_id,
            business: Business::default(),
            secrecy: Secrecy::None,
        }
    }

    /// Brings every text field to normal form (NFC, trimmed, `\n` line ends) and checks
    /// the rules: not secret, required fields, lengths, characters, receivers, business
    /// type. This is what [`Package::new`](crate::Package::new) and the edXML import do.
    pub fn normalize(&mut self) -> Result<(), ExchangeError> {
        self.check(Mode::Normalize)
    }

    /// Checks the rules without changing anything; text must already be in normal form.
    pub fn validate(&self) -> Result<(), ExchangeError> {
        self.clone().check(Mode::Check)
    }

    pub(crate) fn check(&mut self, mode: Mode) -> Result<(), ExchangeError> {
        if self.secrecy.is_secret() {
            return Err(ExchangeError::SecretDocument {
                secrecy: self.secrecy,
            });
        }
        self.from.check("From", mode)?;
        if self.to.is_empty() {
            return Err(ExchangeError::field("To", FieldProblem::Missing));
        }
        let mut seen = BTreeSet::new();
        for (index, to) in self.to.iter_mut().enumerate() {
            to.check(&format!("To[{index}]"), mode)?;
            if !seen.insert(to.organ_id.clone()) {
                return Err(ExchangeError::DuplicateReceiver {
                    index,
                    organ_id: to.organ_id.to_string(),
                });
            }
        }
        apply(
            &|| "Code.CodeNumber".into(),
            &mut self.code.code_number,
            Rule::optional(11),
            mode,
        )?;
        apply(
            &|| "Code.CodeNotation".into(),
            &mut self.code.code_notation,
            Rule::required(30),
            mode,
        )?;
        apply(
            &|| "PromulgationInfo.Place".into(),
            &mut self.promulgation.place,
            Rule::optional(50),
            mode,
        )?;
        if self.document_type.type_code > 99 {
            return Err(ExchangeError::field(
                "DocumentType.Type",
                FieldProblem::Invalid {
                    expected: "a code 0-99".into(),
                },
            ));
        }
        apply(
            &|| "DocumentType.TypeName".into(),
            &mut self.document_type.type_name,
            Rule::optional(100),
            mode,
        )?;
        apply(
            &|| "Subject".into(),
            &mut self.subject,
            Rule::multiline(500, true),
            mode,
        )?;
        apply(
            &|| "Content".into(),
            &mut self.content,
            Rule::multiline(500, false),
            mode,
        )?;
        let signer: [(&str, &mut String, usize); 3] = [
            ("Competence", &mut self.signer.competence, 100),
            ("Position", &mut self.signer.position, 100),
            ("FullName", &mut self.signer.full_name, 50),
        ];
        for (name, value, max) in signer {
            apply(
                &|| format!("SignerInfo.{name}"),
                value,
                Rule::optional(max),
                mode,
            )?;
        }
        for (index, place) in self.to_places.iter_mut().enumerate() {
            apply(
                &|| format!("ToPlaces.Place[{index}]"),
                place,
                Rule::required(150),
                mode,
            )?;
        }
        apply(
            &|| "OtherInfo.SphereOfPromulgation".into(),
            &mut self.other.sphere_of_promulgation,
            Rule::optional(100),
            mode,
        )?;
        apply(
            &|| "OtherInfo.TyperNotation".into(),
            &mut self.other.typer_notation,
            Rule::optional(10),
            mode,
        )?;
        for (index, appendix) in self.other.appendixes.iter_mut().enumerate() {
            apply(
                &|| format!("OtherInfo.Appendixes.Appendix[{index}]"),
                appendix,
                Rule::required(250),
                mode,
            )?;
        }
        for (index, response) in self.response_for.iter_mut().enumerate() {
            response.check(&format!("ResponseFor[{index}]"), mode)?;
        }
        if self.steering_type.is_some_and(|code| code > 99) {
            return Err(ExchangeError::field(
                "SteeringType",
                FieldProblem::Invalid {
                    expected: "a code 0-99".into(),
                },
            ));
        }
        self.business.check(mode)
    }
}

/// One `TraceHeader`: an agency (or hub) the package passed, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    /// `OrganId` of the node.
    pub organ_id: AgencyId,
    /// `Timestamp`, Vietnam time.
    pub timestamp: VnDateTime,
}
