//! Where a visible signature goes: text lines of a page (from [`super::text`]), the
//! signer block found by an anchor text (the signer's name line), the signature area
//! between the authority line and the name line (Decree 30 App. I box 7c), and existing
//! signature widgets (for the seal, which overlaps the leader's image).

use unicode_normalization::UnicodeNormalization;

use super::SignError;
use super::object::{ObjRef, Object};
use super::reader::{Document, rect_of};
use super::text::Extractor;
use crate::pdf::content::Glyph;

/// A rectangle `[x0, y0, x1, y1]` in default user space (points, origin bottom-left).
pub type Rect = [f64; 4];

/// A line of text on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// 1-based page number.
    pub page: usize,
    /// The text (NFC).
    pub text: String,
    /// Advance box: x from the first glyph's origin to the last glyph's advance; y
    /// from 0.216 em below to 0.693 em above the baseline (a nominal text box).
    pub bbox: Rect,
    /// Baseline.
    pub baseline: f64,
    /// Font size (points).
    pub size: f64,
    glyphs: Vec<Glyph>,
}

/// The signature area found for a signer.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureArea {
    /// 1-based page number.
    pub page: usize,
    /// The blank area between the authority line and the name line, across the signer
    /// column.
    pub rect: Rect,
    /// The matched name line.
    pub name_line: TextLine,
    /// The authority line above it, when one was found.
    pub authority_line: Option<TextLine>,
}

/// Group glyphs into lines: same baseline (within 0.2 em) and size, sorted by x; a
/// space is inserted where the gap is wider than 0.15 em.
pub(crate) fn lines(page: usize, mut glyphs: Vec<Glyph>) -> Vec<TextLine> {
    glyphs.retain(|g| g.size > 0.1 && g.x0.is_finite() && g.y.is_finite());
    glyphs.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x0.total_cmp(&b.x0)));
    let mut rows: Vec<Vec<Glyph>> = Vec::new();
    for g in glyphs {
        match rows.last_mut() {
            Some(row)
                if (row[0].y - g.y).abs() <= 0.2 * row[0].size.max(g.size)
                    && (row[0].size - g.size).abs() <= 0.3 * row[0].size.max(g.size) =>
            {
                row.push(g)
            }
            _ => rows.push(vec![g]),
        }
    }
    let mut out = Vec::new();
    for mut row in rows {
        row.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        // Split a row where a gap is very wide (two columns on one baseline).
        let mut start = 0;
        for i in 1..=row.len() {
            let split = i == row.len()
                || row[i].x0 - row[i - 1].x1 > 3.0 * row[i].size.max(row[i - 1].size);
            if split {
                if let Some(line) = make_line(page, &row[start..i]) {
                    out.push(line);
                }
                start = i;
            }
        }
    }
    out
}

fn make_line(page: usize, glyphs: &[Glyph]) -> Option<TextLine> {
    let first = glyphs.first()?;
    let size = glyphs.iter().map(|g| g.size).fold(0.0, f64::max);
    let baseline = first.y;
    let mut text = String::new();
    let mut prev_x1: Option<f64> = None;
    for g in glyphs {
        if let Some(px) = prev_x1
            && g.x0 - px > 0.15 * size
            && !text.ends_with(' ')
            && !g.text.starts_with(' ')
        {
            text.push(' ');
        }
        text.push_str(&g.text);
        prev_x1 = Some(g.x1);
    }
    let text: String = text.nfc().collect();
    let x0 = glyphs.iter().map(|g| g.x0).fold(f64::INFINITY, f64::min);
    let x1 = glyphs
        .iter()
        .map(|g| g.x1)
        .fold(f64::NEG_INFINITY, f64::max);
    Some(TextLine {
        page,
        text: text.trim().to_string(),
        bbox: [x0, baseline - 0.216 * size, x1, baseline + 0.693 * size],
        baseline,
        size,
        glyphs: glyphs.to_vec(),
    })
}

/// Normalise for matching: NFC, lowercase, no whitespace.
fn fold(s: &str) -> String {
    s.nfc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect()
}

impl TextLine {
    /// The part of this line matching `anchor` (folded), as a sub-line with its own
    /// box; `None` if it does not occur.
    fn find(&self, anchor: &str) -> Option<TextLine> {
        let want = fold(anchor);
        if want.is_empty() {
            return None;
        }
        // Folded text of each glyph, so a match maps back to glyphs.
        let folded: Vec<String> = self.glyphs.iter().map(|g| fold(&g.text)).collect();
        let joined: String = folded.concat();
        let pos = joined.rfind(&want)?;
        let end = pos + want.len();
        let mut offset = 0;
        let mut first = None;
        let mut last = None;
        for (i, f) in folded.iter().enumerate() {
            let (s, e) = (offset, offset + f.len());
            offset = e;
            if f.is_empty() {
                continue;
            }
            if e > pos && s < end {
                first.get_or_insert(i);
                last = Some(i);
            }
        }
        let (first, last) = (first?, last?);
        let mut sub = make_line(self.page, &self.glyphs[first..=last])?;
        sub.size = self.size;
        Some(sub)
    }
}

/// Every text line of page `page_index` (0-based).
pub(crate) fn page_lines(
    extractor: &mut Extractor<'_, '_>,
    pages: &[ObjRef],
    page_index: usize,
) -> Result<Vec<TextLine>, SignError> {
    let page = *pages
        .get(page_index)
        .ok_or_else(|| SignError::Placement(format!("no page {}", page_index + 1)))?;
    let glyphs = extractor.page_glyphs(page)?;
    Ok(lines(page_index + 1, glyphs))
}

/// Find the signer block by `anchor` (the name line) and compute the signature area.
/// Pages are searched from the last (or only `page`, 1-based, if given); the lowest
/// match on the page wins, a whole-line match before a partial one.
pub(crate) fn find_area(
    doc: &Document<'_>,
    anchor: &str,
    page: Option<usize>,
) -> Result<SignatureArea, SignError> {
    let pages = doc.pages()?;
    let mut extractor = Extractor::new(doc);
    let candidates: Vec<usize> = match page {
        Some(p) if p >= 1 && p <= pages.len() => vec![p - 1],
        Some(p) => {
            return Err(SignError::Placement(format!(
                "page {p} does not exist (the document has {} pages)",
                pages.len()
            )));
        }
        None => (0..pages.len()).rev().collect(),
    };
    let want = fold(anchor);
    for idx in candidates {
        let lines = page_lines(&mut extractor, &pages, idx)?;
        let mut best: Option<(bool, TextLine)> = None;
        for line in &lines {
            let Some(hit) = line.find(anchor) else {
                continue;
            };
            let whole = fold(&line.text) == want;
            let better = match &best {
                None => true,
                Some((bw, b)) => (whole && !bw) || (whole == *bw && hit.baseline < b.baseline),
            };
            if better {
                best = Some((whole, hit));
            }
        }
        let Some((_, name)) = best else {
            continue;
        };
        let media = doc.media_box(pages[idx])?;
        return Ok(area_for(&lines, name, media));
    }
    Err(SignError::Placement(format!(
        "the text {anchor:?} was not found{}; give --anchor with the signer's name as printed, or --page and --rect",
        match page {
            Some(p) => format!(" on page {p}"),
            None => " in the document".into(),
        }
    )))
}

/// The signature area above `name`, below the nearest line above it that overlaps it
/// horizontally (the authority line); horizontally centred on the name, as wide as
/// the signer column (up to the right edge of the page's text).
fn area_for(lines: &[TextLine], name: TextLine, media: Rect) -> SignatureArea {
    let cx = (name.bbox[0] + name.bbox[2]) / 2.0;
    let half_name = (name.bbox[2] - name.bbox[0]) / 2.0;
    let authority = lines
        .iter()
        .filter(|l| {
            l.baseline > name.baseline + 0.5 * name.size
                && l.bbox[0] < name.bbox[2] + name.size
                && l.bbox[2] > name.bbox[0] - name.size
        })
        .min_by(|a, b| a.baseline.total_cmp(&b.baseline))
        .cloned();
    let bottom = name.baseline + 0.92 * name.size;
    let top = match &authority {
        Some(a) => a.baseline - 0.225 * a.size,
        // No line above: a 28 mm area (the usual gap).
        None => bottom + 28.0 * 72.0 / 25.4,
    };
    // The right edge of the text block: the furthest right any line reaches.
    let right = lines
        .iter()
        .map(|l| l.bbox[2])
        .fold(name.bbox[2], f64::max)
        .min(media[2]);
    // … and its left edge: a signer in the left column (the giver of minutes, the
    // first of two co-signers) gets an area centred on their own column.
    let left = lines
        .iter()
        .map(|l| l.bbox[0])
        .fold(name.bbox[0], f64::min)
        .max(media[0]);
    let half = (right - cx).min(cx - left).max(half_name + 10.0);
    let x0 = (cx - half).max(media[0]);
    let x1 = (cx + half).min(media[2]);
    SignatureArea {
        page: name.page,
        rect: [x0, bottom, x1, top.max(bottom + 1.0)],
        name_line: name,
        authority_line: authority,
    }
}

/// The existing visible signature widgets of a page: `(field name, rect)`, in
/// `/Annots` order.
pub(crate) fn signature_widgets(
    doc: &Document<'_>,
    page: ObjRef,
) -> Result<Vec<(String, Rect)>, SignError> {
    let page_obj = doc.get(page)?;
    let Some(annots) = page_obj.as_dict().and_then(|d| d.get(b"Annots")) else {
        return Ok(Vec::new());
    };
    let annots = doc.resolve(annots)?;
    let mut out = Vec::new();
    for a in annots.as_array().unwrap_or_default().iter().take(10_000) {
        let Some(d) = doc.dict(a)? else { continue };
        if d.name(b"Subtype") != Some(b"Widget") {
            continue;
        }
        // /FT may be on the widget or its parent field.
        let mut ft = d.name(b"FT").map(<[u8]>::to_vec);
        let mut name = d
            .get(b"T")
            .and_then(Object::as_bytes)
            .map(super::object::decode_text);
        if (ft.is_none() || name.is_none())
            && let Some(parent) = d.get(b"Parent")
            && let Some(p) = doc.dict(parent)?
        {
            ft = ft.or(p.name(b"FT").map(<[u8]>::to_vec));
            name = name.or(p
                .get(b"T")
                .and_then(Object::as_bytes)
                .map(super::object::decode_text));
        }
        if ft.as_deref() != Some(b"Sig") {
            continue;
        }
        let Some(rect) = d.get(b"Rect").and_then(rect_of) else {
            continue;
        };
        if rect[2] - rect[0] < 1.0 || rect[3] - rect[1] < 1.0 {
            continue;
        }
        out.push((name.unwrap_or_default(), rect));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(text: &str, x: f64, y: f64, size: f64) -> Vec<Glyph> {
        let mut out = Vec::new();
        let mut x = x;
        for c in text.chars() {
            let w = size * 0.5;
            out.push(Glyph {
                text: c.to_string(),
                x0: x,
                x1: x + w,
                y,
                size,
            });
            x += w;
        }
        out
    }

    #[test]
    fn area_between_authority_and_name() {
        let mut g = glyphs("KT. GIÁM ĐỐC", 374.0, 242.0, 14.0);
        g.extend(glyphs("PHÓ GIÁM ĐỐC", 371.0, 225.0, 14.0));
        g.extend(glyphs("Nguyễn Văn Hùng", 370.0, 129.6, 14.0));
        g.extend(glyphs("Body text to the right edge", 85.0, 400.0, 14.0));
        let ls = lines(1, g);
        let name = ls.iter().find_map(|l| l.find("nguyễn văn hùng")).unwrap();
        let area = area_for(&ls, name, [0.0, 0.0, 595.0, 842.0]);
        assert_eq!(area.authority_line.unwrap().text, "PHÓ GIÁM ĐỐC");
        assert!((area.rect[1] - (129.6 + 0.92 * 14.0)).abs() < 1e-9);
        assert!((area.rect[3] - (225.0 - 0.225 * 14.0)).abs() < 1e-9);
    }
}
