//! Durations as operators write them (`30m`, `24h`, `7d`): the retention window of `publish --keep`, `prune
//! --keep` and the admin API's pointer switch.

/// Microseconds in a second: timestamps and durations are micros.
pub const MICROS_PER_SEC: i64 = 1_000_000;

/// A duration text that [`parse_duration`] cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration: write a number and a unit, e.g. 30m, 24h, 7d (s, m, h, d, w)")]
pub struct DurationError {
    /// The text as given.
    pub text: String,
}

/// Parses a duration: a number with a unit `s`, `m`, `h`, `d` or `w` (`90m`, `24h`, `7d`), or `0`. Micros.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let t = text.trim();
    if t == "0" {
        return Ok(0);
    }
    let bad = || DurationError { text: text.to_string() };
    let unit = t.chars().last().ok_or_else(bad)?;
    let secs: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(bad()),
    };
    let n: i64 = t[..t.len() - 1].trim().parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(secs).and_then(|s| s.checked_mul(MICROS_PER_SEC)).ok_or_else(bad)
}

/// A duration in micros for people: `1d 2h`, `45m`, `0s`.
pub fn show_duration(micros: i64) -> String {
    let mut s = micros / MICROS_PER_SEC;
    let mut out = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push(format!("{}{unit}", s / size));
            s %= size;
        }
    }
    if out.is_empty() {
        "0s".into()
    } else {
        out.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * MICROS_PER_SEC;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(24 * H));
        assert_eq!(parse_duration("90m"), Ok(90 * 60 * MICROS_PER_SEC));
        assert_eq!(parse_duration(" 7d "), Ok(7 * 24 * H));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1w"), Ok(7 * 24 * H));
        for bad in ["", "h", "24", "24x", "-1h", "1.5h", "99999999999999999999d"] {
            let e = parse_duration(bad).unwrap_err().to_string();
            assert!(e.contains("is not a duration: write a number and a unit"), "{bad}: {e}");
        }
        assert_eq!(show_duration(26 * H + 60 * MICROS_PER_SEC), "1d 2h 1m");
        assert_eq!(show_duration(0), "0s");
    }
}
