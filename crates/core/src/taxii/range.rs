//! TAXII 2.0's paging header, `Range: items a-b` (zero-based, inclusive), also spelt `items=a-b`.

use super::error::TaxiiError;
use crate::text::shown;

/// A parsed `Range: items a-b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemRange {
    pub first: u64,
    pub last: u64,
}

/// Parses the Range header: `None` when absent; a 400 naming `Range` when malformed.
pub fn parse_range(header: Option<&str>) -> Result<Option<ItemRange>, TaxiiError> {
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else { return Ok(None) };
    let bad = || {
        let mut e = TaxiiError::new(
            400,
            "Invalid Range",
            format!("the Range header {:?} is not of the form items=0-99 (zero-based, inclusive)", shown(h)),
        );
        e.parameter = Some("Range".into());
        e
    };
    let rest = h.strip_prefix("items").ok_or_else(bad)?;
    let rest = rest.strip_prefix('=').or_else(|| rest.strip_prefix(' ')).ok_or_else(bad)?.trim();
    let (a, b) = rest.split_once('-').ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if last < first {
        return Err(bad());
    }
    Ok(Some(ItemRange { first, last }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_both_spellings() {
        assert_eq!(parse_range(Some("items=0-49")).unwrap(), Some(ItemRange { first: 0, last: 49 }));
        assert_eq!(parse_range(Some("items 10-19")).unwrap(), Some(ItemRange { first: 10, last: 19 }));
        assert_eq!(parse_range(None).unwrap(), None);
        for bad in ["items=5-2", "bytes=0-9", "items=a-b", "items=0", "items=-5"] {
            assert_eq!(parse_range(Some(bad)).unwrap_err().status, 400, "{bad}");
        }
    }
}
