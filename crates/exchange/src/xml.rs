//! A small element tree read from untrusted XML with quick-xml's namespace-aware reader,
//! under limits; and the writer's escaping.
//!
//! Refused: a DOCTYPE (so no entity is ever declared), entity references other than the
//! five predefined ones and character references, an encoding other than UTF-8,
//! undeclared prefixes, more than one root, elements deeper than the limit or more of
//! them than the limit. Comments and processing instructions are skipped.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::error::{ExchangeError, Limit, excerpt};
use crate::limits::Limits;

/// The QCVN 102:2016 namespace.
pub const EDXML_NS: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// An element's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    /// Unqualified (no default namespace in scope).
    None,
    /// Bound to this URI.
    Uri(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) ns: Ns,
    pub(crate) name: String,
    /// Attributes by local name (prefixes dropped), in document order.
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
    pub(crate) offset: u64,
}

impl Element {
    /// Whether the element is in the edXML namespace, or unqualified (tolerated).
    pub(crate) fn is_edxml(&self) -> bool {
        match &self.ns {
            Ns::None => true,
            Ns::Uri(uri) => uri == EDXML_NS,
        }
    }

    pub(crate) fn ns_text(&self) -> &str {
        match &self.ns {
            Ns::None => "",
            Ns::Uri(uri) => uri,
        }
    }

    pub(crate) fn attribute(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(name, _)| name == local)
            .map(|(_, value)| value.as_str())
    }
}

fn xml_error(offset: u64, error: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::Xml {
        offset,
        message: excerpt(&error.to_string()),
    }
}

/// Parses `bytes` into the root element.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<Element, ExchangeError> {
    if bytes.len() > limits.max_xml_bytes {
        return Err(ExchangeError::LimitExceeded {
            what: Limit::XmlBytes,
            limit: limits.max_xml_bytes as u64,
            found: bytes.len() as u64,
            offset: None,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|error| ExchangeError::InvalidUtf8 {
        what: "edXML",
        offset: error.valid_up_to() as u64,
    })?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let bom = (bytes.len() - text.len()) as u64;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let offset = bom + reader.buffer_position();
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((resolved, event)) => (resolve(resolved), event),
            Err(error) => return Err(xml_error(bom + reader.error_position(), error)),
        };
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = encoding.to_ascii_lowercase();
                    if encoding != "utf-8" && encoding != "utf8" {
                        return Err(xml_error(
                            offset,
                            format!("encoding {encoding:?} is not supported (only UTF-8)"),
                        ));
                    }
                }
            }
            Event::DocType(_) => return Err(ExchangeError::Doctype { offset }),
            Event::Start(start) => {
                if root.is_some() {
                    return Err(xml_error(offset, "content after the root element"));
                }
                elements += 1;
                if elements > limits.max_xml_elements {
                    return Err(ExchangeError::LimitExceeded {
                        what: Limit::XmlElements,
                        limit: limits.max_xml_elements as u64,
                        found: elements as u64,
                        offset: Some(offset),
                    });
                }
                if stack.len() + 1 > limits.max_xml_depth {
                    return Err(ExchangeError::LimitExceeded {
                        what: Limit::XmlDepth,
                        limit: limits.max_xml_depth as u64,
                        found: stack.len() as u64 + 1,
                        offset: Some(offset),
                    });
                }
                let ns = resolved.map_err(|prefix| {
                    xml_error(offset, format!("undeclared namespace prefix {prefix:?}"))
                })?;
                stack.push(element(&start, ns, offset)?);
            }
            Event::End(_) => {
                // check_end_names guarantees a matching start.
                let Some(done) = stack.pop() else {
                    return Err(xml_error(offset, "end tag without a start tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                append(&mut stack, &content, offset)?;
            }
            Event::CData(data) => {
                let content = data.xml10_content();
                append(&mut stack, &content, offset)?;
            }
            Event::GeneralRef(reference) => {
                let name = reference.xml10_content();
                let resolved: String = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(character)) if xml_char(character) => character.to_string(),
                        _ => {
                            return Err(xml_error(
                                offset,
                                format!("invalid character reference &{};", excerpt(&name)),
                            ));
                        }
                    }
                } else if let Some(value) = resolve_predefined_entity(&name) {
                    value.to_owned()
                } else {
                    return Err(ExchangeError::UnknownEntity {
                        offset,
                        name: excerpt(&name),
                    });
                };
                append(&mut stack, &resolved, offset)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
                return Err(xml_error(offset, "unexpected empty element event"));
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(xml_error(
            bom + reader.buffer_position(),
            "unexpected end of input: an element is not closed",
        ));
    }
    root.ok_or_else(|| xml_error(0, "no root element"))
}

fn resolve(resolved: ResolveResult<'_>) -> Result<Ns, String> {
    match resolved {
        ResolveResult::Unbound => Ok(Ns::None),
        ResolveResult::Bound(ns) => Ok(Ns::Uri(ns.into_inner().to_owned())),
        ResolveResult::Unknown(prefix) => Err(prefix),
    }
}

fn element(start: &BytesStart<'_>, ns: Ns, offset: u64) -> Result<Element, ExchangeError> {
    let name = start.local_name();
    let name = name.into_inner().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| xml_error(offset, error))?;
        let key = attribute.key.local_name();
        let key = key.into_inner().to_owned();
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|error| xml_error(offset, error))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        ns,
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
        offset,
    })
}

fn append(stack: &mut [Element], text: &str, offset: u64) -> Result<(), ExchangeError> {
    match stack.last_mut() {
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.chars().all(is_xml_space) => Ok(()),
        None => Err(xml_error(offset, "text outside the root element")),
    }
}

fn is_xml_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\r')
}

/// XML 1.0 `Char`.
fn xml_char(character: char) -> bool {
    matches!(character, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&character)
        || ('\u{E000}'..='\u{FFFD}').contains(&character)
        || character >= '\u{10000}'
}

/// Escapes text content: `&`, `<`, `>`, and `\r` as a character reference so it
/// survives XML line-end normalisation.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Element, ExchangeError> {
        parse(text.as_bytes(), &Limits::default())
    }

    #[test]
    fn tree_text_and_namespaces() {
        let root = parse_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<e:a xmlns:e=\"urn:x\"><b k=\"v&amp;\">x &lt; y&#233;<![CDATA[<z>]]></b><!-- c --></e:a>",
        )
        .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.ns, Ns::Uri("urn:x".into()));
        assert_eq!(root.children[0].ns, Ns::None);
        assert_eq!(root.children[0].text, "x < yé<z>");
        assert_eq!(root.children[0].attribute("k"), Some("v&"));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse_str("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"),
            Err(ExchangeError::Doctype { .. })
        ));
        assert!(matches!(
            parse_str("<a>&x;</a>"),
            Err(ExchangeError::UnknownEntity { .. })
        ));
        assert!(matches!(
            parse_str("<a>&#0;</a>"),
            Err(ExchangeError::Xml { .. })
        ));
        assert!(matches!(
            parse_str("<p:a/>"),
            Err(ExchangeError::Xml { .. })
        ));
        assert!(matches!(
            parse_str("<a><b></a>"),
            Err(ExchangeError::Xml { .. })
        ));
        assert!(matches!(parse_str("<a>"), Err(ExchangeError::Xml { .. })));
        assert!(matches!(
            parse_str("<a/><b/>"),
            Err(ExchangeError::Xml { .. })
        ));
        assert!(matches!(parse_str(""), Err(ExchangeError::Xml { .. })));
        assert!(matches!(
            parse_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
            Err(ExchangeError::Xml { .. })
        ));
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(matches!(
            parse_str(&deep),
            Err(ExchangeError::LimitExceeded {
                what: Limit::XmlDepth,
                ..
            })
        ));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a&b<c>d\re"), "a&amp;b&lt;c&gt;d&#13;e");
    }
}
