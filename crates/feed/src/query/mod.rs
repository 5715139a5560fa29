//! The Cortex XSOAR indicator query language that defines each collection.
//!
//! A query is parsed once ([`Query::parse`]) and evaluated per indicator ([`Query::matches_at`]). The syntax,
//! as XSOAR users write it on the Threat Intel page:
//!
//! | form | meaning |
//! |---|---|
//! | `` (empty) | every indicator |
//! | `type:IP` | field equals value (case-insensitive), see the fields below |
//! | `sourceBrands:"Some Feed"` | quoted value; `\"` and `\\` escape, other backslashes are kept (`"HKLM\Run"`) |
//! | `value:a\ b`, `value:HKLM\Run` | a bare value ends at a space or `)`; `\ ` `\(` `\)` `\"` `\\` escape, other backslashes are kept |
//! | `value:*.example.com`, `value:10.0.0.?` | wildcards: `*` any run of characters, `?` one; `\*` `\?` are literal |
//! | `tags:apt28` | on a list field, any element matches |
//! | `value:("a" "b" c)` | any of the listed values (`or` between them is allowed) |
//! | `score:>=2`, `score:>Suspicious`, `modified:>="2025-01-01"` | comparisons `>` `>=` `<` `<=` on numbers and dates |
//! | `modified:>=now-7d`, `modified:>="7 days ago"` | relative dates, against the `now` given to [`Query::matches_at`] |
//! | `a and b`, `a b` | both; adjacent terms are joined by AND, as in XSOAR |
//! | `a or b` | either; AND binds tighter than OR: `a or b c` is `a or (b and c)` |
//! | `not a`, `-a`, `-(a or b)` | negation |
//! | `( … )` | grouping |
//! | `tags:` or `tags:""` | the field is missing or empty (no tags); `-tags:` means it has a value |
//! | `tags:*` | the field has a value |
//!
//! Keywords `and`, `or`, `not` and field names are case-insensitive; string matching is case-insensitive.
//!
//! Fields: `type` (alias `indicator_type`), `value`, `score`/`reputation` (0–3 or Unknown/None=0, Good=1,
//! Suspicious=2, Bad=3), `tags`, `firstSeen`/`timestamp`/`created` (the indicator's created time), `modified`,
//! `expiration`, `lastSeen`, `expirationStatus` (the exported field; when absent, `active` or `expired` from
//! `expiration` and `now`), and any other field by name: a top-level XSOAR field or a custom field (looked up by
//! lower-cased name, then by its XSOAR CLI name: lower-case letters and digits only, so `Threat_Actor` finds
//! `threatactor`). `sourceBrands`, `sourceInstances` and custom fields are such fields.
//!
//! Dates: `2025-01-31`, `2025-01-31T12:00:00Z` (any RFC 3339 form), `now`, `now-7d`, `now+1h` (units `s`, `m`,
//! `h`, `d`, `w`), or `"N seconds|minutes|hours|days|weeks ago"`. A bare date is the whole UTC day:
//! `modified:2025-01-31` matches that day, `<=2025-01-31` includes it, `>2025-01-31` starts the day after.
//! XSOAR's zero time (`0001-01-01…`) and empty strings read as "not set". A comparison on a field that is
//! missing, or does not hold a number or a date, is false (and its negation true). On a field other than the
//! date fields above, `:` compares text (`published:2025-03*`); compare dates there with `>`, `>=`, `<`, `<=`.

mod eval;
mod parser;

use crate::indicator::Indicator;
use edge_core::time::Timestamp;
use std::fmt;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// The empty query: every indicator.
    All,
    /// One `field:value` test.
    Term(Term),
    /// `not q` or `-q`.
    Not(Box<Query>),
    /// Every part matches (explicit `and` or adjacent terms).
    And(Vec<Query>),
    /// Some part matches.
    Or(Vec<Query>),
}

/// A `field:value` test.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub field: Field,
    pub test: Test,
}

/// The field a term tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// The XSOAR indicator type.
    Type,
    Value,
    /// The DBot score (`score` or `reputation`).
    Score,
    Tags,
    /// `firstSeen`, `timestamp` or `created`: [`Indicator::created`].
    Created,
    Modified,
    Expiration,
    /// The `lastseen` field, as a date.
    LastSeen,
    /// The `expirationstatus` field, or `active`/`expired` from the expiration.
    ExpirationStatus,
    /// Any other field, by lower-cased name.
    Other(String),
}

/// What a term checks of its field.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// `field:` — missing, null, empty string or empty list.
    Empty,
    /// `field:*` — has a non-empty value.
    Present,
    /// `field:value`, with wildcards; any element of a list field.
    Text(Pattern),
    /// A number: `score:Bad`, `score:>=2`, `count:>10`.
    Number(Op, f64),
    /// A date: `modified:>="2025-01-01"`, `firstSeen:2025-01-31`.
    Date(Op, DateValue),
}

/// A comparison operator; `Eq` is the plain `:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A date operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateValue {
    /// An instant.
    At(Timestamp),
    /// A whole UTC day (`2025-01-31`), starting at the given midnight.
    Day(Timestamp),
    /// `now` plus this many microseconds (negative: in the past).
    FromNow(i64),
}

/// A string pattern, lower-cased at parse time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// No wildcards: equality, ignoring case.
    Literal(String),
    /// With `*` or `?`.
    Glob(Vec<GlobItem>),
}

/// One element of a wildcard pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobItem {
    Char(char),
    /// `*`
    Any,
    /// `?`
    One,
}

/// A query that does not parse: where and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based character position in the query.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for QueryError {}

impl Query {
    /// Parses a collection query (see the module doc for the syntax).
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        parser::parse(text)
    }

    /// Whether an indicator belongs to the collection, with relative dates and the derived
    /// `expirationStatus` evaluated against `now`. A build passes its own `now` so that every collection
    /// sees the same instant.
    pub fn matches_at(&self, ind: &Indicator, now: Timestamp) -> bool {
        eval::matches(self, ind, now)
    }

    /// Whether an indicator belongs to the collection, evaluated against the current time.
    pub fn matches(&self, ind: &Indicator) -> bool {
        self.matches_at(ind, if self.uses_now() { clock_now() } else { Timestamp(0) })
    }

    /// Whether the result depends on the time of evaluation (relative dates, or a derived
    /// `expirationStatus`).
    pub fn uses_now(&self) -> bool {
        match self {
            Query::All => false,
            Query::Term(t) => {
                matches!(t.test, Test::Date(_, DateValue::FromNow(_))) || t.field == Field::ExpirationStatus
            }
            Query::Not(q) => q.uses_now(),
            Query::And(qs) | Query::Or(qs) => qs.iter().any(Query::uses_now),
        }
    }
}

fn clock_now() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(d.as_micros() as i64)
}

#[cfg(test)]
mod tests;
