//! A deterministic generator of realistic Vietnamese administrative documents, for
//! benchmarks, demos and load tests (`cargo run --release -p kyso-search --example
//! gen_corpus -- --docs 1000000`).
//!
//! The same seed and count give the same documents on every machine and every version of
//! Rust (own PRNG, no floating point in the choices). What is modelled:
//! - the agencies of a city (Cần Thơ): the city People's Council and People's Committee,
//!   its Office, departments (sở), districts (quận/huyện) and wards/communes, each with a
//!   Decision 20/2020 style identifier, an abbreviation and three or four leaders;
//! - types per Decree 30 with realistic frequencies (Công văn ≈ 40 %, Quyết định ≈ 20 %…;
//!   resolutions only from the People's Council);
//! - one number series per agency and year starting at 01 on 1 January, dates on working
//!   days in issue order, notations `05/QĐ-UBND`, `12/UBND-VP` (Công văn: issuer and
//!   drafting unit);
//! - subjects (trích yếu) from templates per type, with Vietnamese administrative
//!   vocabulary; Công văn subjects start with `V/v`;
//! - a 1–3 KB body: national motto, issuer, number, place and date, the type name, legal
//!   grounds (`Căn cứ …`, sometimes quoting an earlier document of the same agency by
//!   number), articles or paragraphs from templates, recipients and the signature block.

use std::fmt::Write as _;

use time::{Date, Duration, Month, Weekday};

use crate::doc::SearchDoc;

/// SplitMix64: tiny, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Index drawn with the given integer weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = ((u128::from(self.next_u64()) * u128::from(total)) >> 64) as u64;
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        weights.len() - 1
    }
}

/// Kind of agency, which decides its types, leaders' titles and volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CityCouncil,
    CityCommittee,
    CityOffice,
    Department,
    District,
    Ward,
}

/// An issuing agency.
#[derive(Debug, Clone)]
pub struct Agency {
    pub id: String,
    pub name: String,
    /// Abbreviation in notations (`UBND`, `SNV`).
    pub abbreviation: String,
    /// Drafting units for Công văn notations (`VP`, `KT`).
    pub units: Vec<&'static str>,
    /// Leaders: (title, name).
    pub leaders: Vec<(String, String)>,
    kind: Kind,
    /// Relative volume of documents.
    weight: u32,
    place: &'static str,
}

const CITY: &str = "thành phố Cần Thơ";
const PLACE: &str = "Cần Thơ";

const DEPARTMENTS: &[(&str, &str, &[&str])] = &[
    ("Sở Nội vụ", "SNV", &["VP", "TCBC", "CCVC", "CCHC", "TĐKT"]),
    ("Sở Tài chính", "STC", &["VP", "NS", "QLG", "TCĐT"]),
    ("Sở Xây dựng", "SXD", &["VP", "QLXD", "HTKT", "QLN"]),
    (
        "Sở Giáo dục và Đào tạo",
        "SGDĐT",
        &["VP", "GDTrH", "GDTH", "TCCB"],
    ),
    ("Sở Y tế", "SYT", &["VP", "NVY", "KHTC", "TCCB"]),
    ("Sở Tư pháp", "STP", &["VP", "XDKTVB", "HCTP", "PBGDPL"]),
    ("Sở Công Thương", "SCT", &["VP", "QLTM", "QLCN", "QLNL"]),
    (
        "Sở Nông nghiệp và Môi trường",
        "SNNMT",
        &["VP", "TTBVTV", "QLĐĐ", "MT"],
    ),
    (
        "Sở Văn hóa, Thể thao và Du lịch",
        "SVHTTDL",
        &["VP", "QLVH", "QLDL", "TDTT"],
    ),
    (
        "Sở Khoa học và Công nghệ",
        "SKHCN",
        &["VP", "QLKH", "CNTT", "BCVT"],
    ),
    ("Sở Dân tộc và Tôn giáo", "SDTTG", &["VP", "DT", "TG"]),
    ("Thanh tra thành phố", "TTTP", &["VP", "NV1", "NV2", "PCTN"]),
];

const DISTRICTS: &[(&str, &[&str])] = &[
    (
        "quận Ninh Kiều",
        &[
            "phường Tân An",
            "phường Xuân Khánh",
            "phường Hưng Lợi",
            "phường An Khánh",
        ],
    ),
    (
        "quận Bình Thủy",
        &["phường Bình Thủy", "phường Trà An", "phường Long Hòa"],
    ),
    (
        "quận Cái Răng",
        &["phường Lê Bình", "phường Hưng Phú", "phường Ba Láng"],
    ),
    (
        "quận Ô Môn",
        &[
            "phường Châu Văn Liêm",
            "phường Thới Long",
            "phường Phước Thới",
        ],
    ),
    (
        "quận Thốt Nốt",
        &["phường Thốt Nốt", "phường Trung Kiên", "phường Thuận Hưng"],
    ),
    (
        "huyện Phong Điền",
        &["xã Nhơn Ái", "xã Giai Xuân", "xã Mỹ Khánh"],
    ),
    (
        "huyện Cờ Đỏ",
        &["xã Trung An", "xã Thới Hưng", "xã Đông Hiệp"],
    ),
    (
        "huyện Vĩnh Thạnh",
        &["xã Thạnh Quới", "xã Vĩnh Trinh", "xã Thạnh An"],
    ),
    (
        "huyện Thới Lai",
        &["xã Trường Thắng", "xã Định Môn", "xã Đông Bình"],
    ),
];

const FAMILY: &[&str] = &[
    "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Lê", "Phạm", "Huỳnh", "Hoàng",
    "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Lâm", "Châu",
    "Tạ", "Đinh", "Mai", "Cao",
];
const MIDDLE_MALE: &[&str] = &[
    "Văn", "Văn", "Minh", "Thanh", "Quốc", "Hữu", "Đức", "Hoàng", "Công", "Ngọc", "Trọng", "Tấn",
    "Phước", "Thành", "Việt",
];
const MIDDLE_FEMALE: &[&str] = &[
    "Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Hồng", "Thúy", "Bích", "Phương",
];
const GIVEN_MALE: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Hưng", "Khánh", "Khoa", "Long", "Lợi",
    "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quang", "Sơn", "Tâm", "Thắng", "Thịnh", "Toàn",
    "Trí", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Đông",
];
const GIVEN_FEMALE: &[&str] = &[
    "Anh",
    "Bích",
    "Diệu",
    "Dung",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hương",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "Nga",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phượng",
    "Quyên",
    "Thảo",
    "Trang",
    "Tuyết",
    "Vân",
    "Yến",
    "Xuân",
];

fn person(rng: &mut Rng) -> String {
    let family = rng.pick(FAMILY);
    if rng.chance(35) {
        format!(
            "{family} {} {}",
            rng.pick(MIDDLE_FEMALE),
            rng.pick(GIVEN_FEMALE)
        )
    } else {
        format!(
            "{family} {} {}",
            rng.pick(MIDDLE_MALE),
            rng.pick(GIVEN_MALE)
        )
    }
}

fn leaders(rng: &mut Rng, head: &str, deputy: &str, deputies: usize) -> Vec<(String, String)> {
    let mut out = vec![(head.to_owned(), person(rng))];
    for _ in 0..deputies {
        out.push((deputy.to_owned(), person(rng)));
    }
    out
}

/// The agencies of the generated city.
pub fn agencies(seed: u64) -> Vec<Agency> {
    let mut rng = Rng::new(seed ^ 0xA6E);
    let mut out = Vec::new();
    out.push(Agency {
        id: "000.00.00.H13".into(),
        name: format!("Ủy ban nhân dân {CITY}"),
        abbreviation: "UBND".into(),
        units: vec!["VP", "KT", "VX", "NC", "TH", "XDĐT"],
        leaders: leaders(&mut rng, "Chủ tịch", "Phó Chủ tịch", 3),
        kind: Kind::CityCommittee,
        weight: 120,
        place: PLACE,
    });
    out.push(Agency {
        id: "000.00.01.H13".into(),
        name: format!("Hội đồng nhân dân {CITY}"),
        abbreviation: "HĐND".into(),
        units: vec!["VP", "BKTNS", "BPC", "BVHXH"],
        leaders: leaders(&mut rng, "Chủ tịch", "Phó Chủ tịch", 2),
        kind: Kind::CityCouncil,
        weight: 8,
        place: PLACE,
    });
    out.push(Agency {
        id: "000.00.02.H13".into(),
        name: format!("Văn phòng Ủy ban nhân dân {CITY}"),
        abbreviation: "VPUBND".into(),
        units: vec!["HCTC", "KT", "VX", "NC", "TTPVHCC"],
        leaders: leaders(&mut rng, "Chánh Văn phòng", "Phó Chánh Văn phòng", 2),
        kind: Kind::CityOffice,
        weight: 40,
        place: PLACE,
    });
    for (i, (name, abbreviation, units)) in DEPARTMENTS.iter().enumerate() {
        let (head, deputy) = if abbreviation.starts_with("TT") {
            ("Chánh Thanh tra", "Phó Chánh Thanh tra")
        } else {
            ("Giám đốc", "Phó Giám đốc")
        };
        out.push(Agency {
            id: format!("000.00.{:02}.H13", 10 + i),
            name: format!("{name} {CITY}").replace(" thành phố thành phố", " thành phố"),
            abbreviation: (*abbreviation).into(),
            units: units.to_vec(),
            leaders: {
                let deputies = 2 + rng.below(2);
                leaders(&mut rng, head, deputy, deputies)
            },
            kind: Kind::Department,
            weight: 30,
            place: PLACE,
        });
    }
    for (d, (district, wards)) in DISTRICTS.iter().enumerate() {
        let district_code = 30 + d;
        let place = district.split_once(' ').map_or(*district, |(_, name)| name);
        out.push(Agency {
            id: format!("000.00.{district_code:02}.H13"),
            name: format!("Ủy ban nhân dân {district}"),
            abbreviation: "UBND".into(),
            units: vec!["VP", "TCKH", "TNMT", "NV", "VHTT"],
            leaders: leaders(&mut rng, "Chủ tịch", "Phó Chủ tịch", 2),
            kind: Kind::District,
            weight: 25,
            place,
        });
        for (w, ward) in wards.iter().enumerate() {
            out.push(Agency {
                id: format!("000.{:02}.{district_code:02}.H13", w + 1),
                name: format!("Ủy ban nhân dân {ward}"),
                abbreviation: "UBND".into(),
                units: vec!["VP", "ĐC", "TP"],
                leaders: leaders(&mut rng, "Chủ tịch", "Phó Chủ tịch", 1),
                kind: Kind::Ward,
                weight: 6,
                place,
            });
        }
    }
    out
}

/// (code, Vietnamese name in capitals for the title, weight per mille).
const TYPES: &[(&str, &str, u32)] = &[
    ("CV", "", 400),
    ("QĐ", "QUYẾT ĐỊNH", 200),
    ("TB", "THÔNG BÁO", 80),
    ("BC", "BÁO CÁO", 75),
    ("KH", "KẾ HOẠCH", 60),
    ("GM", "GIẤY MỜI", 50),
    ("TTr", "TỜ TRÌNH", 40),
    ("BB", "BIÊN BẢN", 15),
    ("HD", "HƯỚNG DẪN", 12),
    ("GGT", "GIẤY GIỚI THIỆU", 10),
    ("NQ", "NGHỊ QUYẾT", 8),
    ("CTr", "CHƯƠNG TRÌNH", 8),
    ("GNP", "GIẤY NGHỈ PHÉP", 6),
    ("CT", "CHỈ THỊ", 5),
    ("QC", "QUY CHẾ", 5),
    ("PA", "PHƯƠNG ÁN", 5),
    ("QyĐ", "QUY ĐỊNH", 4),
    ("ĐA", "ĐỀ ÁN", 4),
    ("HĐ", "HỢP ĐỒNG", 4),
    ("PC", "PHIẾU CHUYỂN", 3),
    ("CĐ", "CÔNG ĐIỆN", 2),
    ("GUQ", "GIẤY ỦY QUYỀN", 2),
    ("DA", "DỰ ÁN", 1),
    ("BGN", "BẢN GHI NHỚ", 1),
];

const TOPICS: &[&str] = &[
    "cải cách hành chính",
    "chuyển đổi số",
    "xây dựng chính quyền điện tử",
    "phòng, chống tham nhũng, tiêu cực",
    "thực hành tiết kiệm, chống lãng phí",
    "giải ngân vốn đầu tư công",
    "thu ngân sách nhà nước",
    "phát triển kinh tế - xã hội",
    "xây dựng nông thôn mới",
    "bảo vệ môi trường",
    "quản lý chất thải rắn sinh hoạt",
    "phòng cháy, chữa cháy",
    "phòng, chống thiên tai và tìm kiếm cứu nạn",
    "phòng, chống sạt lở bờ sông",
    "bảo đảm trật tự an toàn giao thông",
    "quản lý trật tự xây dựng đô thị",
    "quản lý đất đai",
    "bồi thường, hỗ trợ và tái định cư",
    "chăm sóc sức khỏe nhân dân",
    "phòng, chống dịch bệnh",
    "giáo dục và đào tạo",
    "phổ cập giáo dục",
    "an sinh xã hội",
    "giảm nghèo bền vững",
    "giải quyết việc làm",
    "bảo hiểm xã hội, bảo hiểm y tế",
    "phát triển du lịch",
    "xúc tiến thương mại và đầu tư",
    "khoa học và công nghệ",
    "công tác thi đua, khen thưởng",
    "đào tạo, bồi dưỡng cán bộ, công chức",
    "tuyển dụng viên chức",
    "tiếp công dân và giải quyết khiếu nại, tố cáo",
    "phổ biến, giáo dục pháp luật",
    "công tác dân tộc, tôn giáo",
    "văn hóa, thể thao",
    "an toàn thực phẩm",
    "quản lý thị trường",
    "phát triển hạ tầng giao thông",
    "cấp nước sạch nông thôn",
    "chuyển đổi cơ cấu cây trồng",
    "văn thư, lưu trữ",
];

const POSITIONS: &[&str] = &[
    "Phó Giám đốc",
    "Trưởng phòng",
    "Phó Trưởng phòng",
    "Chánh Văn phòng",
    "Phó Chánh Văn phòng",
    "Hiệu trưởng",
    "Phó Hiệu trưởng",
    "Giám đốc Trung tâm",
    "Kế toán trưởng",
    "Chánh Thanh tra",
];

const UNITS_NAMED: &[&str] = &[
    "Trung tâm Phục vụ hành chính công",
    "Ban Quản lý dự án đầu tư xây dựng",
    "Trung tâm Y tế",
    "Trường Trung học phổ thông Châu Văn Liêm",
    "Trường Tiểu học Ninh Kiều",
    "Trung tâm Phát triển quỹ đất",
    "Đài Truyền thanh",
    "Trung tâm Văn hóa - Thể thao",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Nội vụ",
    "Chi cục Thủy lợi",
    "Trung tâm Công nghệ thông tin và Truyền thông",
];

fn subject(rng: &mut Rng, code: &str, year: i32, agency: &Agency) -> String {
    let topic = rng.pick(TOPICS);
    let unit = rng.pick(UNITS_NAMED);
    let position = rng.pick(POSITIONS);
    let who = person(rng);
    match code {
        "CV" => {
            let t = [
                format!("V/v triển khai thực hiện công tác {topic}"),
                format!("V/v đề nghị báo cáo kết quả thực hiện {topic} năm {year}"),
                format!("V/v góp ý dự thảo văn bản về {topic}"),
                format!("V/v hướng dẫn thực hiện {topic}"),
                format!("V/v tăng cường công tác {topic}"),
                format!("V/v đăng ký nhu cầu kinh phí {topic} năm {}", year + 1),
                format!("V/v cung cấp thông tin phục vụ {topic}"),
                format!("V/v chấn chỉnh công tác {topic}"),
                format!("V/v cử cán bộ tham dự tập huấn {topic}"),
                format!("V/v giải quyết Đơn của ông {who}"),
                format!("V/v giải quyết Đơn kiến nghị của bà {who}"),
                format!("V/v thẩm định hồ sơ của {unit}"),
            ];
            rng.pick(&t).clone()
        }
        "QĐ" => {
            let t = [
                format!("Về việc bổ nhiệm {position} {unit}"),
                format!("Về việc bổ nhiệm lại {position} {unit}"),
                format!("Về việc điều động và bổ nhiệm ông {who} giữ chức {position}"),
                format!("Về việc phê duyệt Kế hoạch {topic} năm {year}"),
                format!("Về việc phê duyệt dự toán kinh phí {topic} năm {year}"),
                format!("Về việc ban hành Quy chế phối hợp trong công tác {topic}"),
                format!("Về việc thành lập Ban Chỉ đạo {topic} của {}", agency.name),
                format!("Về việc kiện toàn Tổ công tác {topic}"),
                format!("Về việc khen thưởng tập thể, cá nhân có thành tích trong {topic}"),
                format!("Về việc giao chỉ tiêu {topic} năm {year}"),
                format!("Về việc nâng bậc lương thường xuyên đối với ông (bà) {who}"),
                format!("Về việc nghỉ hưu để hưởng chế độ bảo hiểm xã hội đối với {who}"),
                format!("Về việc xử phạt vi phạm hành chính trong lĩnh vực {topic}"),
                format!("Về việc thu hồi đất để thực hiện dự án {topic}"),
                format!("Về việc phân bổ kinh phí thực hiện {topic}"),
                format!("Về việc công bố danh mục thủ tục hành chính lĩnh vực {topic}"),
            ];
            rng.pick(&t).clone()
        }
        "TB" => {
            let t = [
                format!(
                    "Kết luận của {} tại cuộc họp về {topic}",
                    agency.leaders[0].0
                ),
                format!("Tuyển dụng viên chức {unit} năm {year}"),
                format!(
                    "Lịch làm việc của lãnh đạo {} tuần {}",
                    agency.name,
                    1 + rng.below(52)
                ),
                format!("Kết quả kiểm tra công tác {topic}"),
                format!("Về việc tạm dừng tiếp nhận hồ sơ {topic}"),
            ];
            rng.pick(&t).clone()
        }
        "BC" => {
            let period = *rng.pick(&[
                "quý I",
                "quý II",
                "quý III",
                "6 tháng đầu năm",
                "9 tháng",
                "năm",
            ]);
            let t = [
                format!("Tình hình thực hiện {topic} {period} {year}"),
                format!(
                    "Kết quả thực hiện nhiệm vụ {topic} {period} {year} và phương hướng thời gian tới"
                ),
                format!("Tổng kết công tác {topic} năm {year}"),
                format!("Sơ kết công tác {topic} {period} {year}"),
            ];
            rng.pick(&t).clone()
        }
        "KH" => {
            let t = [
                format!("Triển khai thực hiện {topic} năm {year}"),
                format!("Phát triển {topic} giai đoạn {}-{}", year, year + 4),
                format!("Kế hoạch phát triển {topic} trên địa bàn {CITY}"),
                format!("Tổ chức kiểm tra công tác {topic} năm {year}"),
                format!("Thực hiện chuyển đổi số trong lĩnh vực {topic}"),
            ];
            rng.pick(&t).clone()
        }
        "GM" => format!("Mời dự hội nghị triển khai công tác {topic}"),
        "TTr" => {
            let t = [
                format!("Đề nghị phê duyệt dự toán kinh phí {topic} năm {year}"),
                format!("Đề nghị bổ nhiệm {position} {unit}"),
                format!("Đề nghị ban hành Kế hoạch {topic}"),
            ];
            rng.pick(&t).clone()
        }
        "BB" => format!("Cuộc họp về {topic}"),
        "HD" => format!("Thực hiện {topic} năm {year}"),
        "NQ" => format!("Về nhiệm vụ phát triển kinh tế - xã hội và {topic} năm {year}"),
        "CTr" => format!("Công tác {topic} năm {year}"),
        "GGT" => format!("Giới thiệu ông (bà) {who} liên hệ công tác về {topic}"),
        "GNP" => format!("Cho ông (bà) {who} nghỉ phép năm {year}"),
        "CT" => format!("Về tăng cường công tác {topic}"),
        "QC" => format!("Quy chế phối hợp về {topic}"),
        "PA" => format!("Phương án {topic} năm {year}"),
        "QyĐ" => format!("Quy định về {topic}"),
        "ĐA" => format!("Đề án {topic} giai đoạn {}-{}", year, year + 5),
        "HĐ" => format!("Hợp đồng cung cấp dịch vụ phục vụ {topic}"),
        "PC" => format!("Chuyển Đơn của công dân {who}"),
        "CĐ" => format!("Về việc chủ động ứng phó {topic}"),
        "GUQ" => format!("Ủy quyền ký văn bản về {topic}"),
        "DA" => format!("Dự án {topic}"),
        _ => format!("Ghi nhớ hợp tác về {topic}"),
    }
}

const GROUNDS: &[&str] = &[
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 năm 2019;",
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
    "Căn cứ Luật Cán bộ, công chức ngày 13 tháng 11 năm 2008; Luật Viên chức ngày 15 tháng 11 năm 2010;",
    "Căn cứ Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015;",
    "Căn cứ Luật Đầu tư công ngày 13 tháng 6 năm 2019;",
    "Căn cứ Nghị định số 138/2020/NĐ-CP ngày 27 tháng 11 năm 2020 của Chính phủ quy định về tuyển dụng, sử dụng và quản lý công chức;",
    "Căn cứ Luật Giao dịch điện tử ngày 22 tháng 6 năm 2023;",
];

const SENTENCES: &[&str] = &[
    "Các cơ quan, đơn vị có trách nhiệm tổ chức triển khai thực hiện nghiêm túc, hiệu quả công tác {topic}, bảo đảm đúng tiến độ và chất lượng.",
    "Thủ trưởng các sở, ban, ngành thành phố và Chủ tịch Ủy ban nhân dân quận, huyện chịu trách nhiệm trước Ủy ban nhân dân thành phố về kết quả thực hiện {topic} tại cơ quan, địa phương mình.",
    "Trong quá trình thực hiện, nếu có khó khăn, vướng mắc, các đơn vị kịp thời phản ánh về {issuer} để được hướng dẫn, giải quyết.",
    "Giao Sở Tài chính chủ trì, phối hợp với các đơn vị liên quan tham mưu bố trí kinh phí thực hiện {topic} theo quy định.",
    "Kết quả thực hiện {topic} trong năm qua đã có nhiều chuyển biến tích cực, tuy nhiên vẫn còn một số tồn tại, hạn chế cần khắc phục.",
    "Tiếp tục đẩy mạnh ứng dụng công nghệ thông tin, số hóa hồ sơ, tài liệu, thực hiện gửi, nhận văn bản điện tử có ký số theo quy định.",
    "Đề nghị các cơ quan, đơn vị báo cáo kết quả thực hiện về Sở Nội vụ trước ngày 15 tháng 12 để tổng hợp, báo cáo Ủy ban nhân dân thành phố.",
    "Tăng cường công tác tuyên truyền, phổ biến để cán bộ, công chức, viên chức và Nhân dân hiểu rõ chủ trương, chính sách của Đảng, pháp luật của Nhà nước về {topic}.",
    "Kinh phí thực hiện từ nguồn ngân sách nhà nước được giao trong dự toán hằng năm của các cơ quan, đơn vị và các nguồn hợp pháp khác.",
    "Thời gian thực hiện từ ngày ký ban hành đến hết ngày 31 tháng 12 năm {year}.",
    "Ủy ban nhân dân các phường, xã có trách nhiệm rà soát, thống kê và cập nhật đầy đủ dữ liệu về {topic} trên hệ thống thông tin của thành phố.",
    "Việc kiểm tra, giám sát được thực hiện định kỳ hằng quý hoặc đột xuất khi có yêu cầu của cấp có thẩm quyền.",
    "Nâng cao chất lượng phục vụ người dân và doanh nghiệp, giảm thời gian giải quyết thủ tục hành chính, công khai minh bạch quy trình xử lý hồ sơ.",
    "Qua kiểm tra cho thấy phần lớn các đơn vị đã chấp hành tốt quy định, tuy nhiên một số nơi còn chậm trễ trong việc cập nhật hồ sơ và báo cáo.",
    "Phối hợp chặt chẽ với Ủy ban Mặt trận Tổ quốc Việt Nam thành phố và các tổ chức chính trị - xã hội trong việc vận động Nhân dân tham gia {topic}.",
    "Phấn đấu đến năm {next_year} hoàn thành các chỉ tiêu chủ yếu về {topic} theo Nghị quyết Đại hội Đảng bộ thành phố.",
];

fn fill(template: &str, topic: &str, issuer: &str, year: i32) -> String {
    template
        .replace("{topic}", topic)
        .replace("{issuer}", issuer)
        .replace("{year}", &year.to_string())
        .replace("{next_year}", &(year + 1).to_string())
}

/// Generates `count` documents over `years`, deterministic in `seed`.
///
/// The documents come in issue order within each year (dates non-decreasing, numbers
/// increasing per agency), years in order.
#[derive(Debug)]
pub struct Corpus {
    rng: Rng,
    agencies: Vec<Agency>,
    years: Vec<i32>,
    per_year: Vec<u64>,
    year_index: usize,
    in_year: u64,
    counters: Vec<u32>,
    /// Notations issued so far this year, per agency (for realistic cross-references).
    issued: Vec<Vec<(String, Date)>>,
    working_days: Vec<Date>,
    agency_weights: Vec<u32>,
    emitted: u64,
    count: u64,
}

impl Corpus {
    /// `count` documents over 2020–2026 (the last year partly, as if generated in
    /// November 2026).
    pub fn new(seed: u64, count: u64) -> Corpus {
        Self::with_years(seed, count, 2020..=2026)
    }

    /// `count` documents spread over `years`.
    pub fn with_years(seed: u64, count: u64, years: std::ops::RangeInclusive<i32>) -> Corpus {
        let years: Vec<i32> = years.collect();
        let n = years.len().max(1) as u64;
        let per_year: Vec<u64> = (0..n)
            .map(|i| count / n + u64::from(i < count % n))
            .collect();
        let agencies = agencies(seed);
        let agency_weights = agencies.iter().map(|a| a.weight).collect();
        let mut corpus = Corpus {
            rng: Rng::new(seed),
            counters: vec![0; agencies.len()],
            issued: vec![Vec::new(); agencies.len()],
            agencies,
            years,
            per_year,
            year_index: 0,
            in_year: 0,
            working_days: Vec::new(),
            agency_weights,
            emitted: 0,
            count,
        };
        corpus.start_year();
        corpus
    }

    /// The agencies documents are issued by.
    pub fn agencies(&self) -> &[Agency] {
        &self.agencies
    }

    fn start_year(&mut self) {
        self.in_year = 0;
        self.counters.iter_mut().for_each(|c| *c = 0);
        self.issued.iter_mut().for_each(Vec::clear);
        let Some(&year) = self.years.get(self.year_index) else {
            return;
        };
        let mut days = Vec::new();
        let last = if year == 2026 {
            Date::from_calendar_date(year, Month::November, 20)
        } else {
            Date::from_calendar_date(year, Month::December, 31)
        };
        if let (Ok(mut d), Ok(last)) = (Date::from_calendar_date(year, Month::January, 2), last) {
            while d <= last {
                if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
                    days.push(d);
                }
                d += Duration::days(1);
            }
        }
        self.working_days = days;
    }

    fn make(&mut self, year: i32, position: u64, in_year_total: u64) -> SearchDoc {
        let rng = &mut self.rng;
        let a = rng.weighted(&self.agency_weights);
        let agency = &self.agencies[a];
        // Types: resolutions only from the council; the council issues few letters.
        let weights: Vec<u32> = TYPES
            .iter()
            .map(|(code, _, w)| match (*code, agency.kind) {
                ("NQ", Kind::CityCouncil) => 300,
                ("NQ", _) => 0,
                ("CT" | "CĐ", Kind::Department | Kind::Ward | Kind::CityOffice) => 0,
                _ => *w,
            })
            .collect();
        let (code, title, _) = TYPES[rng.weighted(&weights)];
        // Date: proportional to the position in the year.
        let days = self.working_days.len().max(1) as u64;
        let day_index = (position * days / in_year_total.max(1)).min(days - 1) as usize;
        let date = self
            .working_days
            .get(day_index)
            .copied()
            .unwrap_or(Date::MIN);
        self.counters[a] += 1;
        let number = self.counters[a];
        let notation = if code == "CV" {
            format!(
                "{number:02}/{}-{}",
                agency.abbreviation,
                rng.pick(&agency.units)
            )
        } else {
            format!("{number:02}/{code}-{}", agency.abbreviation)
        };
        let subject = subject(rng, code, year, agency);
        let leader_index = if rng.chance(40) {
            0
        } else {
            rng.below(agency.leaders.len())
        };
        let (title_of_signer, signer) = &agency.leaders[leader_index];
        let topic = *rng.pick(TOPICS);
        let body = body(
            rng,
            agency,
            code,
            title,
            &notation,
            date,
            &subject,
            topic,
            (title_of_signer, signer),
            &self.issued[a],
        );
        if self.issued[a].len() < 4096 {
            self.issued[a].push((notation.clone(), date));
        }
        SearchDoc {
            id: format!("{},{year},{number}", agency.id),
            agency_id: agency.id.clone(),
            year: u16::try_from(year).unwrap_or(0),
            doc_type: code.into(),
            number,
            notation: notation.clone(),
            issued_date: date,
            issuer: agency.name.clone(),
            subject,
            signer: signer.clone(),
            full_text: body,
            path: format!(
                "{}/{year}/{code}/{}.pdf",
                agency.id,
                notation.replace('/', "_")
            ),
        }
    }
}

fn date_line(place: &str, date: Date) -> String {
    let month = u8::from(date.month());
    let month = if month <= 2 {
        format!("{month:02}")
    } else {
        month.to_string()
    };
    format!(
        "{place}, ngày {:02} tháng {month} năm {}",
        date.day(),
        date.year()
    )
}

#[allow(clippy::too_many_arguments)]
fn body(
    rng: &mut Rng,
    agency: &Agency,
    code: &str,
    title: &str,
    notation: &str,
    date: Date,
    subject: &str,
    topic: &str,
    signer: (&str, &str),
    earlier: &[(String, Date)],
) -> String {
    let year = date.year();
    let mut s = String::with_capacity(3072);
    let _ = writeln!(
        s,
        "{}\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
        agency.name.to_uppercase()
    );
    let _ = writeln!(s, "Số: {notation}\n{}", date_line(agency.place, date));
    if code == "CV" {
        let _ = writeln!(s, "{subject}\nKính gửi: Các cơ quan, đơn vị trực thuộc.");
    } else {
        let _ = writeln!(s, "{title}\n{subject}\n{}", agency.name.to_uppercase());
    }
    let grounds = 1 + rng.below(3);
    for _ in 0..grounds {
        let _ = writeln!(s, "{}", *rng.pick(GROUNDS));
    }
    if !earlier.is_empty() && rng.chance(35) {
        let (quoted, quoted_date) = rng.pick(earlier);
        let _ = writeln!(
            s,
            "Căn cứ văn bản số {quoted} ngày {:02}/{:02}/{} của {};",
            quoted_date.day(),
            u8::from(quoted_date.month()),
            quoted_date.year(),
            agency.name
        );
    }
    // 1–3 KB in all: paragraphs until the target length.
    let target = 900 + rng.below(2000);
    let mut article = 1;
    while s.len() < target {
        let template: &&str = rng.pick(SENTENCES);
        let sentence = fill(template, topic, &agency.name, year);
        if matches!(code, "QĐ" | "NQ" | "QC" | "QyĐ") {
            let _ = writeln!(s, "Điều {article}. {sentence}");
            article += 1;
        } else {
            let _ = writeln!(s, "{sentence}");
        }
    }
    let _ = writeln!(
        s,
        "Nơi nhận:\n- Như trên;\n- Lưu: VT.\nTM. {}\n{}\n{}",
        agency.name.to_uppercase(),
        signer.0.to_uppercase(),
        signer.1
    );
    s
}

impl Iterator for Corpus {
    type Item = SearchDoc;

    fn next(&mut self) -> Option<SearchDoc> {
        if self.emitted >= self.count {
            return None;
        }
        while self
            .per_year
            .get(self.year_index)
            .is_some_and(|&n| self.in_year >= n)
        {
            self.year_index += 1;
            self.start_year();
        }
        let year = *self.years.get(self.year_index)?;
        let in_year_total = self.per_year[self.year_index];
        let doc = self.make(year, self.in_year, in_year_total);
        self.in_year += 1;
        self.emitted += 1;
        Some(doc)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.count - self.emitted).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Corpus {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_realistic() {
        let a: Vec<SearchDoc> = Corpus::new(7, 2000).collect();
        let b: Vec<SearchDoc> = Corpus::new(7, 2000).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2000);
        let c: Vec<SearchDoc> = Corpus::new(8, 50).collect();
        assert_ne!(a[..50], c[..]);
        let ids: std::collections::HashSet<&str> = a.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids.len(), a.len(), "ids are unique");
        for d in &a {
            let n = kyso_model::Notation::parse(&d.notation).expect(&d.notation);
            assert_eq!(n.number(), d.number);
            let expected = n.document_type().map(crate::type_code).unwrap_or_default();
            assert_eq!(expected, d.doc_type, "{}", d.notation);
            assert!(
                (800..4000).contains(&d.full_text.len()),
                "{}",
                d.full_text.len()
            );
            assert_eq!(i32::from(d.year), d.issued_date.year());
            if d.doc_type == "CV" {
                assert!(d.subject.starts_with("V/v "));
            }
        }
        let cv = a.iter().filter(|d| d.doc_type == "CV").count();
        assert!((600..1000).contains(&cv), "{cv} Công văn of 2000");
        // Dates never go back within a year; numbers grow per agency and year.
        for w in a.windows(2) {
            if w[0].year == w[1].year {
                assert!(w[0].issued_date <= w[1].issued_date);
            }
        }
    }

    #[test]
    fn agency_ids_are_valid() {
        for a in agencies(1) {
            kyso_model::AgencyId::parse(&a.id).expect(&a.id);
            assert!(!a.leaders.is_empty());
        }
    }
}
