//! The embedded Vietnamese font: Liberation Serif 2 (metric-compatible with Times New
//! Roman, which Decree 30 prescribes; SIL OFL 1.1, see `assets/`), subset per
//! signature and written as a Type0 / CIDFontType2 font with Identity-H encoding,
//! `/W` widths and a `/ToUnicode` CMap (so text extraction returns the exact text).
//!
//! Text is NFC-normalised first: every precomposed Vietnamese letter is in the font's
//! cmap, so no shaping engine is needed.

use std::collections::BTreeMap;

use pdf_writer::{Name, Str};
use subsetter::GlyphRemapper;
use unicode_normalization::UnicodeNormalization;

use super::SignError;
use super::incremental::Update;
use super::object::{Dict, ObjRef, Object, Stream};

static REGULAR: &[u8] = include_bytes!("../../assets/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/LiberationSerif-Bold.ttf");

/// Font styles available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Regular,
    Bold,
}

/// A font being used by one appearance: remembers the glyphs to subset.
#[derive(Debug)]
pub(crate) struct FontUse {
    style: Style,
    face: ttf_parser::Face<'static>,
    remapper: GlyphRemapper,
    /// new glyph id → (text it stands for, advance in 1/1000 em)
    used: BTreeMap<u16, (String, f64)>,
}

impl FontUse {
    pub(crate) fn new(style: Style) -> Result<Self, SignError> {
        let data = match style {
            Style::Regular => REGULAR,
            Style::Bold => BOLD,
        };
        let face = ttf_parser::Face::parse(data, 0)
            .map_err(|e| SignError::Font(format!("the embedded font is unreadable: {e}")))?;
        Ok(Self {
            style,
            face,
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        })
    }

    fn data(&self) -> &'static [u8] {
        match self.style {
            Style::Regular => REGULAR,
            Style::Bold => BOLD,
        }
    }

    fn units(&self) -> f64 {
        f64::from(self.face.units_per_em().max(1))
    }

    /// Glyphs of `text` (NFC): `(original glyph id, char, advance in 1/1000 em)`.
    fn glyphs(&self, text: &str) -> Result<Vec<(u16, char, f64)>, SignError> {
        let mut out = Vec::new();
        for c in text.nfc() {
            let c = if c.is_whitespace() { ' ' } else { c };
            if c.is_control() {
                continue;
            }
            let gid = self.face.glyph_index(c).ok_or_else(|| {
                SignError::Font(format!(
                    "the character {c:?} (U+{:04X}) is not in Liberation Serif",
                    u32::from(c)
                ))
            })?;
            let adv =
                f64::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) * 1000.0 / self.units();
            out.push((gid.0, c, adv));
        }
        Ok(out)
    }

    /// Width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f64) -> Result<f64, SignError> {
        Ok(self.glyphs(text)?.iter().map(|g| g.2).sum::<f64>() * size / 1000.0)
    }

    /// Ascender in 1/1000 em.
    pub(crate) fn ascent(&self) -> f64 {
        f64::from(self.face.ascender()) * 1000.0 / self.units()
    }

    /// Descender in 1/1000 em (negative).
    pub(crate) fn descent(&self) -> f64 {
        f64::from(self.face.descender()) * 1000.0 / self.units()
    }

    /// The string operand for `Tj`: two-byte CIDs of the subset.
    pub(crate) fn encode(&mut self, text: &str) -> Result<Vec<u8>, SignError> {
        let glyphs = self.glyphs(text)?;
        let mut out = Vec::with_capacity(glyphs.len() * 2);
        for (gid, c, adv) in glyphs {
            let new = self.remapper.remap(gid);
            self.used.entry(new).or_insert_with(|| (c.to_string(), adv));
            out.extend_from_slice(&new.to_be_bytes());
        }
        Ok(out)
    }

    /// Write the font objects; returns the Type0 font dictionary.
    pub(crate) fn write(self, update: &mut Update<'_, '_>) -> Result<ObjRef, SignError> {
        let subset = subsetter::subset(self.data(), 0, &self.remapper)
            .map_err(|e| SignError::Font(format!("font subsetting failed: {e}")))?;
        let base_name = match self.style {
            Style::Regular => "LiberationSerif",
            Style::Bold => "LiberationSerif-Bold",
        };
        let name = format!("{}+{base_name}", subset_tag(&self.used));
        let font_file = update.add(Object::Stream(Stream {
            source: None,
            dict: Dict::new()
                .with(b"Length1", Object::Int(subset.len() as i64))
                .with(b"Filter", Object::name("FlateDecode")),
            data: deflate(&subset),
        }));
        let upem = self.units();
        let scale = |v: i16| (f64::from(v) * 1000.0 / upem).round();
        let bbox = self.face.global_bounding_box();
        let descriptor = update.add(Object::Dict(
            Dict::new()
                .with(b"Type", Object::name("FontDescriptor"))
                .with(b"FontName", Object::Name(name.as_bytes().to_vec()))
                .with(b"Flags", Object::Int(6))
                .with(
                    b"FontBBox",
                    Object::Array(
                        [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max]
                            .iter()
                            .map(|v| Object::Real(scale(*v)))
                            .collect(),
                    ),
                )
                .with(b"ItalicAngle", Object::Int(0))
                .with(b"Ascent", Object::Real(scale(self.face.ascender())))
                .with(b"Descent", Object::Real(scale(self.face.descender())))
                .with(
                    b"CapHeight",
                    Object::Real(scale(self.face.capital_height().unwrap_or(1341))),
                )
                .with(
                    b"StemV",
                    Object::Int(if self.style == Style::Bold { 140 } else { 80 }),
                )
                .with(b"FontFile2", Object::Ref(font_file)),
        ));
        // Widths of CIDs 0..n (new glyph ids in order).
        let n = self.remapper.num_gids();
        let mut widths = Vec::with_capacity(usize::from(n));
        for new in 0..n {
            let w = match self.used.get(&new) {
                Some((_, w)) => *w,
                None => {
                    let old = self
                        .remapper
                        .remapped_gids()
                        .nth(usize::from(new))
                        .unwrap_or(0);
                    f64::from(
                        self.face
                            .glyph_hor_advance(ttf_parser::GlyphId(old))
                            .unwrap_or(0),
                    ) * 1000.0
                        / upem
                }
            };
            widths.push(Object::Real((w * 100.0).round() / 100.0));
        }
        let cid_font = update.add(Object::Dict(
            Dict::new()
                .with(b"Type", Object::name("Font"))
                .with(b"Subtype", Object::name("CIDFontType2"))
                .with(b"BaseFont", Object::Name(name.as_bytes().to_vec()))
                .with(
                    b"CIDSystemInfo",
                    Object::Dict(
                        Dict::new()
                            .with(b"Registry", Object::literal(b"Adobe"))
                            .with(b"Ordering", Object::literal(b"Identity"))
                            .with(b"Supplement", Object::Int(0)),
                    ),
                )
                .with(b"FontDescriptor", Object::Ref(descriptor))
                .with(b"DW", Object::Int(0))
                .with(
                    b"W",
                    Object::Array(vec![Object::Int(0), Object::Array(widths)]),
                )
                .with(b"CIDToGIDMap", Object::name("Identity")),
        ));
        let mut cmap = pdf_writer::types::UnicodeCmap::new(
            Name(b"Kyso-UCS"),
            pdf_writer::types::SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"UCS"),
                supplement: 0,
            },
        );
        for (gid, (text, _)) in &self.used {
            cmap.pair_with_multiple(*gid, text.chars());
        }
        let to_unicode = update.add(Object::Stream(Stream {
            source: None,
            dict: Dict::new().with(b"Filter", Object::name("FlateDecode")),
            data: deflate(&cmap.finish()),
        }));
        Ok(update.add(Object::Dict(
            Dict::new()
                .with(b"Type", Object::name("Font"))
                .with(b"Subtype", Object::name("Type0"))
                .with(b"BaseFont", Object::Name(name.as_bytes().to_vec()))
                .with(b"Encoding", Object::name("Identity-H"))
                .with(
                    b"DescendantFonts",
                    Object::Array(vec![Object::Ref(cid_font)]),
                )
                .with(b"ToUnicode", Object::Ref(to_unicode)),
        )))
    }
}

/// Six capital letters derived from the subset's content (ISO 32000-1 §9.6.4).
fn subset_tag(used: &BTreeMap<u16, (String, f64)>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (gid, (text, _)) in used {
        for b in gid.to_be_bytes().iter().chain(text.as_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
        .collect()
}

/// zlib-compress.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_letters_are_in_the_font() {
        let mut f = FontUse::new(Style::Regular).unwrap();
        let text = "Số: 15/QĐ-STTTT; ạ ậ ế ệ ộ ợ ủ ữ ự ỵ ỹ Ẵ đ Đ";
        let encoded = f.encode(text).unwrap();
        assert_eq!(encoded.len(), 2 * text.chars().count());
        assert!(f.width("Nguyễn Văn Hùng", 14.0).unwrap() > 50.0);
        // NFD input gives the same glyphs as NFC.
        let nfd: String = "Nguyễn".nfd().collect();
        assert_eq!(f.encode(&nfd).unwrap(), f.encode("Nguyễn").unwrap());
        assert!(f.encode("中").is_err());
    }
}
