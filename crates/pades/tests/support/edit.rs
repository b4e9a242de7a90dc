//! Crafting incremental updates by appending bytes, as an attacker would: new or
//! replaced objects, a cross-reference table or stream (or none), a trailer chained to
//! the previous one, copied from it, or made up. Objects of the current revision are
//! read with lopdf (trusted test input) and written back with [`ser`].

#![allow(dead_code)]

use lopdf::{Dictionary, Object, ObjectId};

/// What the previous revision's trailer says.
#[derive(Debug, Clone)]
pub(crate) struct Trailer {
    /// Its `startxref` offset.
    pub(crate) prev: usize,
    pub(crate) root: String,
    pub(crate) info: Option<String>,
    pub(crate) size: u32,
    pub(crate) id: Option<String>,
    /// The previous section is an xref stream.
    pub(crate) stream: bool,
    /// The raw dictionary text (for "copied trailer" attacks).
    pub(crate) raw: String,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn value_after(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start();
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        return Some(rest[..=end].to_string());
    }
    let toks: Vec<&str> = rest.split_whitespace().take(3).collect();
    if toks.len() == 3 && toks[2].starts_with('R') {
        return Some(format!("{} {} R", toks[0], toks[1]));
    }
    Some(
        toks.first()?
            .trim_end_matches(">>")
            .trim_end_matches('/')
            .to_string(),
    )
}

pub(crate) fn trailer(pdf: &[u8]) -> Trailer {
    let sx = rfind(pdf, b"startxref").unwrap();
    let num: String = String::from_utf8_lossy(&pdf[sx + 9..])
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let prev: usize = num.parse().unwrap();
    let (raw, stream) = if pdf[prev..].starts_with(b"xref") {
        let t = prev + find(&pdf[prev..], b"trailer").unwrap() + 7;
        let e = t + find(&pdf[t..], b"startxref").unwrap();
        (
            String::from_utf8_lossy(&pdf[t..e]).trim().to_string(),
            false,
        )
    } else {
        let e = prev + find(&pdf[prev..], b"stream").unwrap();
        let d = prev + find(&pdf[prev..], b"<<").unwrap();
        (String::from_utf8_lossy(&pdf[d..e]).trim().to_string(), true)
    };
    Trailer {
        prev,
        root: value_after(&raw, "/Root").unwrap(),
        info: value_after(&raw, "/Info"),
        size: value_after(&raw, "/Size").unwrap().parse().unwrap(),
        id: value_after(&raw, "/ID"),
        stream,
        raw,
    }
}

/// How the update's cross-reference section is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Like the previous section.
    Auto,
    Table,
    Stream,
    /// Objects only: no cross-reference section, no trailer, no startxref.
    Nothing,
}

/// What trailer the update gets.
#[derive(Debug, Clone)]
pub(crate) enum TrailerMode {
    /// The previous trailer's /Root /Info /ID with /Prev and a larger /Size.
    Chained,
    /// The previous trailer's text verbatim (no /Prev to the previous revision).
    Copied,
    /// This dictionary body (without << >>).
    Custom(String),
}

/// An update to append.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub(crate) objects: Vec<(u32, String)>,
    /// Cross-reference entries pointing at arbitrary offsets (shadow attacks).
    pub(crate) redirects: Vec<(u32, usize)>,
    /// Objects to mark free.
    pub(crate) freed: Vec<u32>,
    pub(crate) form: Form,
    pub(crate) trailer: TrailerMode,
    /// Override the trailer's /Root.
    pub(crate) root: Option<String>,
}

impl Update {
    pub(crate) fn new(objects: Vec<(u32, String)>) -> Self {
        Self {
            objects,
            redirects: Vec::new(),
            freed: Vec::new(),
            form: Form::Auto,
            trailer: TrailerMode::Chained,
            root: None,
        }
    }
}

/// Append `objects` with a chained trailer.
pub(crate) fn append(base: &[u8], objects: Vec<(u32, String)>) -> Vec<u8> {
    apply(base, &Update::new(objects))
}

pub(crate) fn apply(base: &[u8], u: &Update) -> Vec<u8> {
    let t = trailer(base);
    let mut out = base.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut entries: Vec<(u32, Option<usize>)> = Vec::new();
    for (num, body) in &u.objects {
        entries.push((*num, Some(out.len())));
        out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    for (num, off) in &u.redirects {
        entries.push((*num, Some(*off)));
    }
    for num in &u.freed {
        entries.push((*num, None));
    }
    if u.form == Form::Nothing {
        return out;
    }
    let max = entries.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let stream = match u.form {
        Form::Auto => t.stream,
        Form::Stream => true,
        _ => false,
    };
    let xref_num = t.size.max(max + 1);
    let size = if stream {
        xref_num + 1
    } else {
        t.size.max(max + 1)
    };
    let root = u.root.clone().unwrap_or(t.root.clone());
    let mut dict = match &u.trailer {
        TrailerMode::Chained => {
            let mut d = format!("/Size {size} /Root {root} /Prev {}", t.prev);
            if let Some(i) = &t.info {
                d.push_str(&format!(" /Info {i}"));
            }
            if let Some(id) = &t.id {
                d.push_str(&format!(" /ID {id}"));
            }
            d
        }
        TrailerMode::Copied => {
            let raw = t.raw.trim();
            raw.trim_start_matches("<<")
                .trim_end_matches(">>")
                .to_string()
        }
        TrailerMode::Custom(s) => s.clone(),
    };
    entries.sort_by_key(|(n, _)| *n);
    let xref_at = out.len();
    if stream {
        entries.push((xref_num, Some(xref_at)));
        entries.sort_by_key(|(n, _)| *n);
        let mut data = Vec::new();
        let mut index = String::new();
        for (n, off) in &entries {
            index.push_str(&format!("{n} 1 "));
            match off {
                Some(o) => {
                    data.push(1u8);
                    data.extend_from_slice(&(*o as u32).to_be_bytes());
                    data.extend_from_slice(&0u16.to_be_bytes());
                }
                None => {
                    data.push(0u8);
                    data.extend_from_slice(&0u32.to_be_bytes());
                    data.extend_from_slice(&0u16.to_be_bytes());
                }
            }
        }
        if matches!(u.trailer, TrailerMode::Copied) {
            // Strip the copied stream dictionary's own stream keys.
            for key in [
                "/Type",
                "/W",
                "/Index",
                "/Length",
                "/Filter",
                "/DecodeParms",
            ] {
                if let Some(at) = dict.find(key) {
                    let end = dict[at + key.len()..]
                        .find('/')
                        .map_or(dict.len(), |e| at + key.len() + e);
                    let end = if key == "/W" || key == "/Index" || key == "/DecodeParms" {
                        dict[at..].find([']', '>']).map_or(end, |e| at + e + 1)
                    } else {
                        end
                    };
                    dict.replace_range(at..end, "");
                }
            }
        }
        out.extend_from_slice(
            format!(
                "{xref_num} 0 obj\n<< /Type /XRef {dict} /W [1 4 2] /Index [{index}] /Length {} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\nendstream\nendobj\n");
    } else {
        out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
        for (n, off) in &entries {
            match off {
                Some(o) => out.extend_from_slice(format!("{n} 1\n{o:010} 00000 n \n").as_bytes()),
                None => out.extend_from_slice(format!("{n} 1\n0000000000 00001 f \n").as_bytes()),
            }
        }
        out.extend_from_slice(format!("trailer\n<< {dict} >>\n").as_bytes());
    }
    out.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
    out
}

/// A stream object body.
pub(crate) fn stream(extra: &str, data: &str) -> String {
    format!(
        "<< {extra} /Length {} >>\nstream\n{data}\nendstream",
        data.len()
    )
}

// ---------------------------------------------------------------------------------
// Reading the current revision (lopdf) and writing objects back
// ---------------------------------------------------------------------------------

pub(crate) fn doc(pdf: &[u8]) -> lopdf::Document {
    lopdf::Document::load_mem(pdf).unwrap()
}

pub(crate) fn ser(o: &Object) -> String {
    match o {
        Object::Null => "null".into(),
        Object::Boolean(b) => b.to_string(),
        Object::Integer(i) => i.to_string(),
        Object::Real(r) => format!("{r}"),
        Object::Name(n) => name(n),
        Object::String(s, _) => format!(
            "<{}>",
            s.iter().map(|b| format!("{b:02X}")).collect::<String>()
        ),
        Object::Array(a) => format!("[{}]", a.iter().map(ser).collect::<Vec<_>>().join(" ")),
        Object::Dictionary(d) => ser_dict(d),
        Object::Stream(s) => ser_dict(&s.dict),
        Object::Reference((n, g)) => format!("{n} {g} R"),
    }
}

fn name(n: &[u8]) -> String {
    let mut s = String::from("/");
    for b in n {
        if b.is_ascii_alphanumeric() || b"-_.+*".contains(b) {
            s.push(char::from(*b));
        } else {
            s.push_str(&format!("#{b:02X}"));
        }
    }
    s
}

pub(crate) fn ser_dict(d: &Dictionary) -> String {
    let mut s = String::from("<<");
    for (k, v) in d.iter() {
        s.push_str(&format!(" {} {}", name(k), ser(v)));
    }
    s.push_str(" >>");
    s
}

pub(crate) fn catalog(pdf: &[u8]) -> (u32, Dictionary) {
    let d = doc(pdf);
    let (n, _) = d.trailer.get(b"Root").unwrap().as_reference().unwrap();
    (n, d.get_dictionary((n, 0)).unwrap().clone())
}

pub(crate) fn page1(pdf: &[u8]) -> (u32, Dictionary) {
    let d = doc(pdf);
    let id: ObjectId = *d.get_pages().get(&1).unwrap();
    (id.0, d.get_dictionary(id).unwrap().clone())
}

pub(crate) fn object(pdf: &[u8], num: u32) -> Object {
    doc(pdf).get_object((num, 0)).unwrap().clone()
}

/// The next free object number.
pub(crate) fn next_num(pdf: &[u8]) -> u32 {
    trailer(pdf).size
}

/// The reference of the first font in page 1's resources, and its name.
pub(crate) fn page_font(pdf: &[u8]) -> (String, u32) {
    let d = doc(pdf);
    let id: ObjectId = *d.get_pages().get(&1).unwrap();
    let page = d.get_dictionary(id).unwrap();
    let res = match page.get(b"Resources").unwrap() {
        Object::Reference(r) => d.get_dictionary(*r).unwrap().clone(),
        Object::Dictionary(r) => r.clone(),
        _ => panic!("no resources"),
    };
    let fonts = match res.get(b"Font").unwrap() {
        Object::Reference(r) => d.get_dictionary(*r).unwrap().clone(),
        Object::Dictionary(f) => f.clone(),
        _ => panic!("no fonts"),
    };
    let (name, v) = fonts.iter().next().unwrap();
    (
        String::from_utf8_lossy(name).into_owned(),
        v.as_reference().unwrap().0,
    )
}

/// Page 1's content stream object number (first one).
pub(crate) fn page_content(pdf: &[u8]) -> u32 {
    let (_, page) = page1(pdf);
    match page.get(b"Contents").unwrap() {
        Object::Reference(r) => r.0,
        Object::Array(a) => a[0].as_reference().unwrap().0,
        _ => panic!("no contents"),
    }
}

/// Where "N 0 obj" last starts in the file.
pub(crate) fn offset_of(pdf: &[u8], num: u32) -> usize {
    rfind(pdf, format!("\n{num} 0 obj").as_bytes()).unwrap() + 1
}

/// The ByteRange of the last signature in the file.
pub(crate) fn last_byte_range(pdf: &[u8]) -> [usize; 4] {
    let at = rfind(pdf, b"/ByteRange").unwrap();
    let text = String::from_utf8_lossy(&pdf[at..at + 120]).into_owned();
    let inner = &text[text.find('[').unwrap() + 1..text.find(']').unwrap()];
    let v: Vec<usize> = inner
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    [v[0], v[1], v[2], v[3]]
}
