//! The device handover minutes as a PDF: text (poppler's pdftotext), structure (qpdf),
//! embedded fonts (pdffonts), margins (pdftotext -bbox) and the signature blocks as the
//! PDF signer of kyso-pades finds them.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use kyso_office::{
    CertificateFacts, DeviceFacts, HandoverMinutes, MinutesParty, OfficeError, minutes_pdf,
};
use time::macros::datetime;

const MM: f64 = 72.0 / 25.4;
const PAGE_W: f64 = 595.28;
const PAGE_H: f64 = 841.89;

fn party(name: &str, title: &str, unit: &str) -> MinutesParty {
    MinutesParty {
        full_name: name.into(),
        title: title.into(),
        unit: unit.into(),
    }
}

fn sample() -> HandoverMinutes {
    HandoverMinutes {
        parent_agency: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
        agency_name: "Sở Thông tin và Truyền thông".into(),
        notation: "03/BB-STTTT".into(),
        place: "Cần Thơ".into(),
        time: datetime!(2026-11-27 02:30 UTC),
        end_time: Some(datetime!(2026-11-27 03:15 UTC)),
        location: "trụ sở Sở Thông tin và Truyền thông, số 2 Hòa Bình, quận Ninh Kiều".into(),
        permission_reference: "Giấy ủy quyền số 12/GUQ-STTTT ngày 20/11/2026 của Giám đốc Sở"
            .into(),
        approver: party("Lê Văn Minh", "Giám đốc Sở", ""),
        giver: party("Nguyễn Thị Thu Hà", "Văn thư", "Văn phòng Sở"),
        receiver: party("Trần Quốc Bảo", "Chuyên viên", "Văn phòng Sở"),
        witnesses: vec![party("Phạm Ngọc Ánh", "Chánh Văn phòng", "Văn phòng Sở")],
        device: DeviceFacts {
            label: "Token con dấu Sở TTTT".into(),
            manufacturer: "Feitian".into(),
            model: "ePass2003".into(),
            serial: "FT2003-0A1B2C3D".into(),
            key_id: "5f3c9a0d2e7b41c8a6f0e1d2c3b4a5968778695a".into(),
        },
        certificate: CertificateFacts {
            serial: "54010203a1b2c3d4e5f60718".into(),
            subject: "CN=Sở Thông tin và Truyền thông, O=UBND thành phố Cần Thơ, C=VN".into(),
            issuer: "CN=Cục Chứng thực số và Bảo mật thông tin, C=VN".into(),
            not_before: datetime!(2025-01-10 01:00 UTC),
            not_after: datetime!(2030-01-10 01:00 UTC),
        },
        condition: "Thiết bị hoạt động bình thường, vỏ không trầy xước, kèm hộp đựng".into(),
    }
}

/// Long texts everywhere: several lines per paragraph, a second page.
fn long_sample() -> HandoverMinutes {
    let mut m = sample();
    m.location = "trụ sở Sở Thông tin và Truyền thông thành phố Cần Thơ, số 2 đường Hòa Bình, phường Tân An, quận Ninh Kiều, thành phố Cần Thơ (phòng Văn thư, tầng 1, khu nhà A)".into();
    m.permission_reference = "Giấy ủy quyền số 12/GUQ-STTTT ngày 20/11/2026 của Giám đốc Sở Thông tin và Truyền thông về việc giao quản lý, sử dụng thiết bị lưu khóa bí mật của cơ quan cho công chức văn thư trong thời gian nghỉ phép năm của người đang quản lý".into();
    m.certificate.subject = "CN=Sở Thông tin và Truyền thông thành phố Cần Thơ, OU=Văn phòng Sở, O=Ủy ban nhân dân thành phố Cần Thơ, L=Cần Thơ, C=VN, UID=MST:1800000000-001".into();
    m.condition = "Thiết bị hoạt động bình thường; đã kiểm tra đăng nhập bằng mã PIN, ký thử một văn bản và kiểm tra chữ ký thành công; vỏ thiết bị không trầy xước, không có dấu hiệu bị can thiệp; kèm hộp đựng, phong bì niêm phong mã PIN cũ và sổ theo dõi sử dụng thiết bị. ".repeat(4);
    m.witnesses = vec![
        party("Phạm Ngọc Ánh", "Chánh Văn phòng", "Văn phòng Sở"),
        party(
            "Võ Thị Mỹ Linh",
            "Trưởng phòng Công nghệ thông tin, Bưu chính, Viễn thông",
            "Sở Thông tin và Truyền thông",
        ),
    ];
    m
}

/// A scratch file for the command-line tools, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            // Fails while other tests still have files there.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn scratch(name: &str, bytes: &[u8]) -> Scratch {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("kyso-minutes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{n}-{name}"));
    std::fs::write(&path, bytes).unwrap();
    Scratch(path)
}

/// Runs a poppler/qpdf tool; a missing tool fails the test (they are required).
fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is required for this test (apt install poppler-utils qpdf): {e}")
        })
}

fn pdftotext(path: &Scratch, extra: &[&str]) -> String {
    let p = path.str();
    let mut args: Vec<&str> = vec!["-enc", "UTF-8"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[p, "-"]);
    let out = tool("pdftotext", &args);
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pages(path: &Scratch) -> usize {
    let out = tool("pdfinfo", &[path.str()]);
    assert!(out.status.success());
    let info = String::from_utf8(out.stdout).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn text_is_extractable() {
    let m = sample();
    let pdf = minutes_pdf(&m).unwrap();
    let path = scratch("text.pdf", &pdf);
    for mode in [&[][..], &["-layout"][..]] {
        let text = pdftotext(&path, mode);
        for want in [
            "ỦY BAN NHÂN DÂN",
            "SỞ THÔNG TIN",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Số: 03/BB-STTTT",
            "Cần Thơ, ngày 27 tháng 11 năm 2026",
            "BIÊN BẢN",
            "Bàn giao thiết bị chữ ký số",
            "Hôm nay, vào lúc 09 giờ 30 phút, ngày 27 tháng 11 năm 2026, tại trụ sở",
            "Căn cứ Giấy ủy quyền số 12/GUQ-STTTT ngày 20/11/2026 của Giám đốc Sở;",
            "I. THÀNH PHẦN",
            "II. NỘI DUNG BÀN GIAO",
            "III. TRÁCH NHIỆM",
            "Số hiệu (serial) thiết bị: FT2003-0A1B2C3D",
            "5f3c9a0d2e7b41c8a6f0e1d2c3b4a5968778695a",
            "54010203a1b2c3d4e5f60718",
            "từ ngày 10/01/2025 đến ngày 10/01/2030",
            "Bên nhận đã thay đổi mã PIN",
            "kết thúc vào lúc 10 giờ 15 phút cùng ngày.",
            "BÊN GIAO",
            "BÊN NHẬN",
            "(Ký, ghi rõ họ tên)",
            "NGƯỜI CHỨNG KIẾN",
            "Nguyễn Thị Thu Hà",
            "Trần Quốc Bảo",
            "Phạm Ngọc Ánh",
            "Lê Văn Minh",
        ] {
            assert!(text.contains(want), "{want:?} missing ({mode:?}):\n{text}");
        }
    }
}

#[test]
fn qpdf_check_is_clean_and_fonts_are_embedded() {
    for (name, m) in [("short.pdf", sample()), ("long.pdf", long_sample())] {
        let pdf = minutes_pdf(&m).unwrap();
        let path = scratch(name, &pdf);
        let p = path.str();
        let out = tool("qpdf", &["--check", p]);
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "qpdf --check {name}:\n{report}");
        assert!(
            report.contains("No syntax or stream encoding errors found"),
            "{report}"
        );
        assert!(!report.contains("WARNING"), "{report}");

        let out = tool("pdffonts", &[p]);
        assert!(out.status.success());
        let fonts = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert_eq!(rows.len(), 2, "{fonts}");
        for row in &rows {
            assert!(row.contains("LiberationSerif"), "{fonts}");
            let cols: Vec<&str> = row.split_whitespace().collect();
            // name, type (2 words), encoding, emb, sub, uni, object, id
            assert_eq!(&cols[4..7], ["yes", "yes", "yes"], "{fonts}");
        }
        assert!(fonts.contains("LiberationSerif-Bold"), "{fonts}");
        // Subsets, not the whole fonts (≈ 400 kB each).
        assert!(pdf.len() < 120_000, "{}", pdf.len());
    }
}

/// Every word inside the Decree 30 margins (left 30 mm, right 20 mm, top and bottom
/// 20 mm; the page number from page 2 sits in the top margin).
#[test]
fn long_texts_wrap_inside_the_margins() {
    let pdf = minutes_pdf(&long_sample()).unwrap();
    let path = scratch("bbox.pdf", &pdf);
    assert!(pages(&path) >= 2, "the long sample should take two pages");
    let html = pdftotext(&path, &["-bbox"]);
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + tag[start..].find('"').unwrap();
        tag[start..end].parse().unwrap()
    };
    let mut words = 0;
    let mut page = 0;
    for piece in html.split('<').skip(1) {
        if piece.starts_with("page ") {
            page += 1;
            continue;
        }
        if !piece.starts_with("word ") {
            continue;
        }
        words += 1;
        let (x0, y0, x1, y1) = (
            attr(piece, "xMin"),
            attr(piece, "yMin"),
            attr(piece, "xMax"),
            attr(piece, "yMax"),
        );
        let word = &piece[piece.find('>').unwrap() + 1..];
        // The brief's bound is the page width − 15 mm; kyso's right margin is 20 mm.
        assert!(
            x1 <= PAGE_W - 20.0 * MM + 0.5,
            "{word:?} ends at {x1} on page {page}"
        );
        assert!(
            x0 >= 30.0 * MM - 0.5,
            "{word:?} starts at {x0} on page {page}"
        );
        assert!(y1 <= PAGE_H - 20.0 * MM + 0.5, "{word:?} too low ({y1})");
        let page_number = page >= 2 && word.chars().all(|c| c.is_ascii_digit());
        if !page_number {
            assert!(y0 >= 20.0 * MM - 0.5, "{word:?} too high ({y0})");
        }
    }
    assert!(words > 300, "{words}");
    // The long paragraphs really wrapped: a long condition takes many lines.
    let text = pdftotext(&path, &[]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(flat.matches("niêm phong mã PIN cũ").count(), 4, "{text}");
}

/// kyso-pades finds each party's signature band by the name line: between
/// "(Ký, ghi rõ họ tên)" and the name, 25 mm high, on the page of the block.
fn check_placement(pdf: &[u8], m: &HandoverMinutes) {
    let path = scratch("placement.pdf", pdf);
    let count = pages(&path);
    let mut rects = Vec::new();
    for (party, label) in [(&m.giver, "BÊN GIAO"), (&m.receiver, "BÊN NHẬN")] {
        let name = &party.full_name;
        // The name is a line of its own exactly once in the document.
        let mut whole = 0;
        for p in 1..=count {
            let lines = kyso_pades::sign::text_lines(pdf, p).unwrap();
            whole += lines.iter().filter(|l| &l.text == name).count();
        }
        assert_eq!(whole, 1, "{name}");

        let area = kyso_pades::sign::find_signature_area(pdf, name, None).unwrap();
        assert_eq!(area.page, count, "the signature block is on the last page");
        assert_eq!(&area.name_line.text, name);
        let authority = area.authority_line.as_ref().expect("a line above the name");
        assert_eq!(authority.text, "(Ký, ghi rõ họ tên)");
        let r = area.rect;
        // Inside the band: above the name's text box, below the note's.
        assert!(
            r[1] >= area.name_line.bbox[3],
            "{r:?} vs {:?}",
            area.name_line
        );
        assert!(r[3] <= authority.bbox[1], "{r:?} vs {authority:?}");
        let height_mm = (r[3] - r[1]) / MM;
        assert!((24.0..=26.0).contains(&height_mm), "{height_mm} mm");
        // Horizontally it covers the name.
        assert!(r[0] <= area.name_line.bbox[0] && r[2] >= area.name_line.bbox[2]);
        // The column heading and note are on the same page (the block is not split).
        let lines = kyso_pades::sign::text_lines(pdf, area.page).unwrap();
        assert!(
            lines.iter().any(|l| l.text == label
                && l.baseline > authority.baseline
                && (l.bbox[0] + l.bbox[2]) / 2.0 - (authority.bbox[0] + authority.bbox[2]) / 2.0
                    < 1.0),
            "{label} above the note"
        );
        rects.push((r, area.name_line.baseline));
    }
    // The two bands are distinct.
    assert_ne!(rects[0], rects[1]);
}

#[test]
fn pades_finds_the_signature_bands() {
    let m = sample();
    check_placement(&minutes_pdf(&m).unwrap(), &m);
    let m = long_sample();
    check_placement(&minutes_pdf(&m).unwrap(), &m);
    // No witnesses, no parent agency, no end time.
    let mut m = sample();
    m.witnesses.clear();
    m.parent_agency = None;
    m.end_time = None;
    let pdf = minutes_pdf(&m).unwrap();
    check_placement(&pdf, &m);
    let text = pdftotext(&scratch("plain.pdf", &pdf), &[]);
    assert!(text.contains("kết thúc cùng ngày."), "{text}");
    assert!(!text.contains("NGƯỜI CHỨNG KIẾN"));
}

#[test]
fn a_witness_name_containing_a_party_name_is_not_the_anchor() {
    let mut m = sample();
    m.giver.full_name = "Lê An".into();
    m.witnesses = vec![party("Lê Anh", "", ""), party("Trần Quốc Bảo Ngọc", "", "")];
    check_placement(&minutes_pdf(&m).unwrap(), &m);
}

#[test]
fn side_by_side_columns_are_separate_lines() {
    let m = sample();
    let pdf = minutes_pdf(&m).unwrap();
    let giver = kyso_pades::sign::find_signature_area(&pdf, &m.giver.full_name, None).unwrap();
    let receiver =
        kyso_pades::sign::find_signature_area(&pdf, &m.receiver.full_name, None).unwrap();
    // Same baseline, two columns: the giver on the left, the receiver on the right.
    assert!((giver.name_line.baseline - receiver.name_line.baseline).abs() < 0.01);
    assert!(giver.name_line.bbox[2] < receiver.name_line.bbox[0]);
    // The receiver's band is centred on the receiver's name.
    let centre = |r: &[f64; 4]| (r[0] + r[2]) / 2.0;
    let name_centre = (receiver.name_line.bbox[0] + receiver.name_line.bbox[2]) / 2.0;
    assert!((centre(&receiver.rect) - name_centre).abs() < 2.0);
}

#[test]
fn very_long_names_stack_the_blocks() {
    let mut m = sample();
    m.giver.full_name = "Nguyễn Hoàng Thị Phương Thảo Quỳnh Như Ngọc Bích".into();
    m.receiver.full_name = "Tôn Nữ Hoàng Lan Anh Phương Thùy Dương Minh Châu".into();
    let pdf = minutes_pdf(&m).unwrap();
    check_placement(&pdf, &m);
    let g = kyso_pades::sign::find_signature_area(&pdf, &m.giver.full_name, None).unwrap();
    let r = kyso_pades::sign::find_signature_area(&pdf, &m.receiver.full_name, None).unwrap();
    assert!(g.name_line.baseline > r.authority_line.unwrap().baseline);
    assert!(g.rect[1] > r.rect[3], "the bands do not overlap");
}

#[test]
fn invalid_input_is_refused() {
    let refused = |m: HandoverMinutes| match minutes_pdf(&m) {
        Err(OfficeError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {:?}", other.map(|b| b.len())),
    };
    let mut m = sample();
    m.giver.full_name = String::new();
    refused(m);
    let mut m = sample();
    m.receiver.full_name = "   ".into();
    refused(m);
    let mut m = sample();
    m.notation = String::new();
    refused(m);
    let mut m = sample();
    m.notation = "Số: 03/BB-STTTT".into();
    refused(m);
    let mut m = sample();
    m.device.serial = String::new();
    refused(m);
    let mut m = sample();
    m.certificate.serial = String::new();
    refused(m);
    let mut m = sample();
    m.condition = "\n".into();
    refused(m);
    // Text the font cannot show.
    let mut m = sample();
    m.location = "trụ sở 会议室".into();
    let msg = refused(m);
    assert!(msg.contains("cannot be rendered"), "{msg}");
    let mut m = sample();
    m.witnesses[0].full_name = "Phạm \u{7}Ánh".into();
    refused(m);
    let mut m = sample();
    m.witnesses = (0..60)
        .map(|i| party(&format!("Người chứng kiến số {i}"), "", ""))
        .collect();
    let msg = refused(m);
    assert!(msg.contains("witnesses"), "{msg}");
    // Incoherent facts.
    let mut m = sample();
    m.certificate.not_after = m.certificate.not_before;
    refused(m);
    let mut m = sample();
    m.end_time = Some(datetime!(2026-11-27 01:00 UTC));
    refused(m);
    let mut m = sample();
    m.receiver.full_name = "nguyễn thị  thu hà".into();
    refused(m);
    // Decomposed input is normalised, not refused.
    let mut m = sample();
    m.giver.full_name = "Nguye\u{302}\u{303}n Thị Thu Hà".into();
    assert!(minutes_pdf(&m).is_ok());
}
