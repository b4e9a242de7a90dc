//! Printable outputs: a [`RegisterSheet`] as CSV and as a PDF table (A4 landscape,
//! Vietnamese headings in Liberation Serif, embedded as a subset).

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use unicode_normalization::UnicodeNormalization;

use crate::error::OfficeError;
use crate::register::RegisterSheet;

/// Liberation Serif 2 (SIL OFL 1.1; metric-compatible with Times New Roman), the font of
/// kyso's PDFs, shared with kyso-pades.
pub(crate) const FONT: &[u8] = include_bytes!("../../pades/assets/LiberationSerif-Regular.ttf");

/// CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheet programs show Vietnamese,
/// CRLF line ends): title line, subtitle line, headings, rows. A cell a spreadsheet would
/// read as a formula (first character `=`, `+`, `-`, `@`, tab or CR) is neutralised as
/// OWASP recommends: a single quote in front, and the field quoted.
pub fn to_csv(sheet: &RegisterSheet) -> String {
    fn cell(text: &str) -> String {
        let mut text: String = text.nfc().collect();
        let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if formula {
            text.insert(0, '\'');
        }
        if formula || text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    }
    let mut out = String::from("\u{feff}");
    let line =
        |cells: &[String]| cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",") + "\r\n";
    out.push_str(&line(std::slice::from_ref(&sheet.title)));
    out.push_str(&line(std::slice::from_ref(&sheet.subtitle)));
    out.push_str(&line(&sheet.columns));
    for row in &sheet.rows {
        out.push_str(&line(row));
    }
    out
}

const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;
const MARGIN: f32 = 36.0;
const BODY_SIZE: f32 = 9.0;
const HEAD_SIZE: f32 = 9.0;
const TITLE_SIZE: f32 = 14.0;
const LINE: f32 = 11.0;
const PAD: f32 = 3.0;

pub(crate) struct Font<'a> {
    pub(crate) face: ttf_parser::Face<'a>,
    pub(crate) units: f32,
    pub(crate) used: BTreeMap<u16, char>,
}

impl Font<'_> {
    fn glyph(&mut self, c: char) -> u16 {
        let id = self
            .face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map(|g| g.0)
            .unwrap_or(0);
        self.used.entry(id).or_insert(c);
        id
    }

    fn advance(&self, c: char) -> f32 {
        let id = self
            .face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'));
        id.and_then(|g| self.face.glyph_hor_advance(g))
            .map(f32::from)
            .unwrap_or(500.0)
            / self.units
    }

    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// Greedy word wrap to `width` points; over-long words are cut.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if self.width(&piece, size) > width && piece.chars().count() > 1 {
                        piece.pop();
                        lines.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            lines.push(line);
        }
        lines
    }
}

/// Glyph ids as big-endian 16-bit codes (Identity-H).
pub(crate) fn encode(font: &mut Font<'_>, text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for c in text.chars() {
        out.extend_from_slice(&font.glyph(c).to_be_bytes());
    }
    out
}

fn show(content: &mut Content, font: &mut Font<'_>, text: &str, size: f32, x: f32, y: f32) {
    let bytes = encode(font, text);
    content.begin_text();
    content.set_font(Name(b"F1"), size);
    content.next_line(x, y);
    content.show(Str(&bytes));
    content.end_text();
}

/// The sheet as a PDF: A4 landscape, title and subtitle centred, a ruled table with the
/// headings repeated on every page, page numbers.
pub fn to_pdf(sheet: &RegisterSheet) -> Result<Vec<u8>, OfficeError> {
    let mut font = load_font()?;
    let nfc = |t: &str| -> String { t.nfc().collect() };
    let table_w = PAGE_W - 2.0 * MARGIN;
    let total: f32 = sheet.widths.iter().sum::<f32>().max(1.0);
    let widths: Vec<f32> = sheet.widths.iter().map(|w| w / total * table_w).collect();

    let wrap_row = |font: &Font<'_>, cells: &[String], size: f32| -> Vec<Vec<String>> {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| font.wrap(&nfc(c), size, w - 2.0 * PAD))
            .collect()
    };
    let header = wrap_row(&font, &sheet.columns, HEAD_SIZE);
    let mut number_row: Vec<String> = (1..=sheet.columns.len())
        .map(|i| format!("({i})"))
        .collect();
    number_row.truncate(sheet.columns.len());
    let rows: Vec<Vec<Vec<String>>> = sheet
        .rows
        .iter()
        .map(|r| wrap_row(&font, r, BODY_SIZE))
        .collect();

    // Lay out pages.
    let mut pages: Vec<Content> = Vec::new();
    let top_first = PAGE_H - MARGIN - 2.0 * TITLE_SIZE - 2.0 * LINE;
    let mut remaining = rows.iter().peekable();
    let mut page_number = 0;
    loop {
        page_number += 1;
        let mut content = Content::new();
        content.set_line_width(0.5);
        let mut y = if page_number == 1 {
            let title = nfc(&sheet.title);
            let tw = font.width(&title, TITLE_SIZE);
            show(
                &mut content,
                &mut font,
                &title,
                TITLE_SIZE,
                (PAGE_W - tw) / 2.0,
                PAGE_H - MARGIN - TITLE_SIZE,
            );
            let sub = nfc(&sheet.subtitle);
            let sw = font.width(&sub, 11.0);
            show(
                &mut content,
                &mut font,
                &sub,
                11.0,
                (PAGE_W - sw) / 2.0,
                PAGE_H - MARGIN - 2.0 * TITLE_SIZE - 4.0,
            );
            top_first
        } else {
            PAGE_H - MARGIN
        };
        let draw_row = |content: &mut Content,
                        font: &mut Font<'_>,
                        cells: &[Vec<String>],
                        size: f32,
                        y: f32|
         -> f32 {
            let h = cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as f32 * LINE + 2.0 * PAD;
            let mut x = MARGIN;
            for (lines, w) in cells.iter().zip(&widths) {
                content.rect(x, y - h, *w, h);
                content.stroke();
                for (i, line) in lines.iter().enumerate() {
                    if !line.is_empty() {
                        show(
                            content,
                            font,
                            line,
                            size,
                            x + PAD,
                            y - PAD - (i as f32 + 1.0) * LINE + 2.0,
                        );
                    }
                }
                x += w;
            }
            y - h
        };
        y = draw_row(&mut content, &mut font, &header, HEAD_SIZE, y);
        let numbers: Vec<Vec<String>> = number_row.iter().map(|n| vec![n.clone()]).collect();
        y = draw_row(&mut content, &mut font, &numbers, HEAD_SIZE, y);
        let mut drew_any = false;
        while let Some(row) = remaining.peek() {
            let h = row.iter().map(Vec::len).max().unwrap_or(1).max(1) as f32 * LINE + 2.0 * PAD;
            if y - h < MARGIN + LINE && drew_any {
                break;
            }
            y = draw_row(&mut content, &mut font, row, BODY_SIZE, y);
            drew_any = true;
            remaining.next();
        }
        pages.push(content);
        if remaining.peek().is_none() {
            break;
        }
    }
    let count = pages.len();
    let mut contents = Vec::with_capacity(count);
    for (i, mut content) in pages.into_iter().enumerate() {
        let label = format!("Trang {}/{}", i + 1, count);
        let lw = font.width(&label, 8.0);
        show(
            &mut content,
            &mut font,
            &label,
            8.0,
            PAGE_W - MARGIN - lw,
            MARGIN / 2.0,
        );
        contents.push(content.finish().to_vec());
    }

    assemble(font, &contents, PAGE_W, PAGE_H)
}

/// Writes the pages (content streams using glyph ids of `font` as CIDs) with the
/// font embedded as a subset.
fn assemble(
    font: Font<'_>,
    contents: &[Vec<u8>],
    page_w: f32,
    page_h: f32,
) -> Result<Vec<u8>, OfficeError> {
    let count = contents.len();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let type0_id = alloc();
    let page_ids: Vec<(Ref, Ref)> = (0..count).map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(i32::try_from(count).unwrap_or(i32::MAX));
    for ((page_id, content_id), bytes) in page_ids.iter().zip(contents) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, page_w, page_h));
        page.parent(tree_id);
        page.contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), type0_id);
        page.finish();
        let compressed = deflate(bytes);
        pdf.stream(*content_id, &compressed)
            .filter(Filter::FlateDecode);
    }

    embed_font(
        &mut pdf,
        &mut alloc,
        &font,
        FONT,
        b"KYSOAA+LiberationSerif",
        type0_id,
        false,
    )?;
    Ok(pdf.finish())
}

/// A Type0 / CIDFontType2 font with the used glyphs as a subset; CIDs are the original
/// glyph ids (Identity-H), mapped by a CIDToGIDMap.
pub(crate) fn embed_font(
    pdf: &mut Pdf,
    alloc: &mut impl FnMut() -> Ref,
    font: &Font<'_>,
    data: &[u8],
    base: &[u8],
    type0_id: Ref,
    bold: bool,
) -> Result<(), OfficeError> {
    let cid_id = alloc();
    let descriptor_id = alloc();
    let file_id = alloc();
    let cmap_id = alloc();
    let map_id = alloc();
    let units = font.units;
    let glyphs: Vec<u16> = font.used.keys().copied().collect();
    let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&glyphs);
    let subset = subsetter::subset(data, 0, &remapper)
        .map_err(|e| OfficeError::Invalid(format!("font subset: {e}")))?;
    let max_gid = glyphs.last().copied().unwrap_or(0);
    let mut cid_to_gid = vec![0u8; (usize::from(max_gid) + 1) * 2];
    for g in &glyphs {
        let new = remapper.get(*g).unwrap_or(0);
        let i = usize::from(*g) * 2;
        cid_to_gid[i..i + 2].copy_from_slice(&new.to_be_bytes());
    }
    let base = Name(base);
    pdf.type0_font(type0_id)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    {
        let mut cid = pdf.cid_font(cid_id);
        cid.subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system_info)
            .font_descriptor(descriptor_id)
            .default_width(0.0)
            .cid_to_gid_map_stream(map_id);
        let mut w = cid.widths();
        for g in &glyphs {
            let adv = font
                .face
                .glyph_hor_advance(ttf_parser::GlyphId(*g))
                .map(f32::from)
                .unwrap_or(0.0)
                / units
                * 1000.0;
            w.consecutive(*g, [adv]);
        }
        w.finish();
        cid.finish();
    }
    let bbox = font.face.global_bounding_box();
    let scale = |v: i16| f32::from(v) / units * 1000.0;
    let mut flags = FontFlags::SERIF | FontFlags::NON_SYMBOLIC;
    if bold {
        flags |= FontFlags::FORCE_BOLD;
    }
    pdf.font_descriptor(descriptor_id)
        .name(base)
        .flags(flags)
        .bbox(Rect::new(
            scale(bbox.x_min),
            scale(bbox.y_min),
            scale(bbox.x_max),
            scale(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(scale(font.face.ascender()))
        .descent(scale(font.face.descender()))
        .cap_height(scale(
            font.face.capital_height().unwrap_or(font.face.ascender()),
        ))
        .stem_v(if bold { 140.0 } else { 80.0 })
        .font_file2(file_id);
    let compressed_font = deflate(&subset);
    pdf.stream(file_id, &compressed_font)
        .filter(Filter::FlateDecode)
        .pair(
            Name(b"Length1"),
            i32::try_from(subset.len()).unwrap_or(i32::MAX),
        );
    let compressed_map = deflate(&cid_to_gid);
    pdf.stream(map_id, &compressed_map)
        .filter(Filter::FlateDecode);
    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (g, c) in &font.used {
        cmap.pair(*g, *c);
    }
    pdf.cmap(cmap_id, &cmap.finish());
    Ok(())
}

/// A plain A4 portrait page (or more) of text lines in Liberation Serif 13 pt, with
/// extractable Vietnamese text: for document lists and test documents.
pub fn text_pdf(lines: &[&str]) -> Result<Vec<u8>, OfficeError> {
    const W: f32 = 595.28;
    const H: f32 = 841.89;
    const SIZE: f32 = 13.0;
    let mut font = load_font()?;
    let mut contents = Vec::new();
    let mut content = Content::new();
    let mut y = H - 56.0 - SIZE;
    let mut wrapped = Vec::new();
    for line in lines {
        let text: String = line.nfc().collect();
        wrapped.extend(font.wrap(&text, SIZE, W - 2.0 * 56.0));
    }
    for line in wrapped {
        if y < 56.0 {
            contents.push(
                std::mem::replace(&mut content, Content::new())
                    .finish()
                    .to_vec(),
            );
            y = H - 56.0 - SIZE;
        }
        if !line.is_empty() {
            show(&mut content, &mut font, &line, SIZE, 56.0, y);
        }
        y -= SIZE * 1.4;
    }
    contents.push(content.finish().to_vec());
    assemble(font, &contents, W, H)
}

pub(crate) fn load_font() -> Result<Font<'static>, OfficeError> {
    let face = ttf_parser::Face::parse(FONT, 0)
        .map_err(|e| OfficeError::Invalid(format!("embedded font: {e}")))?;
    let units = f32::from(face.units_per_em());
    Ok(Font {
        face,
        units,
        used: BTreeMap::new(),
    })
}

pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: usize) -> RegisterSheet {
        RegisterSheet {
            title: "SỔ ĐĂNG KÝ VĂN BẢN ĐI".into(),
            subtitle: "UBND thành phố Cần Thơ (000.00.00.H13) — Năm 2025".into(),
            columns: crate::register::OUTGOING_COLUMNS
                .iter()
                .map(|c| c.to_string())
                .collect(),
            widths: vec![10.0, 7.0, 22.0, 10.0, 13.0, 10.0, 5.0, 7.0, 7.0, 9.0],
            rows: (1..=rows)
                .map(|i| {
                    vec![
                        format!("{i:02}/QĐ-UBND"),
                        "04/03/2025".into(),
                        "Quyết định: Về việc bổ nhiệm, \"điều động\" cán bộ ạ ậ ế ệ ộ ợ ủ ữ ự ỵ ỹ"
                            .into(),
                        "Nguyễn Văn A".into(),
                        "Sở Nội vụ; Sở Tài chính".into(),
                        "Văn phòng".into(),
                        "3".into(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]
                })
                .collect(),
        }
    }

    #[test]
    fn csv_quotes_and_bom() {
        let csv = to_csv(&sheet(2));
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("Số, ký hiệu văn bản"));
        assert!(csv.contains("\"Số, ký hiệu văn bản\""));
        assert!(csv.contains("\"\"điều động\"\""));
        assert_eq!(csv.matches("\r\n").count(), 5);
    }

    #[test]
    fn csv_neutralises_formulas() {
        let mut s = sheet(1);
        s.rows[0][3] = "+cmd|calc".into();
        s.rows[0][4] = "=HYPERLINK(\"http://x\")".into();
        s.rows[0][5] = "-1+1".into();
        s.rows[0][7] = "@SUM(A1)".into();
        s.rows[0][8] = "\tx".into();
        s.rows[0][9] = "\rx".into();
        let csv = to_csv(&s);
        let row = csv.split("\r\n").nth(3).unwrap();
        assert!(row.contains(",\"'+cmd|calc\","), "{row}");
        assert!(row.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "{row}");
        assert!(row.contains(",\"'-1+1\","), "{row}");
        assert!(row.contains(",\"'@SUM(A1)\","), "{row}");
        assert!(row.contains(",\"'\tx\","), "{row}");
        assert!(csv.contains(",\"'\rx\"\r\n"), "{csv}");
        // Nothing else changes.
        assert!(row.starts_with("01/QĐ-UBND,"), "{row}");
    }

    #[test]
    fn pdf_is_well_formed_and_paginates() {
        let one = to_pdf(&sheet(3)).unwrap();
        assert!(one.starts_with(b"%PDF-"));
        let many = to_pdf(&sheet(120)).unwrap();
        let count = String::from_utf8_lossy(&many)
            .matches("/Type /Page")
            .count()
            - String::from_utf8_lossy(&many)
                .matches("/Type /Pages")
                .count();
        assert!(count > 2, "{count}");
        // Subset font, not the whole 400 kB file.
        assert!(many.len() < 300_000, "{}", many.len());
    }

    #[test]
    fn text_pages() {
        let pdf = text_pdf(&["QUYẾT ĐỊNH", "Số: 15/QĐ-UBND"]).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let long: Vec<String> = (0..200).map(|i| format!("dòng {i}")).collect();
        let refs: Vec<&str> = long.iter().map(String::as_str).collect();
        let pdf = text_pdf(&refs).unwrap();
        assert!(
            String::from_utf8_lossy(&pdf)
                .matches("/Type /Page\n")
                .count()
                >= 1
        );
    }
}
