//! The handover minutes of the agency's signing device ("Biên bản bàn giao thiết bị chữ
//! ký số", ND30 Art 32.2, layout of App. III Mẫu 1.9 Biên bản) as a PDF: A4 portrait,
//! Decree 30 margins, Liberation Serif (regular and bold, embedded as subsets).
//!
//! The signature blocks at the end are laid out for kyso-pades' anchor placement: each
//! party's full name is a line of its own (bold), the line directly above it in the
//! same column is "(Ký, ghi rõ họ tên)", and the blank band between them is 25 mm high.
//! In the body the names are always followed by punctuation on the same line, so no
//! body line reads exactly as a name (the finder prefers whole-line matches).

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use time::{OffsetDateTime, UtcOffset};
use unicode_normalization::UnicodeNormalization;

use crate::error::OfficeError;
use crate::report::{FONT, Font, deflate, embed_font, encode, load_font};

/// Liberation Serif Bold (SIL OFL 1.1), shared with kyso-pades.
const BOLD_FONT: &[u8] = include_bytes!("../../pades/assets/LiberationSerif-Bold.ttf");

/// A person in the minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesParty {
    /// Full name (họ và tên), as it is printed under the signature.
    pub full_name: String,
    /// Position (chức vụ); may be empty.
    pub title: String,
    /// Unit (đơn vị); may be empty.
    pub unit: String,
}

/// Everything the handover minutes state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverMinutes {
    /// Parent agency (cơ quan chủ quản), e.g. "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ".
    pub parent_agency: Option<String>,
    /// The agency, e.g. "SỞ THÔNG TIN VÀ TRUYỀN THÔNG".
    pub agency_name: String,
    /// Number and notation without "Số: ", e.g. "03/BB-STTTT".
    pub notation: String,
    /// Place name (địa danh) of the date line, e.g. "Cần Thơ".
    pub place: String,
    /// The handover time; printed in Vietnam time (+07:00).
    pub time: OffsetDateTime,
    /// When the handover ended; `None` prints "kết thúc cùng ngày" without a time.
    pub end_time: Option<OffsetDateTime>,
    /// Where the handover takes place (the agency's premises).
    pub location: String,
    /// The head's written permission, e.g. "Giấy ủy quyền số 12/GUQ-STTTT ngày
    /// 20/11/2026 của Giám đốc Sở".
    pub permission_reference: String,
    /// The head who gave the permission.
    pub approver: MinutesParty,
    /// Bên giao.
    pub giver: MinutesParty,
    /// Bên nhận.
    pub receiver: MinutesParty,
    /// Người chứng kiến (may be empty).
    pub witnesses: Vec<MinutesParty>,
    /// The device handed over.
    pub device: DeviceFacts,
    /// The agency certificate held by the device.
    pub certificate: CertificateFacts,
    /// Condition of the device at the handover (tình trạng thiết bị).
    pub condition: String,
}

/// The key device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The device's label in kyso.
    pub label: String,
    /// Manufacturer (may be empty).
    pub manufacturer: String,
    /// Model (may be empty).
    pub model: String,
    /// Serial number of the device.
    pub serial: String,
    /// Identifier of the private key (hex).
    pub key_id: String,
}

/// The certificate on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Serial number (hex).
    pub serial: String,
    /// Subject (distinguished name or a readable form of it).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

// ---------------------------------------------------------------------------------
// Page geometry (points). Decree 30 App. I: top/bottom 20–25 mm, left 30–35 mm,
// right 15–20 mm; Times-like 13–14 pt.
// ---------------------------------------------------------------------------------

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 30.0 * MM;
const RIGHT: f32 = PAGE_W - 20.0 * MM;
const TOP: f32 = PAGE_H - 20.0 * MM;
const BOTTOM: f32 = 20.0 * MM;
const TEXT_W: f32 = RIGHT - LEFT;
/// Body size.
const SIZE: f32 = 13.0;
/// Line height as a multiple of the size.
const LEADING: f32 = 1.25;
/// Space after a paragraph.
const PARA_GAP: f32 = 4.0;
/// First-line indent of body paragraphs (1 cm).
const INDENT: f32 = 10.0 * MM;
/// Height of the blank signature band.
const SIGN_BAND: f32 = 25.0 * MM;
/// Shear of the synthetic oblique (there is no italic face).
const OBLIQUE: f32 = 0.2;
/// The signature note line (the "authority line" the PDF signer looks for).
const SIGN_NOTE: &str = "(Ký, ghi rõ họ tên)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Regular,
    Bold,
    Italic,
}

#[derive(Debug)]
enum Item {
    /// A line of text with its baseline origin; `spacing` is added at every space
    /// (justification).
    Text {
        text: String,
        style: Style,
        size: f32,
        x: f32,
        y: f32,
        spacing: f32,
    },
    /// A horizontal rule.
    Rule { x0: f32, x1: f32, y: f32 },
}

struct Fonts {
    regular: Font<'static>,
    bold: Font<'static>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fonts")
    }
}

impl Fonts {
    fn load() -> Result<Self, OfficeError> {
        let regular = load_font()?;
        let face = ttf_parser::Face::parse(BOLD_FONT, 0)
            .map_err(|e| OfficeError::Invalid(format!("embedded bold font: {e}")))?;
        let units = f32::from(face.units_per_em());
        Ok(Self {
            regular,
            bold: Font {
                face,
                units,
                used: Default::default(),
            },
        })
    }

    fn get(&self, style: Style) -> &Font<'static> {
        match style {
            Style::Bold => &self.bold,
            Style::Regular | Style::Italic => &self.regular,
        }
    }

    fn width(&self, text: &str, style: Style, size: f32) -> f32 {
        self.get(style).width(text, size)
    }

    /// Every character must have a glyph in both faces.
    fn check(&self, what: &str, text: &str) -> Result<(), OfficeError> {
        for c in text.chars() {
            if c.is_control() {
                return Err(OfficeError::Invalid(format!(
                    "{what}: control character U+{:04X}",
                    u32::from(c)
                )));
            }
            if self.regular.face.glyph_index(c).is_none() || self.bold.face.glyph_index(c).is_none()
            {
                return Err(OfficeError::Invalid(format!(
                    "{what}: the character {c:?} (U+{:04X}) cannot be rendered",
                    u32::from(c)
                )));
            }
        }
        Ok(())
    }

    /// Greedy word wrap: the first line is `first` wide, the others `rest`; a word
    /// wider than a whole line is cut.
    fn wrap(&self, text: &str, style: Style, size: f32, first: f32, rest: f32) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        let limit = |lines: &Vec<String>| if lines.is_empty() { first } else { rest };
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, style, size) <= limit(&lines) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                line.push(c);
                if self.width(&line, style, size) > limit(&lines) && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Wrap to as few lines as `width` allows, with the lines as even as possible
    /// (for the centred agency names of the heading).
    fn balanced(&self, text: &str, style: Style, size: f32, width: f32) -> Vec<String> {
        let lines = self.wrap(text, style, size, width, width);
        if lines.len() < 2 {
            return lines;
        }
        let (mut lo, mut hi) = (0.0_f32, width);
        for _ in 0..24 {
            let mid = (lo + hi) / 2.0;
            if self.wrap(text, style, size, mid, mid).len() <= lines.len() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        self.wrap(text, style, size, hi, hi)
    }
}

/// Pages of placed items, with a cursor: `y` is the top of the free space.
#[derive(Debug)]
struct Layout {
    fonts: Fonts,
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl Layout {
    fn page(&mut self) -> &mut Vec<Item> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Start a new page unless `height` still fits above the bottom margin.
    fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM && self.y < TOP {
            self.new_page();
        }
    }

    fn text(&mut self, text: &str, style: Style, size: f32, x: f32, y: f32) {
        self.page().push(Item::Text {
            text: text.to_string(),
            style,
            size,
            x,
            y,
            spacing: 0.0,
        });
    }

    fn centred(&mut self, text: &str, style: Style, size: f32, cx: f32, y: f32) {
        let w = self.fonts.width(text, style, size);
        self.text(text, style, size, cx - w / 2.0, y);
    }

    fn rule(&mut self, cx: f32, width: f32, y: f32) {
        self.page().push(Item::Rule {
            x0: cx - width / 2.0,
            x1: cx + width / 2.0,
            y,
        });
    }

    /// A justified paragraph across the text width (first line indented by `indent`).
    fn paragraph(&mut self, text: &str, style: Style, indent: f32) {
        let lead = LEADING * SIZE;
        let lines = self.fonts.wrap(text, style, SIZE, TEXT_W - indent, TEXT_W);
        let count = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            self.ensure(lead);
            let x = if i == 0 { LEFT + indent } else { LEFT };
            let avail = if i == 0 { TEXT_W - indent } else { TEXT_W };
            let gaps = line.matches(' ').count();
            let natural = self.fonts.width(&line, style, SIZE);
            let mut spacing = 0.0;
            if i + 1 < count && gaps > 0 {
                let extra = (avail - natural) / gaps as f32;
                // Do not stretch a line absurdly (a long unbreakable word follows).
                if extra > 0.0 && extra < 1.5 * SIZE {
                    spacing = extra;
                }
            }
            let y = self.y - SIZE;
            self.page().push(Item::Text {
                text: line,
                style,
                size: SIZE,
                x,
                y,
                spacing,
            });
            self.y -= lead;
        }
        self.y -= PARA_GAP;
    }

    /// A section heading, kept with at least two lines of what follows.
    fn heading(&mut self, text: &str) {
        self.ensure(4.0 * LEADING * SIZE);
        self.y -= 2.0;
        self.paragraph(text, Style::Bold, 0.0);
    }
}

fn vietnam(t: OffsetDateTime) -> OffsetDateTime {
    // +07:00 is always a valid offset.
    t.to_offset(UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC))
}

/// "ngày 05 tháng 3 năm 2020" (ND30: a leading zero for days below 10 and months 1, 2).
fn long_date(t: OffsetDateTime) -> String {
    let m = u8::from(t.month());
    let month = if m <= 2 {
        format!("{m:02}")
    } else {
        m.to_string()
    };
    format!("ngày {:02} tháng {month} năm {}", t.day(), t.year())
}

fn clock(t: OffsetDateTime) -> String {
    format!("{:02} giờ {:02} phút", t.hour(), t.minute())
}

fn short_date(t: OffsetDateTime) -> String {
    let t = vietnam(t);
    format!("{:02}/{:02}/{:04}", t.day(), u8::from(t.month()), t.year())
}

/// Fold for comparing names: NFC, lowercase, single spaces.
fn fold(s: &str) -> String {
    s.nfc()
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// "Ông/Bà Nguyễn Văn A, Văn thư, Văn phòng Sở" — the name is always followed by
/// punctuation on its line.
fn describe(party: &MinutesParty) -> String {
    let mut out = format!("Ông/Bà {}", party.full_name);
    for part in [&party.title, &party.unit] {
        if !part.is_empty() {
            out.push_str(", ");
            out.push_str(part);
        }
    }
    out
}

fn end_sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', ';', ':', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// NFC, trimmed, inner whitespace collapsed, checked for renderability.
fn clean(fonts: &Fonts, what: &str, text: &str, required: bool) -> Result<String, OfficeError> {
    let text: String = text.nfc().collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if required && text.is_empty() {
        return Err(OfficeError::Invalid(format!(
            "the minutes need {what} (empty)"
        )));
    }
    fonts.check(what, &text)?;
    Ok(text)
}

fn clean_party(
    fonts: &Fonts,
    what: &str,
    party: &MinutesParty,
) -> Result<MinutesParty, OfficeError> {
    Ok(MinutesParty {
        full_name: clean(fonts, &format!("{what}: full name"), &party.full_name, true)?,
        title: clean(fonts, &format!("{what}: title"), &party.title, false)?,
        unit: clean(fonts, &format!("{what}: unit"), &party.unit, false)?,
    })
}

/// The minutes with every text field cleaned and checked.
fn validated(m: &HandoverMinutes, fonts: &Fonts) -> Result<HandoverMinutes, OfficeError> {
    let notation = clean(fonts, "the number and notation", &m.notation, true)?;
    if fold(&notation).starts_with("số") {
        return Err(OfficeError::Invalid(
            "the notation is given without \"Số:\" (e.g. 03/BB-STTTT)".into(),
        ));
    }
    let parent_agency = match &m.parent_agency {
        Some(p) => {
            let p = clean(fonts, "the parent agency", p, false)?;
            (!p.is_empty()).then_some(p)
        }
        None => None,
    };
    let out = HandoverMinutes {
        parent_agency,
        agency_name: clean(fonts, "the agency name", &m.agency_name, true)?,
        notation,
        place: clean(fonts, "the place name", &m.place, true)?,
        time: m.time,
        end_time: m.end_time,
        location: clean(fonts, "the location", &m.location, true)?,
        permission_reference: clean(
            fonts,
            "the permission reference",
            &m.permission_reference,
            true,
        )?,
        approver: clean_party(fonts, "the approver", &m.approver)?,
        giver: clean_party(fonts, "the giver", &m.giver)?,
        receiver: clean_party(fonts, "the receiver", &m.receiver)?,
        witnesses: m
            .witnesses
            .iter()
            .map(|w| clean_party(fonts, "a witness", w))
            .collect::<Result<_, _>>()?,
        device: DeviceFacts {
            label: clean(fonts, "the device label", &m.device.label, true)?,
            manufacturer: clean(
                fonts,
                "the device manufacturer",
                &m.device.manufacturer,
                false,
            )?,
            model: clean(fonts, "the device model", &m.device.model, false)?,
            serial: clean(fonts, "the device serial", &m.device.serial, true)?,
            key_id: clean(fonts, "the key id", &m.device.key_id, true)?,
        },
        certificate: CertificateFacts {
            serial: clean(fonts, "the certificate serial", &m.certificate.serial, true)?,
            subject: clean(
                fonts,
                "the certificate subject",
                &m.certificate.subject,
                true,
            )?,
            issuer: clean(fonts, "the certificate issuer", &m.certificate.issuer, true)?,
            not_before: m.certificate.not_before,
            not_after: m.certificate.not_after,
        },
        condition: clean(fonts, "the device condition", &m.condition, true)?,
    };
    if out.certificate.not_before >= out.certificate.not_after {
        return Err(OfficeError::Invalid(
            "the certificate's validity ends before it starts".into(),
        ));
    }
    if let Some(end) = out.end_time
        && end < out.time
    {
        return Err(OfficeError::Invalid(
            "the handover ends before it starts".into(),
        ));
    }
    // The PDF signer finds each signer by the name line: the names must differ.
    let giver = fold(&out.giver.full_name);
    let receiver = fold(&out.receiver.full_name);
    if giver == receiver {
        return Err(OfficeError::Invalid(
            "the giver and the receiver are the same person".into(),
        ));
    }
    for w in &out.witnesses {
        let w = fold(&w.full_name);
        if w == giver || w == receiver {
            return Err(OfficeError::Invalid(
                "a witness has the same name as the giver or the receiver".into(),
            ));
        }
    }
    Ok(out)
}

/// Renders the minutes; errors (`OfficeError::Invalid`) on empty required fields or
/// text that cannot be rendered.
pub fn minutes_pdf(minutes: &HandoverMinutes) -> Result<Vec<u8>, crate::OfficeError> {
    let fonts = Fonts::load()?;
    let m = validated(minutes, &fonts)?;
    let mut l = Layout {
        fonts,
        pages: Vec::new(),
        y: TOP,
    };
    header(&mut l, &m)?;
    body(&mut l, &m);
    signatures(&mut l, &m)?;

    // Page numbers from the second page, centred in the top margin.
    let count = l.pages.len();
    for i in 1..count {
        let label = (i + 1).to_string();
        let w = l.fonts.width(&label, Style::Regular, SIZE);
        l.pages[i].push(Item::Text {
            text: label,
            style: Style::Regular,
            size: SIZE,
            x: (PAGE_W - w) / 2.0,
            y: PAGE_H - 12.0 * MM - SIZE / 2.0,
            spacing: 0.0,
        });
    }
    let Layout {
        mut fonts, pages, ..
    } = l;
    let contents: Vec<Vec<u8>> = pages
        .iter()
        .map(|items| render(items, &mut fonts))
        .collect();
    assemble(fonts, &contents)
}

/// The two-column heading (agency, number | national title, motto, place and date),
/// then the type name and the summary.
fn header(l: &mut Layout, m: &HandoverMinutes) -> Result<(), OfficeError> {
    const NATIONAL: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
    const MOTTO: &str = "Độc lập - Tự do - Hạnh phúc";
    let start = vietnam(m.time);
    let date_line = format!("{}, {}", m.place, long_date(start));
    let number = format!("Số: {}", m.notation);
    let right_w = [
        l.fonts.width(NATIONAL, Style::Bold, 12.0),
        l.fonts.width(MOTTO, Style::Bold, 13.0),
        l.fonts.width(&date_line, Style::Italic, 13.0),
    ]
    .into_iter()
    .fold(0.0, f32::max)
        + 6.0;
    let left_w = TEXT_W - right_w;
    if left_w < 120.0 {
        return Err(OfficeError::Invalid(format!(
            "the place name {:?} is too long for the heading",
            m.place
        )));
    }
    let left_cx = LEFT + left_w / 2.0;
    let right_cx = RIGHT - right_w / 2.0;

    // Left column.
    let mut y = TOP;
    let lead12 = 1.2 * 12.0;
    if let Some(parent) = &m.parent_agency {
        let upper = parent.to_uppercase();
        for line in l.fonts.balanced(&upper, Style::Regular, 12.0, left_w) {
            y -= lead12;
            l.centred(&line, Style::Regular, 12.0, left_cx, y + 2.4);
        }
    }
    let agency = m.agency_name.to_uppercase();
    let mut widest: f32 = 0.0;
    for line in l.fonts.balanced(&agency, Style::Bold, 12.0, left_w) {
        y -= lead12;
        widest = widest.max(l.fonts.width(&line, Style::Bold, 12.0));
        l.centred(&line, Style::Bold, 12.0, left_cx, y + 2.4);
    }
    let left_rule = y - 3.0;
    l.rule(left_cx, (widest * 0.4).max(30.0), left_rule);

    // Right column.
    let mut ry = TOP - lead12;
    l.centred(NATIONAL, Style::Bold, 12.0, right_cx, ry + 2.4);
    ry -= 1.2 * 13.0;
    l.centred(MOTTO, Style::Bold, 13.0, right_cx, ry + 2.4);
    let right_rule = ry - 3.0;
    l.rule(
        right_cx,
        l.fonts.width(MOTTO, Style::Bold, 13.0),
        right_rule,
    );

    // Number (left) and place/date (right) on one baseline.
    let baseline = left_rule.min(right_rule) - 1.6 * 13.0;
    l.centred(&number, Style::Regular, 13.0, left_cx, baseline);
    l.centred(&date_line, Style::Italic, 13.0, right_cx, baseline);

    // Type name and summary.
    let page_cx = LEFT + TEXT_W / 2.0;
    let mut y = baseline - 2.4 * 14.0;
    l.centred("BIÊN BẢN", Style::Bold, 14.0, page_cx, y);
    y -= 1.25 * 14.0;
    let summary = "Bàn giao thiết bị chữ ký số";
    l.centred(summary, Style::Bold, 14.0, page_cx, y);
    let sw = l.fonts.width(summary, Style::Bold, 14.0);
    l.rule(page_cx, sw * 0.4, y - 5.0);
    l.y = y - 5.0 - 12.0;
    Ok(())
}

fn body(l: &mut Layout, m: &HandoverMinutes) {
    let start = vietnam(m.time);
    l.paragraph(
        &format!(
            "Hôm nay, vào lúc {}, {}, tại {}, tiến hành bàn giao thiết bị lưu khóa bí mật và chứng thư chữ ký số của cơ quan (sau đây gọi là thiết bị chữ ký số).",
            clock(start),
            long_date(start),
            m.location
        ),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        "Căn cứ Điều 32 Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!(
            "Căn cứ {};",
            m.permission_reference.trim_end_matches([';', '.'])
        ),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!(
            "Được sự cho phép bằng văn bản của {}, việc bàn giao được thực hiện như sau:",
            describe(&m.approver)
        ),
        Style::Regular,
        INDENT,
    );

    l.heading("I. THÀNH PHẦN");
    l.paragraph(
        &format!("1. Bên giao: {}.", describe(&m.giver)),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!("2. Bên nhận: {}.", describe(&m.receiver)),
        Style::Regular,
        INDENT,
    );
    match m.witnesses.as_slice() {
        [] => {}
        [one] => l.paragraph(
            &format!("3. Người chứng kiến: {}.", describe(one)),
            Style::Regular,
            INDENT,
        ),
        many => {
            l.paragraph("3. Người chứng kiến:", Style::Regular, INDENT);
            let n = many.len();
            for (i, w) in many.iter().enumerate() {
                let end = if i + 1 == n { '.' } else { ';' };
                l.paragraph(&format!("- {}{end}", describe(w)), Style::Regular, INDENT);
            }
        }
    }

    l.heading("II. NỘI DUNG BÀN GIAO");
    let d = &m.device;
    l.paragraph(
        "1. Thiết bị lưu khóa bí mật (thiết bị chữ ký số):",
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!("- Tên thiết bị: {};", d.label),
        Style::Regular,
        INDENT,
    );
    let make = match (d.manufacturer.is_empty(), d.model.is_empty()) {
        (false, false) => Some(format!("{}, {}", d.manufacturer, d.model)),
        (false, true) => Some(d.manufacturer.clone()),
        (true, false) => Some(d.model.clone()),
        (true, true) => None,
    };
    if let Some(make) = make {
        l.paragraph(
            &format!("- Hãng sản xuất, kiểu thiết bị (model): {make};"),
            Style::Regular,
            INDENT,
        );
    }
    l.paragraph(
        &format!("- Số hiệu (serial) thiết bị: {};", d.serial),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!("- Mã định danh khóa bí mật (key ID): {}.", d.key_id),
        Style::Regular,
        INDENT,
    );
    let c = &m.certificate;
    l.paragraph(
        "2. Chứng thư chữ ký số lưu trong thiết bị:",
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!("- Số hiệu (serial) chứng thư: {};", c.serial),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!("- Chủ thể: {};", c.subject),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!("- Tổ chức cấp: {};", c.issuer),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &format!(
            "- Thời hạn hiệu lực: từ ngày {} đến ngày {}.",
            short_date(c.not_before),
            short_date(c.not_after)
        ),
        Style::Regular,
        INDENT,
    );
    l.paragraph(
        &end_sentence(&format!(
            "3. Tình trạng thiết bị khi bàn giao: {}",
            m.condition
        )),
        Style::Regular,
        INDENT,
    );

    l.heading("III. TRÁCH NHIỆM");
    for text in [
        "1. Kể từ thời điểm ký biên bản này, bên nhận chịu trách nhiệm quản lý và sử dụng thiết bị chữ ký số theo quy định tại Điều 32 Nghị định số 30/2020/NĐ-CP: bảo quản an toàn thiết bị tại trụ sở cơ quan; chỉ ký số của cơ quan trên văn bản đã được người có thẩm quyền ký số và trên bản sao văn bản do cơ quan trực tiếp thực hiện; chỉ giao thiết bị cho người khác khi được phép bằng văn bản của người có thẩm quyền và việc bàn giao phải được lập biên bản.",
        "2. Kể từ thời điểm bàn giao, bên giao không còn chịu trách nhiệm về việc quản lý, sử dụng thiết bị chữ ký số.",
        "3. Bên nhận đã thay đổi mã PIN của thiết bị khi nhận bàn giao.",
    ] {
        l.paragraph(text, Style::Regular, INDENT);
    }

    let end = match m.end_time.map(vietnam) {
        None => "kết thúc cùng ngày".to_string(),
        Some(e) if e.date() == start.date() => format!("kết thúc vào lúc {} cùng ngày", clock(e)),
        Some(e) => format!("kết thúc vào lúc {}, {}", clock(e), long_date(e)),
    };
    l.paragraph(
        &format!(
            "Biên bản được lập thành văn bản điện tử, được ký số bởi bên giao, bên nhận và đóng dấu (ký số) của cơ quan; {end}."
        ),
        Style::Regular,
        INDENT,
    );
}

/// The signature blocks: BÊN GIAO (left) and BÊN NHẬN (right), each a label, the
/// signature note, a 25 mm blank band and the full name; kept on one page. When the two
/// names would come too close for a PDF reader to tell the columns apart, the blocks
/// are stacked instead. Witnesses are listed below without signature space.
fn signatures(l: &mut Layout, m: &HandoverMinutes) -> Result<(), OfficeError> {
    let lead = LEADING * SIZE;
    let giver = &m.giver.full_name;
    let receiver = &m.receiver.full_name;
    for name in [giver, receiver] {
        if l.fonts.width(name, Style::Bold, SIZE) > TEXT_W {
            return Err(OfficeError::Invalid(format!(
                "the name {name:?} is too long for the signature block"
            )));
        }
    }
    // One block: label, note, band, name.
    let block_h = lead + lead + SIGN_BAND + 1.145 * SIZE + 0.4 * SIZE;
    let witness_h = if m.witnesses.is_empty() {
        0.0
    } else {
        lead * (1.5 + m.witnesses.len() as f32)
    };
    let half = TEXT_W / 2.0;
    let left_cx = LEFT + half / 2.0;
    let right_cx = LEFT + 1.5 * half;
    let wg = l.fonts.width(giver, Style::Bold, SIZE);
    let wr = l.fonts.width(receiver, Style::Bold, SIZE);
    // kyso-pades splits a line where the gap exceeds 3 em; keep well clear of that.
    let gap = (right_cx - wr / 2.0) - (left_cx + wg / 2.0);
    let side_by_side = gap > 3.0 * SIZE + 12.0
        && l.fonts.width(SIGN_NOTE, Style::Italic, SIZE) < half - 3.0 * SIZE - 12.0;
    let blocks: Vec<(&str, &str, f32)> = if side_by_side {
        vec![
            ("BÊN GIAO", giver.as_str(), left_cx),
            ("BÊN NHẬN", receiver.as_str(), right_cx),
        ]
    } else {
        let cx = LEFT + half;
        vec![
            ("BÊN GIAO", giver.as_str(), cx),
            ("BÊN NHẬN", receiver.as_str(), cx),
        ]
    };
    let rows = if side_by_side { 1.0 } else { 2.0 };
    let total = 8.0 + rows * block_h + (rows - 1.0) * lead + witness_h;
    // Witnesses stay on the blocks' page too: the PDF signer searches from the last
    // page and would take a witness name containing a party's name for the anchor.
    if total > TOP - BOTTOM {
        return Err(OfficeError::Invalid(format!(
            "{} witnesses do not fit on the signature page",
            m.witnesses.len()
        )));
    }
    if l.y - total < BOTTOM {
        l.new_page();
    } else {
        l.y -= 8.0;
    }
    let mut top = l.y;
    for (i, (label, name, cx)) in blocks.into_iter().enumerate() {
        if !side_by_side && i > 0 {
            top -= block_h + lead;
        }
        let label_y = top - SIZE;
        let note_y = label_y - lead;
        let name_y = note_y - SIGN_BAND - 1.145 * SIZE;
        l.centred(label, Style::Bold, SIZE, cx, label_y);
        l.centred(SIGN_NOTE, Style::Italic, SIZE, cx, note_y);
        l.centred(name, Style::Bold, SIZE, cx, name_y);
    }
    l.y = top - block_h;
    if !m.witnesses.is_empty() {
        let cx = LEFT + half;
        l.y -= lead * 0.5;
        l.centred("NGƯỜI CHỨNG KIẾN", Style::Bold, SIZE, cx, l.y - SIZE);
        l.y -= lead;
        for w in &m.witnesses {
            l.centred(&w.full_name, Style::Regular, SIZE, cx, l.y - SIZE);
            l.y -= lead;
        }
    }
    Ok(())
}

fn render(items: &[Item], fonts: &mut Fonts) -> Vec<u8> {
    let mut c = Content::new();
    for item in items {
        match item {
            Item::Text {
                text,
                style,
                size,
                x,
                y,
                spacing,
            } => {
                let (font, name) = match style {
                    Style::Bold => (&mut fonts.bold, Name(b"F2")),
                    Style::Regular | Style::Italic => (&mut fonts.regular, Name(b"F1")),
                };
                let shear = if *style == Style::Italic {
                    OBLIQUE
                } else {
                    0.0
                };
                c.begin_text();
                c.set_font(name, *size);
                c.set_text_matrix([1.0, 0.0, shear, 1.0, *x, *y]);
                if *spacing > 0.0 {
                    let adjust = -spacing * 1000.0 / size;
                    let words: Vec<&str> = text.split(' ').collect();
                    let n = words.len();
                    let mut positioned = c.show_positioned();
                    let mut items = positioned.items();
                    for (i, word) in words.into_iter().enumerate() {
                        if i + 1 < n {
                            items.show(Str(&encode(font, &format!("{word} "))));
                            items.adjust(adjust);
                        } else {
                            items.show(Str(&encode(font, word)));
                        }
                    }
                } else {
                    c.show(Str(&encode(font, text)));
                }
                c.end_text();
            }
            Item::Rule { x0, x1, y } => {
                c.set_line_width(0.6);
                c.move_to(*x0, *y);
                c.line_to(*x1, *y);
                c.stroke();
            }
        }
    }
    c.finish().to_vec()
}

/// The document: pages with both fonts as resources (F1 regular, F2 bold).
fn assemble(fonts: Fonts, contents: &[Vec<u8>]) -> Result<Vec<u8>, OfficeError> {
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let info_id = alloc();
    let regular_id = alloc();
    let bold_id = alloc();
    let page_ids: Vec<(Ref, Ref)> = contents.iter().map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id).lang(TextStr("vi"));
    pdf.document_info(info_id)
        .title(TextStr("Biên bản bàn giao thiết bị chữ ký số"))
        .producer(TextStr("kyso"));
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(i32::try_from(contents.len()).unwrap_or(i32::MAX));
    for ((page_id, content_id), bytes) in page_ids.iter().zip(contents) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree_id);
        page.contents(*content_id);
        let mut resources = page.resources();
        let mut f = resources.fonts();
        f.pair(Name(b"F1"), regular_id);
        f.pair(Name(b"F2"), bold_id);
        f.finish();
        resources.finish();
        page.finish();
        let compressed = deflate(bytes);
        pdf.stream(*content_id, &compressed)
            .filter(Filter::FlateDecode);
    }
    embed_font(
        &mut pdf,
        &mut alloc,
        &fonts.regular,
        FONT,
        b"KYSOAA+LiberationSerif",
        regular_id,
        false,
    )?;
    embed_font(
        &mut pdf,
        &mut alloc,
        &fonts.bold,
        BOLD_FONT,
        b"KYSOAB+LiberationSerif-Bold",
        bold_id,
        true,
    )?;
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_decree_30() {
        let t = time::macros::datetime!(2020-03-04 20:00 UTC);
        // 03:00 on 5 March in Vietnam.
        assert_eq!(long_date(vietnam(t)), "ngày 05 tháng 3 năm 2020");
        let t = time::macros::datetime!(2026-02-01 01:00 UTC);
        assert_eq!(long_date(vietnam(t)), "ngày 01 tháng 02 năm 2026");
        assert_eq!(short_date(t), "01/02/2026");
        assert_eq!(clock(vietnam(t)), "08 giờ 00 phút");
    }

    #[test]
    fn wrap_respects_widths() {
        let fonts = Fonts::load().unwrap();
        let text = "Căn cứ Giấy ủy quyền số 12/GUQ-STTTT ngày 20/11/2026 của Giám đốc Sở Thông tin và Truyền thông thành phố Cần Thơ về việc giao quản lý thiết bị";
        let lines = fonts.wrap(text, Style::Regular, SIZE, 200.0, 300.0);
        assert!(lines.len() > 2);
        assert!(fonts.width(&lines[0], Style::Regular, SIZE) <= 200.0);
        for l in &lines[1..] {
            assert!(fonts.width(l, Style::Regular, SIZE) <= 300.0);
        }
        assert_eq!(lines.join(" "), text);
        let long = "A".repeat(200);
        for l in fonts.wrap(&long, Style::Bold, SIZE, 100.0, 100.0) {
            assert!(fonts.width(&l, Style::Bold, SIZE) <= 100.0);
        }
    }
}
