//! The text a page shows, for placement and the archive's text index: each page of the
//! document's last revision (read by the verifier's parser, [`super::reader`]) is
//! interpreted by the one content-stream interpreter ([`crate::pdf::content`]), collecting
//! positioned glyphs decoded with each font's `/ToUnicode` CMap and widths.

use super::SignError;
use super::object::ObjRef;
use super::reader::{Document, error};
use crate::pdf::content::{End, Glyph, Interpreter, Sink};
use crate::pdf::objects::ObjRef as PdfRef;

/// Most glyphs collected per page.
const MAX_GLYPHS: usize = 1_000_000;

/// Extracts glyphs from pages of one document.
#[derive(Debug)]
pub(crate) struct Extractor<'d, 'a> {
    interpreter: Interpreter<'d, 'a>,
}

struct Glyphs(Vec<Glyph>);

impl Sink for Glyphs {
    fn glyph(&mut self, glyph: Glyph) {
        self.0.push(glyph);
    }

    fn full(&self) -> bool {
        self.0.len() > MAX_GLYPHS
    }
}

impl<'d, 'a> Extractor<'d, 'a> {
    pub(crate) fn new(doc: &'d Document<'a>) -> Self {
        Self {
            interpreter: Interpreter::new(doc.view(), true, true),
        }
    }

    /// Every glyph drawn on `page`.
    pub(crate) fn page_glyphs(&mut self, page: ObjRef) -> Result<Vec<Glyph>, SignError> {
        let page = PdfRef {
            num: page.num,
            generation: page.generation,
        };
        let mut sink = Glyphs(Vec::new());
        match self.interpreter.page(page, &mut sink).map_err(error)? {
            End::Complete => Ok(sink.0),
            End::Limit => Err(SignError::Limit(
                "page content has too many operations".into(),
            )),
        }
    }
}
