//! Fixtures shared by the tests: a complete header and a package with attachments.

#![allow(dead_code, clippy::unwrap_used, reason = "shared test fixtures")]

use kyso_exchange::{
    Attachment, Business, Code, Header, Hop, Organization, Package, PromulgationInfo, ResponseFor,
    StaffInfo, VnDateTime,
};
use kyso_model::time::macros::{date, datetime};
use kyso_model::{AgencyId, BusinessDocType, DocumentId, Urgency};

pub(crate) fn agency(text: &str) -> AgencyId {
    AgencyId::parse(text).unwrap()
}

pub(crate) fn organization(id: &str, name: &str) -> Organization {
    Organization {
        organization_in_charge: "Chính phủ".into(),
        organ_add: "Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội".into(),
        email: "vanthu@example.gov.vn".into(),
        telephone: "024 3825 8261".into(),
        fax: "024 3825 8262".into(),
        website: "https://example.gov.vn".into(),
        ..Organization::new(agency(id), name)
    }
}

/// A header with every field filled.
pub(crate) fn header() -> Header {
    let mut header = Header::new(
        organization("000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An"),
        vec![
            organization("000.00.00.G22", "Văn phòng Chính phủ"),
            Organization::new(agency("000.00.00.G09"), "Bộ Nội vụ"),
        ],
        Code {
            code_number: "05".into(),
            code_notation: "UBND-VP".into(),
        },
        PromulgationInfo {
            place: "Nghệ An".into(),
            promulgation_date: date!(2025 - 03 - 01),
        },
        "Công văn",
        "V/v báo cáo tình hình thực hiện nhiệm vụ quý I năm 2025 & kế hoạch <quý II>",
        DocumentId::parse("000.00.00.H41,2025,12").unwrap(),
    );
    header.content = "Báo cáo kết quả thực hiện;\nđề xuất nhiệm vụ trọng tâm.".into();
    header.signer.competence = "TM. Ủy ban nhân dân".into();
    header.signer.position = "Chủ tịch".into();
    header.signer.full_name = "Nguyễn Văn Đức".into();
    header.priority = Urgency::ThuongKhan;
    header.due_date = Some(date!(2025 - 03 - 15));
    header.to_places = vec!["Như trên".into(), "Lưu: VT, VP".into()];
    header.other.sphere_of_promulgation = "Toàn quốc".into();
    header.other.typer_notation = "NVĐ".into();
    header.other.promulgation_amount = Some(5);
    header.other.page_amount = Some(3);
    header.other.appendixes = vec!["Phụ lục I: Số liệu chi tiết".into()];
    header.response_for = vec![ResponseFor {
        organ_id: agency("000.00.00.G22"),
        code: "7816/VPCP-TTĐT".into(),
        promulgation_date: Some(date!(2025 - 02 - 20)),
        document_id: DocumentId::parse("000.00.00.G22,2025/02/20,7816/VPCP-TTĐT").unwrap(),
    }];
    header.steering_type = Some(1);
    header.business = Business {
        doc_type: BusinessDocType::New,
        reason: String::new(),
        document_id: None,
        paper: true,
        staff: StaffInfo {
            department: "Văn phòng UBND tỉnh".into(),
            staff: "Trần Thị Hồng Nhung".into(),
            mobile: "0912345678".into(),
            email: "nhung@example.gov.vn".into(),
        },
        update: None,
        replacements: Vec::new(),
    };
    header
}

pub(crate) fn attachments() -> Vec<Attachment> {
    let mut main = Attachment::new(
        "Công văn 05-UBND-VP.pdf",
        "application/pdf",
        b"%PDF-1.7\n% signed\n".to_vec(),
    );
    main.description = "Văn bản chính".into();
    vec![
        main,
        Attachment::new("Phụ lục.docx", "", (0u8..=255).collect::<Vec<u8>>()),
        Attachment::new("trống.txt", "text/plain", Vec::new()),
    ]
}

pub(crate) fn hop(id: &str) -> Hop {
    Hop {
        organ_id: agency(id),
        timestamp: VnDateTime::from_local(datetime!(2025-03-01 08:30:00)),
    }
}

pub(crate) fn package() -> Package {
    Package::new(header(), attachments())
        .unwrap()
        .with_hop(hop("000.00.00.H41"))
        .with_hop(hop("000.00.00.G22"))
}
