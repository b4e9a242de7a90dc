//! Dates and Vietnam times, in kyso's JSON (ISO 8601) and edXML (`yyyy/MM/dd`,
//! `yyyy/MM/dd HH:mm:ss`) forms.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Vietnam's offset, UTC+07:00 (no daylight saving).
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// A time in Vietnam time (UTC+07:00), to the second, as edXML and Decision 28/2018 Art
/// 14.4 use them.
///
/// JSON: `"2025-03-01T08:30:00+07:00"` (ISO 8601). edXML: `2025/03/01 08:30:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VnDateTime(PrimitiveDateTime);

impl VnDateTime {
    /// The Vietnam wall-clock time of an instant (sub-seconds dropped).
    pub fn from_offset(instant: OffsetDateTime) -> Self {
        let local = instant.to_offset(VIETNAM);
        let time = local.time();
        let seconds =
            Time::from_hms(time.hour(), time.minute(), time.second()).unwrap_or(Time::MIDNIGHT);
        Self(PrimitiveDateTime::new(local.date(), seconds))
    }

    /// A Vietnam wall-clock time (sub-seconds dropped).
    pub fn from_local(local: PrimitiveDateTime) -> Self {
        Self::from_offset(local.assume_offset(VIETNAM))
    }

    /// The wall-clock time in Vietnam.
    pub fn local(self) -> PrimitiveDateTime {
        self.0
    }

    /// The instant.
    pub fn instant(self) -> OffsetDateTime {
        self.0.assume_offset(VIETNAM)
    }

    /// The edXML form `yyyy/MM/dd HH:mm:ss`.
    pub fn edxml(self) -> String {
        format!("{} {}", edxml_date(self.0.date()), clock(self.0.time()))
    }

    /// Reads the edXML form `yyyy/MM/dd HH:mm:ss`, and tolerantly `dd/MM/yyyy
    /// HH:mm:ss`, ISO 8601 with `T`, with or without an offset (converted to Vietnam
    /// time; none means Vietnam time), and a bare date (midnight).
    pub fn parse_edxml(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(iso) = parse_iso(text) {
            return Some(iso);
        }
        let (date, rest) = match text.split_once([' ', 'T']) {
            Some((date, rest)) => (date, Some(rest)),
            None => (text, None),
        };
        let date = parse_edxml_date(date)?;
        let time = match rest {
            Some(rest) => parse_clock(rest.trim())?,
            None => Time::MIDNIGHT,
        };
        Some(Self(PrimitiveDateTime::new(date, time)))
    }

    /// The JSON form, `yyyy-MM-ddTHH:mm:ss+07:00`.
    pub fn iso(self) -> String {
        format!("{}T{}+07:00", iso_date(self.0.date()), clock(self.0.time()))
    }

    /// Reads exactly the JSON form `yyyy-MM-ddTHH:mm:ss+07:00`.
    pub fn parse_iso_strict(text: &str) -> Option<Self> {
        let rest = text.strip_suffix("+07:00")?;
        let (date, time) = rest.split_once('T')?;
        let value = Self(PrimitiveDateTime::new(
            parse_iso_date(date)?,
            parse_clock(time)?,
        ));
        (value.iso() == text).then_some(value)
    }
}

impl fmt::Display for VnDateTime {
    /// The JSON (ISO 8601) form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl Serialize for VnDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.iso())
    }
}

impl<'de> Deserialize<'de> for VnDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_iso_strict(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a Vietnam time yyyy-MM-ddTHH:mm:ss+07:00"
            ))
        })
    }
}

fn clock(time: Time) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// `yyyy-MM-dd`.
pub(crate) fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `yyyy/MM/dd`.
pub(crate) fn edxml_date(date: Date) -> String {
    format!(
        "{:04}/{:02}/{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn number(text: &str, digits: usize) -> Option<u16> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn ymd(year: u16, month: u16, day: u16) -> Option<Date> {
    if year < 1000 {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()
}

fn parse_iso_date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    ymd(number(year, 4)?, number(month, 2)?, number(day, 2)?)
}

/// Reads a date: `yyyy/MM/dd` (emitted), and tolerantly `dd/MM/yyyy`, `yyyy-MM-dd`,
/// with one-digit days and months accepted in the slash forms.
pub(crate) fn parse_edxml_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Some(date) = parse_iso_date(text) {
        return Some(date);
    }
    let parts: Vec<&str> = text.split('/').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let short = |t: &str| {
        (1..=2).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_digit())
            && t.parse::<u16>().is_ok()
    };
    if a.len() == 4 && short(b) && short(c) {
        ymd(number(a, 4)?, b.parse().ok()?, c.parse().ok()?)
    } else if c.len() == 4 && short(a) && short(b) {
        ymd(number(c, 4)?, b.parse().ok()?, a.parse().ok()?)
    } else {
        None
    }
}

/// A date, or the date part of a date-time (`yyyy/MM/dd HH:mm:ss`).
pub(crate) fn parse_edxml_date_lenient(text: &str) -> Option<Date> {
    let text = text.trim();
    parse_edxml_date(text).or_else(|| VnDateTime::parse_edxml(text).map(|t| t.local().date()))
}

fn parse_clock(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let hour = number(parts.next()?, 2)?;
    let minute = number(parts.next()?, 2)?;
    let second = match parts.next() {
        // Fractions of a second are dropped.
        Some(s) => number(s.split('.').next()?, 2)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()
}

/// ISO 8601 with `T` and an offset (`Z`, `+hh:mm`); converted to Vietnam time.
fn parse_iso(text: &str) -> Option<VnDateTime> {
    let (date, rest) = text.split_once('T')?;
    let date = parse_iso_date(date)?;
    let (clock_text, offset) = if let Some(clock_text) = rest.strip_suffix('Z') {
        (clock_text, UtcOffset::UTC)
    } else if rest.len() > 6 && matches!(rest.as_bytes()[rest.len() - 6], b'+' | b'-') {
        let (clock_text, offset) = rest.split_at(rest.len() - 6);
        let sign: i8 = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..].split_once(':')?;
        let hours = i8::try_from(number(hours, 2)?).ok()?;
        let minutes = i8::try_from(number(minutes, 2)?).ok()?;
        (
            clock_text,
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?,
        )
    } else {
        (rest, VIETNAM)
    };
    let local = PrimitiveDateTime::new(date, parse_clock(clock_text)?);
    Some(VnDateTime::from_offset(local.assume_offset(offset)))
}

/// Serde for `Date` as `yyyy-MM-dd` (strict on input).
pub(crate) mod json_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub(crate) fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::iso_date(*date))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_iso_date(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a date yyyy-MM-dd")))
    }
}

/// Serde for `Option<Date>` as `yyyy-MM-dd` or `null`.
pub(crate) mod json_date_option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub(crate) fn serialize<S: Serializer>(
        date: &Option<Date>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => serializer.serialize_str(&super::iso_date(*date)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|text| {
            super::parse_iso_date(&text).ok_or_else(|| {
                serde::de::Error::custom(format!("{text:?} is not a date yyyy-MM-dd"))
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn forms() {
        let t = VnDateTime::from_local(datetime!(2025-03-01 08:30:05));
        assert_eq!(t.edxml(), "2025/03/01 08:30:05");
        assert_eq!(t.iso(), "2025-03-01T08:30:05+07:00");
        assert_eq!(VnDateTime::parse_edxml("2025/03/01 08:30:05"), Some(t));
        assert_eq!(VnDateTime::parse_edxml("01/03/2025 08:30:05"), Some(t));
        assert_eq!(VnDateTime::parse_edxml("2025-03-01T01:30:05Z"), Some(t));
        assert_eq!(
            VnDateTime::parse_edxml("2025-03-01T08:30:05+07:00"),
            Some(t)
        );
        assert_eq!(VnDateTime::parse_edxml("2025-03-01T08:30:05"), Some(t));
        assert_eq!(
            VnDateTime::parse_iso_strict("2025-03-01T08:30:05+07:00"),
            Some(t)
        );
        assert_eq!(VnDateTime::parse_iso_strict("2025-03-01T01:30:05Z"), None);
        assert_eq!(VnDateTime::parse_edxml("2025/13/01 08:30:05"), None);
        assert_eq!(VnDateTime::parse_edxml("2025/03/01 24:30:05"), None);
        assert_eq!(
            VnDateTime::from_offset(datetime!(2025-03-01 01:30:05.75 UTC)),
            t
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_edxml_date("2025/03/01"), Some(date!(2025 - 03 - 01)));
        assert_eq!(parse_edxml_date("01/03/2025"), Some(date!(2025 - 03 - 01)));
        assert_eq!(parse_edxml_date("1/3/2025"), Some(date!(2025 - 03 - 01)));
        assert_eq!(parse_edxml_date("2025-03-01"), Some(date!(2025 - 03 - 01)));
        assert_eq!(parse_edxml_date("2025/02/30"), None);
        assert_eq!(parse_edxml_date("25/03/01"), None);
        assert_eq!(
            parse_edxml_date_lenient("2025/03/01 17:00:00"),
            Some(date!(2025 - 03 - 01))
        );
        assert_eq!(edxml_date(date!(2025 - 03 - 01)), "2025/03/01");
    }
}
