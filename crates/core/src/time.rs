//! Timestamps: microseconds since the Unix epoch, parsed liberally and formatted strictly.
//!
//! TAXII timestamps are emitted as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, UTC); STIX `created` and
//! `modified` use the same form, which satisfies "at least millisecond precision". Input is accepted in every
//! reasonable RFC 3339 form: any number of fraction digits (extra digits are truncated), `Z` or `z`, numeric
//! offsets (`+02:00`, `+0200`, `+02`), a space or `t` instead of `T` (a `+` decoded to a space by URL
//! decoding), and a bare date.

use std::fmt;

/// A point in time with microsecond precision (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Why a timestamp did not parse: shown to users verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

impl Timestamp {
    /// Microseconds since 1970-01-01T00:00:00Z.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp liberally (see the module doc).
    pub fn parse(input: &str) -> Result<Timestamp, TimeError> {
        Parser::new(input).timestamp()
    }

    /// The timestamp one microsecond later.
    pub fn next(self) -> Timestamp {
        Timestamp(self.0 + 1)
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub fn to_micros_string(self) -> String {
        let mut out = String::with_capacity(27);
        self.write_micros(&mut out);
        out
    }

    /// `YYYY-MM-DDTHH:MM:SS.fffZ`: what a client that truncates to milliseconds sends back.
    pub fn to_millis_string(self) -> String {
        let s = self.to_micros_string();
        format!("{}Z", &s[..23])
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` to `out` without allocating.
    pub fn write_micros(self, out: &mut String) {
        let secs = self.0.div_euclid(MICROS_PER_SEC);
        let micros = self.0.rem_euclid(MICROS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let mut buf = [0u8; 27];
        put(&mut buf[0..4], y.clamp(0, 9999) as u32);
        buf[4] = b'-';
        put(&mut buf[5..7], m);
        buf[7] = b'-';
        put(&mut buf[8..10], d);
        buf[10] = b'T';
        put(&mut buf[11..13], (sod / 3600) as u32);
        buf[13] = b':';
        put(&mut buf[14..16], ((sod / 60) % 60) as u32);
        buf[16] = b':';
        put(&mut buf[17..19], (sod % 60) as u32);
        buf[19] = b'.';
        put(&mut buf[20..26], micros as u32);
        buf[26] = b'Z';
        out.push_str(std::str::from_utf8(&buf).expect("ASCII digits"));
    }

    /// Builds a timestamp from calendar fields (UTC). Fields must already be in range.
    pub fn from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> Timestamp {
        let days = days_from_civil(y, mo, d);
        let secs = days * SECS_PER_DAY + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
        Timestamp(secs * MICROS_PER_SEC + i64::from(micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_micros_string())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_micros_string())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn put(dst: &mut [u8], mut v: u32) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

struct Parser<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        let trimmed = input.trim();
        Parser { input: trimmed, bytes: trimmed.as_bytes(), pos: 0 }
    }

    fn fail(&self, what: &str) -> TimeError {
        TimeError(format!(
            "'{}' is not a timestamp: {what} at character {}; use RFC 3339, e.g. 2025-01-31T12:00:00.000000Z",
            self.input.chars().take(64).collect::<String>(),
            self.pos + 1
        ))
    }

    fn digits(&mut self, n: usize, what: &str) -> Result<u32, TimeError> {
        let end = self.pos + n;
        if end > self.bytes.len() || !self.bytes[self.pos..end].iter().all(u8::is_ascii_digit) {
            return Err(self.fail(&format!("expected {n} digits of the {what}")));
        }
        let v = self.bytes[self.pos..end].iter().fold(0u32, |a, b| a * 10 + u32::from(b - b'0'));
        self.pos = end;
        Ok(v)
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), TimeError> {
        if self.bytes.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.fail(&format!("expected {what}")))
        }
    }

    fn timestamp(mut self) -> Result<Timestamp, TimeError> {
        let y = self.digits(4, "year")?;
        self.expect(b'-', "'-' after the year")?;
        let mo = self.digits(2, "month")?;
        self.expect(b'-', "'-' after the month")?;
        let d = self.digits(2, "day")?;
        if !(1..=12).contains(&mo) {
            return Err(self.fail("month out of range"));
        }
        if d == 0 || d > days_in_month(i64::from(y), mo) {
            return Err(self.fail("day out of range"));
        }
        if self.pos == self.bytes.len() {
            return Ok(Timestamp::from_civil(i64::from(y), mo, d, 0, 0, 0, 0));
        }
        match self.bytes[self.pos] {
            b'T' | b't' | b' ' => self.pos += 1,
            _ => return Err(self.fail("expected 'T' between date and time")),
        }
        let h = self.digits(2, "hour")?;
        self.expect(b':', "':' after the hour")?;
        let mi = self.digits(2, "minute")?;
        self.expect(b':', "':' after the minute")?;
        let s = self.digits(2, "second")?;
        if h > 23 || mi > 59 || s > 60 {
            return Err(self.fail("time out of range"));
        }
        let s = s.min(59); // a leap second is read as the second before it
        let micros = self.fraction()?;
        let offset = self.offset()?;
        if self.pos != self.bytes.len() {
            return Err(self.fail("unexpected text after the timestamp"));
        }
        let t = Timestamp::from_civil(i64::from(y), mo, d, h, mi, s, micros);
        Ok(Timestamp(t.0 - offset * MICROS_PER_SEC))
    }

    fn fraction(&mut self) -> Result<u32, TimeError> {
        if self.bytes.get(self.pos) != Some(&b'.') {
            return Ok(0);
        }
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.fail("expected digits after '.'"));
        }
        let mut micros = 0u32;
        for i in 0..6 {
            let digit = self.bytes.get(start + i).filter(|_| start + i < self.pos).map_or(0, |b| b - b'0');
            micros = micros * 10 + u32::from(digit);
        }
        Ok(micros)
    }

    /// The offset east of UTC in seconds.
    fn offset(&mut self) -> Result<i64, TimeError> {
        match self.bytes.get(self.pos) {
            None => Ok(0), // no zone: read as UTC
            Some(b'Z' | b'z') => {
                self.pos += 1;
                Ok(0)
            }
            // A space stands for a `+` that URL decoding turned into one.
            Some(&sign @ (b'+' | b'-' | b' ')) => {
                self.pos += 1;
                let h = self.digits(2, "offset hours")?;
                if self.bytes.get(self.pos) == Some(&b':') {
                    self.pos += 1;
                }
                let m = if self.pos < self.bytes.len() { self.digits(2, "offset minutes")? } else { 0 };
                if h > 23 || m > 59 {
                    return Err(self.fail("offset out of range"));
                }
                let secs = i64::from(h * 3600 + m * 60);
                Ok(if sign == b'-' { -secs } else { secs })
            }
            Some(_) => Err(self.fail("expected 'Z' or an offset such as +00:00")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        Timestamp::parse(s).unwrap().to_micros_string()
    }

    #[test]
    fn formats_round_trip() {
        for s in ["1970-01-01T00:00:00.000000Z", "2021-12-08T07:32:24.104143Z", "2000-02-29T23:59:59.999999Z"] {
            assert_eq!(p(s), s);
        }
    }

    #[test]
    fn accepts_liberal_forms() {
        assert_eq!(p("2021-12-08T09:32:24.104143+02:00"), "2021-12-08T07:32:24.104143Z");
        assert_eq!(p("2021-12-08T09:32:24+0200"), "2021-12-08T07:32:24.000000Z");
        assert_eq!(p("2021-12-08 07:32:24.1z"), "2021-12-08T07:32:24.100000Z");
        assert_eq!(p("2021-12-08T07:32:24.123456789Z"), "2021-12-08T07:32:24.123456Z");
        assert_eq!(p("2021-12-08t07:32:24Z"), "2021-12-08T07:32:24.000000Z");
        assert_eq!(p("2021-12-08"), "2021-12-08T00:00:00.000000Z");
        assert_eq!(p("2021-12-08T00:30:00-01:30"), "2021-12-08T02:00:00.000000Z");
        assert_eq!(p("2021-12-08T09:32:24 02:00"), "2021-12-08T07:32:24.000000Z");
        assert_eq!(p("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00.000000Z");
    }

    #[test]
    fn rejects_with_a_reason() {
        for bad in [
            "",
            "yesterday",
            "2021-13-01T00:00:00Z",
            "2021-02-30T00:00:00Z",
            "2021-12-08T25:00:00Z",
            "2021-12-08T00:00:00.Z",
            "2021-12-08T00:00:00Zjunk",
        ] {
            let e = Timestamp::parse(bad).unwrap_err();
            assert!(e.0.contains("is not a timestamp"), "{bad}: {e}");
        }
    }

    #[test]
    fn millis_truncates() {
        let t = Timestamp::parse("2021-12-08T07:32:24.104143Z").unwrap();
        assert_eq!(t.to_millis_string(), "2021-12-08T07:32:24.104Z");
    }
}
