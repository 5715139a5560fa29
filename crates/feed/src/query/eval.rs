//! Evaluating a parsed [`Query`] against one [`Indicator`], without allocating on the common paths
//! (a build evaluates every collection's query against every indicator).

use super::{DateValue, Field, GlobItem, Op, Pattern, Query, Term, Test};
use crate::indicator::Indicator;
use edge_core::time::Timestamp;
use serde_json::Value;

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

pub(super) fn matches(q: &Query, ind: &Indicator, now: Timestamp) -> bool {
    match q {
        Query::All => true,
        Query::Term(t) => term(t, ind, now),
        Query::Not(q) => !matches(q, ind, now),
        Query::And(qs) => qs.iter().all(|q| matches(q, ind, now)),
        Query::Or(qs) => qs.iter().any(|q| matches(q, ind, now)),
    }
}

fn term(t: &Term, ind: &Indicator, now: Timestamp) -> bool {
    match &t.field {
        Field::Type => text(&t.test, &ind.xsoar_type),
        Field::Value => text(&t.test, &ind.value),
        Field::Tags => match &t.test {
            Test::Empty => ind.tags.is_empty(),
            Test::Present => !ind.tags.is_empty(),
            test => ind.tags.iter().any(|tag| text(test, tag)),
        },
        Field::Score => match t.test {
            Test::Empty => ind.score == 0,
            Test::Present => true,
            Test::Number(op, n) => compare(op, f64::from(ind.score), n),
            _ => false,
        },
        Field::Created => date(&t.test, Some(ind.created), now),
        Field::Modified => date(&t.test, Some(ind.modified), now),
        Field::Expiration => date(&t.test, ind.expiration, now),
        Field::LastSeen => {
            let seen = match ind.field("lastseen") {
                Some(Value::String(s)) => parse_time(s),
                _ => None,
            };
            date(&t.test, seen, now)
        }
        Field::ExpirationStatus => match ind.field("expirationstatus") {
            Some(v) if !is_empty(v) => value(&t.test, v, now),
            _ => {
                let expired = ind.expiration.is_some_and(|e| e <= now);
                text(&t.test, if expired { "expired" } else { "active" })
            }
        },
        Field::Other(name) => match lookup(ind, name) {
            Some(v) => value(&t.test, v, now),
            None => t.test == Test::Empty,
        },
    }
}

/// A field by lower-cased name, else by its XSOAR CLI name (letters and digits only).
fn lookup<'a>(ind: &'a Indicator, name: &str) -> Option<&'a Value> {
    ind.fields.get(name).or_else(|| {
        if name.chars().all(|c| c.is_alphanumeric()) {
            None
        } else {
            ind.fields.get(&crate::import::cli_name(name))
        }
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn text(test: &Test, s: &str) -> bool {
    match test {
        Test::Empty => s.trim().is_empty(),
        Test::Present => !s.trim().is_empty(),
        Test::Text(p) => p.matches(s),
        Test::Number(op, n) => super::parser::number(s).is_some_and(|v| compare(*op, v, *n)),
        Test::Date(..) => false,
    }
}

/// A test on a JSON field value; a list matches when any element does.
fn value(test: &Test, v: &Value, now: Timestamp) -> bool {
    match test {
        Test::Empty => return is_empty(v),
        Test::Present => return !is_empty(v),
        _ => {}
    }
    match v {
        Value::Array(items) => items.iter().any(|item| value(test, item, now)),
        Value::String(s) => match test {
            Test::Date(..) => date(test, parse_time(s), now),
            _ => text(test, s),
        },
        Value::Number(n) => match test {
            Test::Text(Pattern::Literal(l)) => {
                let as_num = super::parser::number(l);
                match (as_num, n.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => l == &n.to_string(),
                }
            }
            Test::Text(p) => p.matches(&n.to_string()),
            Test::Number(op, x) => n.as_f64().is_some_and(|v| compare(*op, v, *x)),
            _ => false,
        },
        Value::Bool(b) => matches!(test, Test::Text(p) if p.matches(if *b { "true" } else { "false" })),
        Value::Null | Value::Object(_) => false,
    }
}

/// XSOAR timestamps in fields; the zero time and empty strings mean "not set".
fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0001-01-01") {
        return None;
    }
    Timestamp::parse(s).ok()
}

fn date(test: &Test, t: Option<Timestamp>, now: Timestamp) -> bool {
    match (test, t) {
        (Test::Empty, t) => t.is_none(),
        (Test::Present, t) => t.is_some(),
        (Test::Date(op, d), Some(t)) => {
            // The operand is the half-open range [lo, hi): one instant, or a whole day.
            let (lo, hi) = match *d {
                DateValue::At(x) => (x.0, x.0 + 1),
                DateValue::Day(x) => (x.0, x.0 + MICROS_PER_DAY),
                DateValue::FromNow(off) => (now.0 + off, now.0 + off + 1),
            };
            match op {
                Op::Eq => lo <= t.0 && t.0 < hi,
                Op::Gt => t.0 >= hi,
                Op::Ge => t.0 >= lo,
                Op::Lt => t.0 < lo,
                Op::Le => t.0 < hi,
            }
        }
        _ => false,
    }
}

fn compare(op: Op, v: f64, n: f64) -> bool {
    match op {
        Op::Eq => v == n,
        Op::Gt => v > n,
        Op::Ge => v >= n,
        Op::Lt => v < n,
        Op::Le => v <= n,
    }
}

impl Pattern {
    /// Whether `s` matches, ignoring case.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Literal(l) => {
                if s.is_ascii() && l.is_ascii() {
                    s.eq_ignore_ascii_case(l)
                } else {
                    s.chars().flat_map(char::to_lowercase).eq(l.chars())
                }
            }
            Pattern::Glob(items) => {
                if s.is_ascii() {
                    let b = s.as_bytes();
                    glob(items, b.len(), |i| char::from(b[i].to_ascii_lowercase()))
                } else {
                    let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
                    glob(items, chars.len(), |i| chars[i])
                }
            }
        }
    }
}

/// Wildcard matching with single-star backtracking: linear in practice, never exponential.
fn glob(pat: &[GlobItem], n: usize, at: impl Fn(usize) -> char) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < n {
        match pat.get(p) {
            Some(GlobItem::One) => {
                p += 1;
                t += 1;
            }
            Some(GlobItem::Char(c)) if *c == at(t) => {
                p += 1;
                t += 1;
            }
            Some(GlobItem::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|i| *i == GlobItem::Any)
}
