//! PNG images for appearances: decoded (bounded), written as an RGB or grey image
//! XObject with the alpha channel as `/SMask`, so transparent backgrounds stay
//! transparent. The physical size comes from the `pHYs` chunk.

use super::SignError;
use super::font::deflate;
use super::incremental::Update;
use super::object::{Dict, ObjRef, Object, Stream};

/// Largest PNG file accepted.
pub(crate) const MAX_PNG_BYTES: usize = 16 << 20;
/// Largest decoded image.
const MAX_PIXELS: u64 = 40_000_000;

/// A decoded image.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// 1 (grey) or 3 (RGB) components.
    components: u8,
    pixels: Vec<u8>,
    /// Alpha, when not fully opaque.
    alpha: Option<Vec<u8>>,
    /// Pixels per inch (x, y) from `pHYs`.
    pub(crate) dpi: Option<(f64, f64)>,
}

impl Image {
    /// Decode a PNG.
    pub(crate) fn from_png(bytes: &[u8]) -> Result<Self, SignError> {
        if bytes.len() > MAX_PNG_BYTES {
            return Err(SignError::Image(format!(
                "the PNG is {} bytes; at most {MAX_PNG_BYTES} are accepted",
                bytes.len()
            )));
        }
        let bad = |e: png::DecodingError| SignError::Image(format!("not a readable PNG: {e}"));
        let mut decoder = png::Decoder::new_with_limits(
            std::io::Cursor::new(bytes),
            png::Limits {
                bytes: (MAX_PIXELS * 4) as usize,
            },
        );
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(bad)?;
        let info = reader.info();
        let (width, height) = (info.width, info.height);
        if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(SignError::Image(format!(
                "image of {width}×{height} pixels is empty or too large"
            )));
        }
        let dpi = info.pixel_dims.and_then(|d| match d.unit {
            png::Unit::Meter if d.xppu > 0 && d.yppu > 0 => {
                Some((f64::from(d.xppu) * 0.0254, f64::from(d.yppu) * 0.0254))
            }
            _ => None,
        });
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| SignError::Image("image too large".into()))?;
        let mut buf = vec![0u8; size];
        let frame = reader.next_frame(&mut buf).map_err(bad)?;
        buf.truncate(frame.buffer_size());
        let (channels, has_alpha) = match frame.color_type {
            png::ColorType::Grayscale => (1usize, false),
            png::ColorType::GrayscaleAlpha => (2, true),
            png::ColorType::Rgb => (3, false),
            png::ColorType::Rgba => (4, true),
            png::ColorType::Indexed => {
                return Err(SignError::Image("palette image was not expanded".into()));
            }
        };
        let components = if channels >= 3 { 3u8 } else { 1 };
        let n = (width as usize) * (height as usize);
        if buf.len() < n * channels {
            return Err(SignError::Image("PNG data is truncated".into()));
        }
        let mut pixels = Vec::with_capacity(n * usize::from(components));
        let mut alpha = Vec::with_capacity(if has_alpha { n } else { 0 });
        for px in buf.chunks_exact(channels).take(n) {
            pixels.extend_from_slice(&px[..usize::from(components)]);
            if has_alpha {
                alpha.push(px[channels - 1]);
            }
        }
        let alpha = (has_alpha && alpha.iter().any(|&a| a != 255)).then_some(alpha);
        Ok(Self {
            width,
            height,
            components,
            pixels,
            alpha,
            dpi,
        })
    }

    /// Physical size in points, if the PNG says its resolution.
    pub(crate) fn natural_size(&self) -> Option<(f64, f64)> {
        self.dpi.map(|(dx, dy)| {
            (
                f64::from(self.width) * 72.0 / dx,
                f64::from(self.height) * 72.0 / dy,
            )
        })
    }

    /// Width / height.
    pub(crate) fn aspect(&self) -> f64 {
        f64::from(self.width) / f64::from(self.height)
    }

    /// Write the image XObject (and its soft mask).
    pub(crate) fn write(&self, update: &mut Update<'_, '_>) -> ObjRef {
        let mut dict = Dict::new()
            .with(b"Type", Object::name("XObject"))
            .with(b"Subtype", Object::name("Image"))
            .with(b"Width", Object::Int(i64::from(self.width)))
            .with(b"Height", Object::Int(i64::from(self.height)))
            .with(
                b"ColorSpace",
                Object::name(if self.components == 3 {
                    "DeviceRGB"
                } else {
                    "DeviceGray"
                }),
            )
            .with(b"BitsPerComponent", Object::Int(8))
            .with(b"Filter", Object::name("FlateDecode"));
        if let Some(alpha) = &self.alpha {
            let smask = update.add(Object::Stream(Stream {
                source: None,
                dict: Dict::new()
                    .with(b"Type", Object::name("XObject"))
                    .with(b"Subtype", Object::name("Image"))
                    .with(b"Width", Object::Int(i64::from(self.width)))
                    .with(b"Height", Object::Int(i64::from(self.height)))
                    .with(b"ColorSpace", Object::name("DeviceGray"))
                    .with(b"BitsPerComponent", Object::Int(8))
                    .with(b"Filter", Object::name("FlateDecode")),
                data: deflate(alpha),
            }));
            dict.set(b"SMask", Object::Ref(smask));
        }
        update.add(Object::Stream(Stream {
            source: None,
            dict,
            data: deflate(&self.pixels),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(Image::from_png(b"not a png").is_err());
        assert!(Image::from_png(&[0x89, b'P', b'N', b'G', 13, 10, 26, 10]).is_err());
    }
}
