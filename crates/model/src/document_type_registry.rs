//! The configurable list of document types: ND30 by default, plus what an agency adds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::document_type::DocumentType;
use crate::error::{ModelError, excerpt};
use crate::fold::{name_key, nfc};
use crate::notation::segment_problem;

/// Longest custom type abbreviation accepted, in characters (ND30's longest is 3).
const MAX_ABBREVIATION_CHARS: usize = 10;

/// Longest custom type name accepted, in characters (ND30 App. VI `TypeName`: 100).
const MAX_NAME_CHARS: usize = 100;

/// The document types an agency uses: the 32 of ND30 (always present) plus custom types
/// and alias names.
///
/// ND30 says nothing about, for example, "Lịch làm việc" (work schedule); agencies issue
/// it as a Thông báo or under a name of their own. Both are possible here:
///
/// ```
/// use kyso_model::{CustomDocumentType, DocumentType, DocumentTypeRegistry, Notation};
///
/// let mut registry = DocumentTypeRegistry::nd30();
/// // Either map the name to an ND30 type…
/// registry.add_alias("Lịch công tác", DocumentType::ThongBao)?;
/// // …or add a type with its own abbreviation.
/// registry.add_custom(CustomDocumentType::new("Lịch làm việc", Some("LLV"))?)?;
///
/// assert_eq!(
///     registry.by_name("lich cong tac").and_then(|t| t.standard()),
///     Some(DocumentType::ThongBao)
/// );
/// let notation = Notation::parse_with("07/LLV-UBND", &registry)?;
/// assert_eq!(notation.type_abbreviation(), Some("LLV"));
/// # Ok::<(), kyso_model::ModelError>(())
/// ```
///
/// Serde form (for configuration files): `{"custom": [{"name": "Lịch làm việc",
/// "abbreviation": "LLV"}], "aliases": [{"name": "Lịch công tác", "type": "thong_bao"}]}`;
/// the ND30 types are implied and never listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentTypeRegistry {
    custom: Vec<CustomDocumentType>,
    aliases: Vec<Alias>,
}

/// A document type that an agency adds to the ND30 list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomDocumentType {
    key: String,
    vietnamese_name: String,
    english_name: Option<String>,
    abbreviation: Option<String>,
}

/// A type found in a [`DocumentTypeRegistry`]: an ND30 type or a custom one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisteredType<'a> {
    /// One of the 32 ND30 types.
    Standard(DocumentType),
    /// A type the agency added.
    Custom(&'a CustomDocumentType),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Alias {
    name: String,
    key: String,
    target: DocumentType,
}

impl DocumentTypeRegistry {
    /// The ND30 list and nothing else (also [`Default`]).
    pub fn nd30() -> Self {
        Self::default()
    }

    /// Adds a custom type.
    ///
    /// Fails when its name (accent- and case-insensitively) or its abbreviation (exactly)
    /// is already in the registry: an abbreviation must select exactly one type, since it
    /// decides how a notation is read.
    pub fn add_custom(&mut self, custom: CustomDocumentType) -> Result<(), ModelError> {
        self.check_name_is_free(&custom.vietnamese_name, &custom.key)?;
        if let Some(abbreviation) = &custom.abbreviation
            && let Some(existing) = self.by_abbreviation(abbreviation)
        {
            return Err(ModelError::DuplicateTypeAbbreviation {
                abbreviation: abbreviation.clone(),
                existing: existing.vietnamese_name().to_owned(),
            });
        }
        self.custom.push(custom);
        Ok(())
    }

    /// Adds another name for an ND30 type, found by [`by_name`](Self::by_name).
    pub fn add_alias(&mut self, name: &str, target: DocumentType) -> Result<(), ModelError> {
        let name = checked_name(name)?;
        let key = name_key(&name);
        self.check_name_is_free(&name, &key)?;
        self.aliases.push(Alias { name, key, target });
        Ok(())
    }

    /// The type with exactly this abbreviation (case-sensitive).
    pub fn by_abbreviation(&self, abbreviation: &str) -> Option<RegisteredType<'_>> {
        self.iter()
            .find(|registered| registered.abbreviation() == Some(abbreviation))
    }

    /// The type with this name or alias, compared accent-, case- and spacing-insensitively.
    pub fn by_name(&self, name: &str) -> Option<RegisteredType<'_>> {
        let key = name_key(name);
        if key.is_empty() {
            return None;
        }
        self.by_key(&key).or_else(|| {
            self.aliases
                .iter()
                .find(|alias| alias.key == key)
                .map(|alias| RegisteredType::Standard(alias.target))
        })
    }

    /// The type with this key (exact; aliases have no key of their own).
    pub fn by_key(&self, key: &str) -> Option<RegisteredType<'_>> {
        self.iter().find(|registered| registered.key() == key)
    }

    /// Whether `segment` is the abbreviation of a registered type; this decides whether
    /// the first segment of a notation is a type or the issuer of a Công văn.
    pub fn is_type_abbreviation(&self, segment: &str) -> bool {
        self.by_abbreviation(segment).is_some()
    }

    /// Every registered type: the ND30 ones in ND30 order, then the custom ones in the
    /// order they were added.
    pub fn iter(&self) -> impl Iterator<Item = RegisteredType<'_>> {
        DocumentType::iter()
            .map(RegisteredType::Standard)
            .chain(self.custom.iter().map(RegisteredType::Custom))
    }

    /// The custom types, in the order they were added.
    pub fn custom_types(&self) -> &[CustomDocumentType] {
        &self.custom
    }

    /// The alias names and the ND30 type each stands for.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, DocumentType)> {
        self.aliases
            .iter()
            .map(|alias| (alias.name.as_str(), alias.target))
    }

    fn check_name_is_free(&self, name: &str, key: &str) -> Result<(), ModelError> {
        let clash = self
            .by_key(key)
            .map(|registered| registered.vietnamese_name().to_owned())
            .or_else(|| {
                self.aliases
                    .iter()
                    .find(|alias| alias.key == key)
                    .map(|alias| alias.name.clone())
            });
        match clash {
            Some(existing) => Err(ModelError::DuplicateTypeName {
                name: name.to_owned(),
                existing,
            }),
            None => Ok(()),
        }
    }
}

impl CustomDocumentType {
    /// A custom type with its Vietnamese name and, if it has one, the abbreviation used in
    /// notations.
    ///
    /// The name is NFC-normalised and trimmed; its key is the name folded to ASCII
    /// snake_case (`"Lịch làm việc"` → `"lich_lam_viec"`). The abbreviation must start
    /// with a letter, hold only letters and digits, and have at most 10 characters.
    pub fn new(vietnamese_name: &str, abbreviation: Option<&str>) -> Result<Self, ModelError> {
        let vietnamese_name = checked_name(vietnamese_name)?;
        let abbreviation = abbreviation.map(checked_abbreviation).transpose()?;
        Ok(Self {
            key: name_key(&vietnamese_name),
            vietnamese_name,
            english_name: None,
            abbreviation,
        })
    }

    /// Sets an English name (informative only).
    #[must_use]
    pub fn with_english_name(mut self, english_name: &str) -> Self {
        self.english_name = Some(nfc(english_name.trim()).into_owned());
        self
    }

    /// The stable key, derived from the name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The Vietnamese name, NFC.
    pub fn vietnamese_name(&self) -> &str {
        &self.vietnamese_name
    }

    /// The English name, if one was set.
    pub fn english_name(&self) -> Option<&str> {
        self.english_name.as_deref()
    }

    /// The abbreviation used in notations, if any.
    pub fn abbreviation(&self) -> Option<&str> {
        self.abbreviation.as_deref()
    }
}

impl<'a> RegisteredType<'a> {
    /// The stable key (`"quyet_dinh"`, `"lich_lam_viec"`).
    pub fn key(self) -> &'a str {
        match self {
            Self::Standard(standard) => standard.key(),
            Self::Custom(custom) => custom.key(),
        }
    }

    /// The Vietnamese name.
    pub fn vietnamese_name(self) -> &'a str {
        match self {
            Self::Standard(standard) => standard.vietnamese_name(),
            Self::Custom(custom) => custom.vietnamese_name(),
        }
    }

    /// The English name, when known.
    pub fn english_name(self) -> Option<&'a str> {
        match self {
            Self::Standard(standard) => Some(standard.english_name()),
            Self::Custom(custom) => custom.english_name(),
        }
    }

    /// The abbreviation used in notations, if any.
    pub fn abbreviation(self) -> Option<&'a str> {
        match self {
            Self::Standard(standard) => standard.abbreviation(),
            Self::Custom(custom) => custom.abbreviation(),
        }
    }

    /// The ND30 type, or `None` for a custom type.
    pub fn standard(self) -> Option<DocumentType> {
        match self {
            Self::Standard(standard) => Some(standard),
            Self::Custom(_) => None,
        }
    }
}

impl fmt::Display for RegisteredType<'_> {
    /// Writes the Vietnamese name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.vietnamese_name())
    }
}

fn checked_name(name: &str) -> Result<String, ModelError> {
    let name = nfc(name.trim()).into_owned();
    if name_key(&name).is_empty() {
        return Err(ModelError::InvalidTypeName {
            name: excerpt(&name),
            reason: "has no letters or digits",
        });
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ModelError::InvalidTypeName {
            name: excerpt(&name),
            reason: "is longer than 100 characters (ND30 App. VI TypeName)",
        });
    }
    if name.chars().any(char::is_control) {
        return Err(ModelError::InvalidTypeName {
            name: excerpt(&name),
            reason: "contains a control character",
        });
    }
    Ok(name)
}

fn checked_abbreviation(abbreviation: &str) -> Result<String, ModelError> {
    let abbreviation = nfc(abbreviation).into_owned();
    let refuse = |reason| ModelError::InvalidTypeAbbreviation {
        abbreviation: excerpt(&abbreviation),
        reason,
    };
    if let Some(reason) = segment_problem(&abbreviation) {
        return Err(refuse(reason));
    }
    if !abbreviation.chars().next().is_some_and(char::is_alphabetic) {
        return Err(refuse("must start with a letter"));
    }
    if !abbreviation.chars().all(char::is_alphanumeric) {
        return Err(refuse("may hold only letters and digits"));
    }
    if abbreviation.chars().count() > MAX_ABBREVIATION_CHARS {
        return Err(refuse("is longer than 10 characters"));
    }
    Ok(abbreviation)
}

// ----- serde: the configuration form -----

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomConfig {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    abbreviation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    english_name: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasConfig {
    name: String,
    #[serde(rename = "type")]
    target: DocumentType,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryConfig {
    #[serde(default)]
    custom: Vec<CustomConfig>,
    #[serde(default)]
    aliases: Vec<AliasConfig>,
}

impl From<&CustomDocumentType> for CustomConfig {
    fn from(custom: &CustomDocumentType) -> Self {
        Self {
            name: custom.vietnamese_name.clone(),
            abbreviation: custom.abbreviation.clone(),
            english_name: custom.english_name.clone(),
        }
    }
}

impl CustomConfig {
    fn into_custom(self) -> Result<CustomDocumentType, ModelError> {
        let custom = CustomDocumentType::new(&self.name, self.abbreviation.as_deref())?;
        Ok(match self.english_name {
            Some(english_name) => custom.with_english_name(&english_name),
            None => custom,
        })
    }
}

impl Serialize for CustomDocumentType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CustomConfig::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CustomDocumentType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CustomConfig::deserialize(deserializer)?
            .into_custom()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for DocumentTypeRegistry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RegistryConfig {
            custom: self.custom.iter().map(CustomConfig::from).collect(),
            aliases: self
                .aliases
                .iter()
                .map(|alias| AliasConfig {
                    name: alias.name.clone(),
                    target: alias.target,
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DocumentTypeRegistry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let config = RegistryConfig::deserialize(deserializer)?;
        let mut registry = Self::nd30();
        for custom in config.custom {
            let custom = custom.into_custom().map_err(serde::de::Error::custom)?;
            registry
                .add_custom(custom)
                .map_err(serde::de::Error::custom)?;
        }
        for alias in config.aliases {
            registry
                .add_alias(&alias.name, alias.target)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule_registry() -> DocumentTypeRegistry {
        let mut registry = DocumentTypeRegistry::nd30();
        registry
            .add_custom(
                CustomDocumentType::new("Lịch làm việc", Some("LLV"))
                    .unwrap()
                    .with_english_name("Work schedule"),
            )
            .unwrap();
        registry
            .add_alias("Lịch công tác", DocumentType::ThongBao)
            .unwrap();
        registry
    }

    #[test]
    fn nd30_registry_knows_all_32_types() {
        let registry = DocumentTypeRegistry::nd30();
        assert_eq!(registry.iter().count(), 32);
        for document_type in DocumentType::ALL {
            if let Some(abbreviation) = document_type.abbreviation() {
                assert_eq!(
                    registry.by_abbreviation(abbreviation),
                    Some(RegisteredType::Standard(document_type))
                );
            }
            assert_eq!(
                registry.by_name(document_type.vietnamese_name()),
                Some(RegisteredType::Standard(document_type))
            );
        }
        assert!(!registry.is_type_abbreviation("UBND"));
        assert!(registry.is_type_abbreviation("QyĐ"));
        assert!(!registry.is_type_abbreviation("QYĐ"));
    }

    #[test]
    fn custom_type_is_found_by_abbreviation_name_and_key() {
        let registry = schedule_registry();
        let found = registry.by_abbreviation("LLV").unwrap();
        assert_eq!(found.vietnamese_name(), "Lịch làm việc");
        assert_eq!(found.key(), "lich_lam_viec");
        assert_eq!(found.english_name(), Some("Work schedule"));
        assert_eq!(found.standard(), None);
        assert_eq!(registry.by_name("LICH LAM VIEC"), Some(found));
        assert_eq!(registry.by_key("lich_lam_viec"), Some(found));
        assert_eq!(registry.iter().count(), 33);
        assert_eq!(registry.custom_types().len(), 1);
        assert_eq!(found.to_string(), "Lịch làm việc");
    }

    #[test]
    fn alias_maps_a_name_to_an_nd30_type() {
        let registry = schedule_registry();
        assert_eq!(
            registry.by_name("lịch công tác"),
            Some(RegisteredType::Standard(DocumentType::ThongBao))
        );
        assert_eq!(
            registry.aliases().collect::<Vec<_>>(),
            [("Lịch công tác", DocumentType::ThongBao)]
        );
        // Aliases have no key of their own.
        assert_eq!(registry.by_key("lich_cong_tac"), None);
    }

    #[test]
    fn clashing_names_and_abbreviations_are_refused() {
        let mut registry = schedule_registry();
        let error = registry
            .add_custom(CustomDocumentType::new("Lịch trực", Some("QĐ")).unwrap())
            .unwrap_err();
        assert_eq!(
            error,
            ModelError::DuplicateTypeAbbreviation {
                abbreviation: "QĐ".into(),
                existing: "Quyết định".into()
            }
        );
        let error = registry
            .add_custom(CustomDocumentType::new("QUYET DINH", None).unwrap())
            .unwrap_err();
        assert!(matches!(error, ModelError::DuplicateTypeName { .. }));
        let error = registry
            .add_custom(CustomDocumentType::new("lich cong tac", Some("LCT")).unwrap())
            .unwrap_err();
        assert!(matches!(error, ModelError::DuplicateTypeName { .. }));
        let error = registry
            .add_alias("Lịch làm việc", DocumentType::ThongBao)
            .unwrap_err();
        assert!(matches!(error, ModelError::DuplicateTypeName { .. }));
        let error = registry
            .add_custom(CustomDocumentType::new("Lịch tuần", Some("LLV")).unwrap())
            .unwrap_err();
        assert!(matches!(
            error,
            ModelError::DuplicateTypeAbbreviation { .. }
        ));
        // An abbreviation differing only in case is a different abbreviation.
        registry
            .add_custom(CustomDocumentType::new("Lịch tuần", Some("Llv")).unwrap())
            .unwrap();
    }

    #[test]
    fn bad_custom_names_and_abbreviations_are_refused() {
        for name in ["", "   ", "—", &"a".repeat(101), "Lịch\u{0}"] {
            assert!(
                matches!(
                    CustomDocumentType::new(name, None),
                    Err(ModelError::InvalidTypeName { .. })
                ),
                "{name:?}"
            );
        }
        for abbreviation in ["", "L V", "L-V", "L/V", "1LV", "L.V", "ABCDEFGHIJK", "L,V"] {
            assert!(
                matches!(
                    CustomDocumentType::new("Lịch", Some(abbreviation)),
                    Err(ModelError::InvalidTypeAbbreviation { .. })
                ),
                "{abbreviation:?}"
            );
        }
        let custom = CustomDocumentType::new("  Lịch  ", Some("LĐ2")).unwrap();
        assert_eq!(custom.vietnamese_name(), "Lịch");
        assert_eq!(custom.abbreviation(), Some("LĐ2"));
    }

    #[test]
    fn serde_round_trips_the_configuration() {
        let registry = schedule_registry();
        let json = serde_json::to_string(&registry).unwrap();
        assert_eq!(
            json,
            r#"{"custom":[{"name":"Lịch làm việc","abbreviation":"LLV","english_name":"Work schedule"}],"aliases":[{"name":"Lịch công tác","type":"thong_bao"}]}"#
        );
        let back: DocumentTypeRegistry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, registry);
        let empty: DocumentTypeRegistry = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, DocumentTypeRegistry::nd30());
    }

    #[test]
    fn serde_refuses_invalid_configuration() {
        let clash = r#"{"custom":[{"name":"Lịch","abbreviation":"TB"}]}"#;
        let error = serde_json::from_str::<DocumentTypeRegistry>(clash).unwrap_err();
        assert!(error.to_string().contains("already used by"), "{error}");
        let unknown = r#"{"aliases":[{"name":"Lịch","type":"lich"}]}"#;
        assert!(serde_json::from_str::<DocumentTypeRegistry>(unknown).is_err());
        let typo = r#"{"custom":[{"nam":"Lịch"}]}"#;
        assert!(serde_json::from_str::<DocumentTypeRegistry>(typo).is_err());
    }
}
