//! Appearance streams (the widget's `/AP /N` form XObject) for the Decree 30 roles:
//! an image (the leader's blue signature, the agency's red seal) or one black 10 pt
//! information line (attachments, appendices, e-copies).

use std::fmt::Write as _;

use super::SignError;
use super::font::{FontUse, Style, deflate};
use super::image::Image;
use super::incremental::Update;
use super::object::{Bytes, Dict, ObjRef, Object, Stream, write_real};
use super::placement::Rect;

fn num(out: &mut Vec<u8>, v: f64) {
    write_real(out, v);
    out.push(b' ');
}

fn form(update: &mut Update<'_, '_>, w: f64, h: f64, resources: Dict, content: Vec<u8>) -> ObjRef {
    update.add(Object::Stream(Stream {
        source: None,
        dict: Dict::new()
            .with(b"Type", Object::name("XObject"))
            .with(b"Subtype", Object::name("Form"))
            .with(b"BBox", Object::rect([0.0, 0.0, w, h]))
            .with(b"Resources", Object::Dict(resources))
            .with(b"Filter", Object::name("FlateDecode")),
        data: deflate(&content),
    }))
}

/// An image filling `rect` (aspect kept by the caller).
pub(crate) fn image_appearance(update: &mut Update<'_, '_>, image: &Image, rect: Rect) -> ObjRef {
    let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
    let img = image.write(update);
    let mut content = Vec::new();
    content.extend_from_slice(b"q ");
    num(&mut content, w);
    content.extend_from_slice(b"0 0 ");
    num(&mut content, h);
    content.extend_from_slice(b"0 0 cm /Im0 Do Q\n");
    let resources = Dict::new().with(
        b"XObject",
        Object::Dict(Dict::new().with(b"Im0", Object::Ref(img))),
    );
    form(update, w, h, resources, content)
}

/// A text appearance: one line, black, `size` points, Liberation Serif (Times New
/// Roman metrics).
#[derive(Debug)]
pub(crate) struct TextBox {
    font: FontUse,
    text: String,
    size: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
    descent: f64,
}

impl TextBox {
    pub(crate) fn new(text: &str, size: f64) -> Result<Self, SignError> {
        let font = FontUse::new(Style::Regular)?;
        let width = font.width(text, size)?;
        let ascent = font.ascent() * size / 1000.0;
        let descent = -font.descent() * size / 1000.0;
        Ok(Self {
            font,
            text: text.to_string(),
            size,
            width,
            height: ascent + descent,
            descent,
        })
    }

    /// Write the form XObject for a widget of exactly `width × height`.
    pub(crate) fn write(mut self, update: &mut Update<'_, '_>) -> Result<ObjRef, SignError> {
        let encoded = self.font.encode(&self.text)?;
        let mut content = Vec::new();
        content.extend_from_slice(b"q 0 0 0 rg BT /F0 ");
        num(&mut content, self.size);
        content.extend_from_slice(b"Tf 0 ");
        num(&mut content, self.descent);
        content.extend_from_slice(b"Td <");
        for b in &encoded {
            let _ = write!(Bytes(&mut content), "{b:02X}");
        }
        content.extend_from_slice(b"> Tj ET Q\n");
        let font = self.font.write(update)?;
        let resources = Dict::new().with(
            b"Font",
            Object::Dict(Dict::new().with(b"F0", Object::Ref(font))),
        );
        Ok(form(update, self.width, self.height, resources, content))
    }
}

/// Largest box of aspect `aspect` (w/h) inside `area`, no larger than `natural`,
/// centred.
pub(crate) fn fit_centred(area: Rect, aspect: f64, natural: Option<(f64, f64)>) -> Rect {
    let (aw, ah) = (area[2] - area[0], area[3] - area[1]);
    let (mut w, mut h) = natural.unwrap_or((aw, aw / aspect));
    if w > aw {
        h *= aw / w;
        w = aw;
    }
    if h > ah {
        w *= ah / h;
        h = ah;
    }
    let cx = (area[0] + area[2]) / 2.0;
    let cy = (area[1] + area[3]) / 2.0;
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_keeps_aspect_and_centre() {
        let r = fit_centred([0.0, 0.0, 100.0, 50.0], 2.5, Some((150.0, 60.0)));
        assert!(((r[2] - r[0]) / (r[3] - r[1]) - 2.5).abs() < 1e-9);
        assert!((r[0] + r[2] - 100.0).abs() < 1e-9);
        let r = fit_centred([0.0, 0.0, 100.0, 50.0], 2.0, Some((20.0, 10.0)));
        assert_eq!(r, [40.0, 20.0, 60.0, 30.0]);
    }
}
