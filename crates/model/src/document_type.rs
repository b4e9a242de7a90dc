//! Administrative document types (tên loại văn bản hành chính) of Decree 30/2020/NĐ-CP
//! Art 7, the three copy kinds, and their abbreviations (ND30 Appendix III §I).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fold::name_key;

/// One of the 29 administrative document types of ND30 Art 7, or one of the 3 copy kinds
/// (bản sao) of ND30 Appendix III §I.
///
/// Variants are named after the Vietnamese name without diacritics, because the English
/// renderings are ambiguous (Đề án and Dự án are both "project"). They are in ND30 order
/// (Art 7 items 1–29, then the copies), which is also their `Ord` order.
///
/// Abbreviations are exact Unicode strings compared case-sensitively: `QĐ` (decision) is
/// not `QyĐ` (rules), `HĐ` (contract) is not `HD` (guidance), `ĐA` is not `DA`, `CT` is not
/// `CTr`. Công văn and Thư công have none.
///
/// Serde uses the stable snake_case [`key`](Self::key) (`"quyet_dinh"`, `"cong_van"`),
/// not the abbreviation: every type has a key, keys are ASCII, and they never depend on
/// the case of a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DocumentType {
    /// Nghị quyết (cá biệt): resolution (individual), `NQ`.
    NghiQuyet,
    /// Quyết định (cá biệt): decision (individual), `QĐ`.
    QuyetDinh,
    /// Chỉ thị: directive, `CT`.
    ChiThi,
    /// Quy chế: regulation (statute), `QC`.
    QuyChe,
    /// Quy định: rules, `QyĐ`.
    QuyDinh,
    /// Thông cáo: communiqué, `TC`.
    ThongCao,
    /// Thông báo: notice, `TB`.
    ThongBao,
    /// Hướng dẫn: guidance, `HD`.
    HuongDan,
    /// Chương trình: programme, `CTr`.
    ChuongTrinh,
    /// Kế hoạch: plan, `KH`.
    KeHoach,
    /// Phương án: option or scheme, `PA`.
    PhuongAn,
    /// Đề án: proposal (scheme submitted for approval), `ĐA`.
    DeAn,
    /// Dự án: project, `DA`.
    DuAn,
    /// Báo cáo: report, `BC`.
    BaoCao,
    /// Biên bản: minutes or record, `BB`.
    BienBan,
    /// Tờ trình: submission, `TTr`.
    ToTrinh,
    /// Hợp đồng: contract, `HĐ`.
    HopDong,
    /// Công văn: official letter; no abbreviation (its notation is issuer + drafting unit).
    CongVan,
    /// Công điện: official telegram, `CĐ`.
    CongDien,
    /// Bản ghi nhớ: memorandum, `BGN`.
    BanGhiNho,
    /// Bản thỏa thuận: agreement, `BTT`.
    BanThoaThuan,
    /// Giấy ủy quyền: power of attorney, `GUQ`.
    GiayUyQuyen,
    /// Giấy mời: invitation, `GM`.
    GiayMoi,
    /// Giấy giới thiệu: letter of introduction, `GGT`.
    GiayGioiThieu,
    /// Giấy nghỉ phép: leave permit, `GNP`.
    GiayNghiPhep,
    /// Phiếu gửi: dispatch slip, `PG`.
    PhieuGui,
    /// Phiếu chuyển: transfer slip, `PC`.
    PhieuChuyen,
    /// Phiếu báo: notification slip, `PB`.
    PhieuBao,
    /// Thư công: official courtesy letter; no abbreviation.
    ThuCong,
    /// Bản sao y: true copy, `SY`.
    BanSaoY,
    /// Bản trích sao: extract copy, `TrS`.
    BanTrichSao,
    /// Bản sao lục: copy made from a true copy, `SL`.
    BanSaoLuc,
}

impl DocumentType {
    /// All 32 types in ND30 order: the 29 administrative types of Art 7, then the copies.
    pub const ALL: [DocumentType; 32] = [
        Self::NghiQuyet,
        Self::QuyetDinh,
        Self::ChiThi,
        Self::QuyChe,
        Self::QuyDinh,
        Self::ThongCao,
        Self::ThongBao,
        Self::HuongDan,
        Self::ChuongTrinh,
        Self::KeHoach,
        Self::PhuongAn,
        Self::DeAn,
        Self::DuAn,
        Self::BaoCao,
        Self::BienBan,
        Self::ToTrinh,
        Self::HopDong,
        Self::CongVan,
        Self::CongDien,
        Self::BanGhiNho,
        Self::BanThoaThuan,
        Self::GiayUyQuyen,
        Self::GiayMoi,
        Self::GiayGioiThieu,
        Self::GiayNghiPhep,
        Self::PhieuGui,
        Self::PhieuChuyen,
        Self::PhieuBao,
        Self::ThuCong,
        Self::BanSaoY,
        Self::BanTrichSao,
        Self::BanSaoLuc,
    ];

    /// Iterates over [`ALL`](Self::ALL).
    pub fn iter() -> impl Iterator<Item = DocumentType> {
        Self::ALL.into_iter()
    }

    /// The ND30 Appendix III abbreviation (`"QĐ"`, `"QyĐ"`, `"TTr"`, `"SY"`…), or `None`
    /// for Công văn and Thư công.
    pub fn abbreviation(self) -> Option<&'static str> {
        self.info().abbreviation
    }

    /// The Vietnamese name, NFC, capitalised as in ND30 (`"Quyết định"`).
    pub fn vietnamese_name(self) -> &'static str {
        self.info().vietnamese_name
    }

    /// An English name (`"Decision"`), for logs and documentation; not normative.
    pub fn english_name(self) -> &'static str {
        self.info().english_name
    }

    /// The stable snake_case key used by serde (`"quyet_dinh"`): the Vietnamese name
    /// folded to ASCII.
    pub fn key(self) -> &'static str {
        self.info().key
    }

    /// Whether this is one of the copy kinds (SY, TrS, SL), which share their own number
    /// series (ND30 App. I Part II §II.1.c).
    pub fn is_copy(self) -> bool {
        matches!(self, Self::BanSaoY | Self::BanTrichSao | Self::BanSaoLuc)
    }

    /// The type with exactly this abbreviation (case-sensitive, no normalisation beyond
    /// what the abbreviations need: they are ASCII plus the precomposed `Đ`).
    ///
    /// ```
    /// use kyso_model::DocumentType;
    /// assert_eq!(DocumentType::from_abbreviation("QĐ"), Some(DocumentType::QuyetDinh));
    /// assert_eq!(DocumentType::from_abbreviation("QyĐ"), Some(DocumentType::QuyDinh));
    /// assert_eq!(DocumentType::from_abbreviation("qđ"), None);
    /// ```
    pub fn from_abbreviation(abbreviation: &str) -> Option<Self> {
        Self::iter().find(|t| t.abbreviation() == Some(abbreviation))
    }

    /// The type with this serde key (exact).
    pub fn from_key(key: &str) -> Option<Self> {
        Self::iter().find(|t| t.key() == key)
    }

    /// The type with this Vietnamese name, compared accent-, case- and
    /// spacing-insensitively (`"quyet dinh"`, `"QUYẾT ĐỊNH"`, `"Quyết  định"`).
    pub fn from_vietnamese_name(name: &str) -> Option<Self> {
        let key = name_key(name);
        Self::from_key(&key)
    }

    fn info(self) -> &'static TypeInfo {
        // In range: `TABLE` has one row per variant, in declaration order (tested).
        &TABLE[self as usize]
    }
}

impl fmt::Display for DocumentType {
    /// Writes the Vietnamese name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.vietnamese_name())
    }
}

impl Serialize for DocumentType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for DocumentType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Self::from_key(&key).ok_or_else(|| {
            serde::de::Error::custom(crate::ModelError::UnknownTypeKey {
                key: crate::error::excerpt(&key),
            })
        })
    }
}

struct TypeInfo {
    key: &'static str,
    vietnamese_name: &'static str,
    english_name: &'static str,
    abbreviation: Option<&'static str>,
}

const fn row(
    key: &'static str,
    vietnamese_name: &'static str,
    english_name: &'static str,
    abbreviation: Option<&'static str>,
) -> TypeInfo {
    TypeInfo {
        key,
        vietnamese_name,
        english_name,
        abbreviation,
    }
}

/// One row per [`DocumentType`] variant, in declaration order. Names and abbreviations
/// checked against ND30 Art 7 and Appendix III §I (spec §2).
const TABLE: [TypeInfo; 32] = [
    row("nghi_quyet", "Nghị quyết", "Resolution", Some("NQ")),
    row("quyet_dinh", "Quyết định", "Decision", Some("QĐ")),
    row("chi_thi", "Chỉ thị", "Directive", Some("CT")),
    row("quy_che", "Quy chế", "Regulation", Some("QC")),
    row("quy_dinh", "Quy định", "Rules", Some("QyĐ")),
    row("thong_cao", "Thông cáo", "Communiqué", Some("TC")),
    row("thong_bao", "Thông báo", "Notice", Some("TB")),
    row("huong_dan", "Hướng dẫn", "Guidance", Some("HD")),
    row("chuong_trinh", "Chương trình", "Programme", Some("CTr")),
    row("ke_hoach", "Kế hoạch", "Plan", Some("KH")),
    row("phuong_an", "Phương án", "Scheme", Some("PA")),
    row("de_an", "Đề án", "Proposal", Some("ĐA")),
    row("du_an", "Dự án", "Project", Some("DA")),
    row("bao_cao", "Báo cáo", "Report", Some("BC")),
    row("bien_ban", "Biên bản", "Minutes", Some("BB")),
    row("to_trinh", "Tờ trình", "Submission", Some("TTr")),
    row("hop_dong", "Hợp đồng", "Contract", Some("HĐ")),
    row("cong_van", "Công văn", "Official letter", None),
    row("cong_dien", "Công điện", "Official telegram", Some("CĐ")),
    row("ban_ghi_nho", "Bản ghi nhớ", "Memorandum", Some("BGN")),
    row("ban_thoa_thuan", "Bản thỏa thuận", "Agreement", Some("BTT")),
    row(
        "giay_uy_quyen",
        "Giấy ủy quyền",
        "Power of attorney",
        Some("GUQ"),
    ),
    row("giay_moi", "Giấy mời", "Invitation", Some("GM")),
    row(
        "giay_gioi_thieu",
        "Giấy giới thiệu",
        "Letter of introduction",
        Some("GGT"),
    ),
    row(
        "giay_nghi_phep",
        "Giấy nghỉ phép",
        "Leave permit",
        Some("GNP"),
    ),
    row("phieu_gui", "Phiếu gửi", "Dispatch slip", Some("PG")),
    row("phieu_chuyen", "Phiếu chuyển", "Transfer slip", Some("PC")),
    row("phieu_bao", "Phiếu báo", "Notification slip", Some("PB")),
    row("thu_cong", "Thư công", "Official courtesy letter", None),
    row("ban_sao_y", "Bản sao y", "True copy", Some("SY")),
    row(
        "ban_trich_sao",
        "Bản trích sao",
        "Extract copy",
        Some("TrS"),
    ),
    row(
        "ban_sao_luc",
        "Bản sao lục",
        "Copy of a true copy",
        Some("SL"),
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use unicode_normalization::UnicodeNormalization;

    use super::*;
    use crate::fold::fold;

    /// The abbreviation table of spec §2, written out independently of `TABLE`.
    const EXPECTED: [(DocumentType, Option<&str>); 32] = [
        (DocumentType::NghiQuyet, Some("NQ")),
        (DocumentType::QuyetDinh, Some("QĐ")),
        (DocumentType::ChiThi, Some("CT")),
        (DocumentType::QuyChe, Some("QC")),
        (DocumentType::QuyDinh, Some("QyĐ")),
        (DocumentType::ThongCao, Some("TC")),
        (DocumentType::ThongBao, Some("TB")),
        (DocumentType::HuongDan, Some("HD")),
        (DocumentType::ChuongTrinh, Some("CTr")),
        (DocumentType::KeHoach, Some("KH")),
        (DocumentType::PhuongAn, Some("PA")),
        (DocumentType::DeAn, Some("ĐA")),
        (DocumentType::DuAn, Some("DA")),
        (DocumentType::BaoCao, Some("BC")),
        (DocumentType::BienBan, Some("BB")),
        (DocumentType::ToTrinh, Some("TTr")),
        (DocumentType::HopDong, Some("HĐ")),
        (DocumentType::CongVan, None),
        (DocumentType::CongDien, Some("CĐ")),
        (DocumentType::BanGhiNho, Some("BGN")),
        (DocumentType::BanThoaThuan, Some("BTT")),
        (DocumentType::GiayUyQuyen, Some("GUQ")),
        (DocumentType::GiayMoi, Some("GM")),
        (DocumentType::GiayGioiThieu, Some("GGT")),
        (DocumentType::GiayNghiPhep, Some("GNP")),
        (DocumentType::PhieuGui, Some("PG")),
        (DocumentType::PhieuChuyen, Some("PC")),
        (DocumentType::PhieuBao, Some("PB")),
        (DocumentType::ThuCong, None),
        (DocumentType::BanSaoY, Some("SY")),
        (DocumentType::BanTrichSao, Some("TrS")),
        (DocumentType::BanSaoLuc, Some("SL")),
    ];

    #[test]
    fn table_follows_declaration_order() {
        for (index, document_type) in DocumentType::ALL.into_iter().enumerate() {
            assert_eq!(document_type as usize, index);
        }
        assert_eq!(DocumentType::iter().count(), 32);
    }

    #[test]
    fn abbreviations_match_nd30_appendix_iii() {
        for (document_type, abbreviation) in EXPECTED {
            assert_eq!(
                document_type.abbreviation(),
                abbreviation,
                "{document_type:?}"
            );
        }
    }

    #[test]
    fn every_abbreviation_round_trips() {
        let mut seen = 0;
        for document_type in DocumentType::ALL {
            if let Some(abbreviation) = document_type.abbreviation() {
                assert_eq!(
                    DocumentType::from_abbreviation(abbreviation),
                    Some(document_type)
                );
                seen += 1;
            }
        }
        // 27 administrative abbreviations + 3 copies; Công văn and Thư công have none.
        assert_eq!(seen, 30);
    }

    #[test]
    fn abbreviations_are_distinct_and_case_sensitive() {
        let all: HashSet<_> = DocumentType::iter()
            .filter_map(|t| t.abbreviation())
            .collect();
        assert_eq!(all.len(), 30);
        assert_eq!(
            DocumentType::from_abbreviation("QĐ"),
            Some(DocumentType::QuyetDinh)
        );
        assert_eq!(
            DocumentType::from_abbreviation("QyĐ"),
            Some(DocumentType::QuyDinh)
        );
        assert_eq!(
            DocumentType::from_abbreviation("HĐ"),
            Some(DocumentType::HopDong)
        );
        assert_eq!(
            DocumentType::from_abbreviation("HD"),
            Some(DocumentType::HuongDan)
        );
        assert_eq!(
            DocumentType::from_abbreviation("ĐA"),
            Some(DocumentType::DeAn)
        );
        assert_eq!(
            DocumentType::from_abbreviation("DA"),
            Some(DocumentType::DuAn)
        );
        assert_eq!(
            DocumentType::from_abbreviation("CT"),
            Some(DocumentType::ChiThi)
        );
        assert_eq!(
            DocumentType::from_abbreviation("CTr"),
            Some(DocumentType::ChuongTrinh)
        );
        for wrong in [
            "QD", "qđ", "QYĐ", "QYD", "Qđ", "CTR", "TTR", "ttr", "TRS", "", " QĐ",
        ] {
            assert_eq!(DocumentType::from_abbreviation(wrong), None, "{wrong:?}");
        }
    }

    #[test]
    fn vietnamese_names_are_nfc_and_keys_are_their_fold() {
        for document_type in DocumentType::ALL {
            let name = document_type.vietnamese_name();
            assert_eq!(name.nfc().collect::<String>(), name);
            assert_eq!(name_key(name), document_type.key(), "{name}");
            assert!(!document_type.english_name().is_empty());
        }
    }

    #[test]
    fn names_are_found_accent_and_case_insensitively() {
        for document_type in DocumentType::ALL {
            let name = document_type.vietnamese_name();
            assert_eq!(
                DocumentType::from_vietnamese_name(name),
                Some(document_type)
            );
            assert_eq!(
                DocumentType::from_vietnamese_name(&fold(name)),
                Some(document_type)
            );
            assert_eq!(
                DocumentType::from_vietnamese_name(&name.to_uppercase()),
                Some(document_type)
            );
            let nfd: String = name.nfd().collect();
            assert_eq!(
                DocumentType::from_vietnamese_name(&nfd),
                Some(document_type)
            );
        }
        assert_eq!(
            DocumentType::from_vietnamese_name("  cong   van "),
            Some(DocumentType::CongVan)
        );
        assert_eq!(
            DocumentType::from_vietnamese_name("Bản thoả thuận"),
            Some(DocumentType::BanThoaThuan)
        );
        assert_eq!(DocumentType::from_vietnamese_name("Lịch làm việc"), None);
        assert_eq!(DocumentType::from_vietnamese_name(""), None);
    }

    #[test]
    fn copies_are_flagged() {
        let copies: Vec<_> = DocumentType::iter().filter(|t| t.is_copy()).collect();
        assert_eq!(
            copies,
            [
                DocumentType::BanSaoY,
                DocumentType::BanTrichSao,
                DocumentType::BanSaoLuc
            ]
        );
    }

    #[test]
    fn serde_uses_the_key() {
        for document_type in DocumentType::ALL {
            let json = serde_json::to_string(&document_type).unwrap();
            assert_eq!(json, format!("\"{}\"", document_type.key()));
            let back: DocumentType = serde_json::from_str(&json).unwrap();
            assert_eq!(back, document_type);
        }
        let error = serde_json::from_str::<DocumentType>("\"QĐ\"").unwrap_err();
        assert!(error.to_string().contains("unknown document type key"));
    }

    #[test]
    fn display_is_the_vietnamese_name() {
        assert_eq!(DocumentType::ToTrinh.to_string(), "Tờ trình");
    }
}
