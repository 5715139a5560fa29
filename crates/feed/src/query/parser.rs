//! The query parser: characters in, a [`Query`] or a [`QueryError`] with a 1-based position out.
//!
//! Recursive descent over characters (no separate lexer: a value may contain `:` and `-`, as in
//! `value:https://a-b.example/*`, so what a character means depends on where it is).
//!
//! ```text
//! query   = [ or ] END
//! or      = and { "or" and }
//! and     = unary { [ "and" ] unary }          adjacency is AND
//! unary   = ( "not" | "-" ) unary | "(" or ")" | term
//! term    = field ":" [ ">" | ">=" | "<" | "<=" ] [ value | "(" value { [ "or" ] value } ")" ]
//! value   = '"' quoted '"' | bare                bare ends at whitespace or ")"
//! ```

use super::{DateValue, Field, GlobItem, Op, Pattern, Query, QueryError, Term, Test};
use edge_core::time::Timestamp;

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

const TERM_HINT: &str = "a term such as type:IP, 'not', '-' or '('";

pub(super) fn parse(text: &str) -> Result<Query, QueryError> {
    let mut p = Parser { chars: text.chars().collect(), i: 0, depth: 0 };
    p.skip_ws();
    if p.at_end() {
        return Ok(Query::All);
    }
    let q = p.or()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(q),
        Some(')') => Err(p.err_here("unexpected ')': there is no '(' for it to close")),
        Some(_) => Err(p.err_here(&format!("expected 'and', 'or' or the end of the query, found {}", p.found()))),
    }
}

/// A value as written: literal characters and wildcards, with where it starts.
struct RawValue {
    pos: usize,
    items: Vec<GlobItem>,
    quoted: bool,
}

impl RawValue {
    /// The text with wildcards written back as `*` and `?` (for dates, numbers and messages).
    fn text(&self) -> String {
        self.items
            .iter()
            .map(|i| match i {
                GlobItem::Char(c) => *c,
                GlobItem::Any => '*',
                GlobItem::One => '?',
            })
            .collect()
    }

    fn has_wildcards(&self) -> bool {
        self.items.iter().any(|i| !matches!(i, GlobItem::Char(_)))
    }

    fn shown(&self) -> String {
        if self.quoted {
            format!("\"{}\"", self.text())
        } else {
            format!("'{}'", self.text())
        }
    }
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.i >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn err_at(&self, index: usize, message: &str) -> QueryError {
        QueryError { position: index + 1, message: message.to_string() }
    }

    fn err_here(&self, message: &str) -> QueryError {
        self.err_at(self.i, message)
    }

    /// What is at the cursor, for "found …" in messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the query".into(),
            Some(_) => {
                let word: String =
                    self.chars[self.i..].iter().take_while(|c| !c.is_whitespace()).take(30).collect::<String>();
                format!("'{word}'")
            }
        }
    }

    /// The keyword at the cursor (`and`, `or`, `not`), if the word there is one and is not a field name.
    fn keyword(&self) -> Option<&'static str> {
        let end = (self.i..self.chars.len()).find(|&j| !self.chars[j].is_alphabetic()).unwrap_or(self.chars.len());
        let word: String = self.chars[self.i..end].iter().collect::<String>().to_ascii_lowercase();
        let kw = match word.as_str() {
            "and" => "and",
            "or" => "or",
            "not" => "not",
            _ => return None,
        };
        // A keyword ends at whitespace, a parenthesis, a quote, '-' or the end; "and:x" is a field.
        match self.chars.get(end) {
            None => Some(kw),
            Some(c) if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '-') => Some(kw),
            _ => None,
        }
    }

    fn take_keyword(&mut self, kw: &str) -> bool {
        if self.keyword() == Some(kw) {
            self.i += kw.len();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here(&format!("the query nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        loop {
            self.skip_ws();
            if !self.take_keyword("or") {
                break;
            }
            self.skip_ws();
            parts.push(self.unary_after("'or'")?);
            let last = parts.pop().expect("just pushed");
            parts.push(self.and_rest(last)?);
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Query::Or(parts) })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        self.skip_ws();
        let first = self.unary_after("")?;
        self.and_rest(first)
    }

    /// The rest of an AND chain after its first operand.
    fn and_rest(&mut self, first: Query) -> Result<Query, QueryError> {
        let mut parts = vec![first];
        loop {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') || self.keyword() == Some("or") {
                break;
            }
            if self.take_keyword("and") {
                self.skip_ws();
                parts.push(self.unary_after("'and'")?);
            } else {
                parts.push(self.unary()?);
            }
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Query::And(parts) })
    }

    /// A unary expression that must be there (after an operator, or at the start).
    fn unary_after(&mut self, after: &str) -> Result<Query, QueryError> {
        let missing = self.at_end() || self.peek() == Some(')') || matches!(self.keyword(), Some("and" | "or"));
        if missing {
            let after = if after.is_empty() { String::new() } else { format!(" after {after}") };
            return Err(self.err_here(&format!("expected {TERM_HINT}{after}, found {}", self.found())));
        }
        self.unary()
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        self.skip_ws();
        if self.take_keyword("not") {
            self.enter()?;
            self.skip_ws();
            let q = self.unary_after("'not'")?;
            self.depth -= 1;
            return Ok(negate(q));
        }
        match self.peek() {
            Some('-') => {
                self.i += 1;
                self.enter()?;
                self.skip_ws();
                let q = self.unary_after("'-'")?;
                self.depth -= 1;
                Ok(negate(q))
            }
            Some('(') => {
                let open = self.i;
                self.i += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(')') {
                    return Err(self.err_here("expected a query inside '( )', found ')'"));
                }
                let q = self.or()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.err_here(&format!(
                        "expected ')' to close the '(' at character {}, found {}",
                        open + 1,
                        self.found()
                    )));
                }
                self.i += 1;
                self.depth -= 1;
                Ok(q)
            }
            _ => self.term(),
        }
    }

    fn term(&mut self) -> Result<Query, QueryError> {
        let start = self.i;
        while self.peek().is_some_and(|c| !c.is_whitespace() && !matches!(c, ':' | '(' | ')' | '"')) {
            self.i += 1;
        }
        let name: String = self.chars[start..self.i].iter().collect();
        if name.is_empty() {
            return Err(match self.peek() {
                Some(':') => self.err_here("expected a field name before ':'"),
                Some('"') => match self.empty_term_before(self.i) {
                    Some(prev) => self.err_here(&format!(
                        "expected a field name: '{prev}:' followed by a space tests for an empty field; to match a \
                         value write {prev}:\"…\" without the space"
                    )),
                    None => self.err_here(
                        "expected a field name: free-text search is not supported, write value:\"…\" to match the value",
                    ),
                },
                _ => self.err_here(&format!("expected {TERM_HINT}, found {}", self.found())),
            });
        }
        if self.peek() != Some(':') {
            let ws = self.i;
            self.skip_ws();
            let message = if self.peek() == Some(':') {
                format!("expected ':' directly after the field name '{name}', without a space")
            } else if let Some(prev) = self.empty_term_before(start) {
                format!(
                    "expected ':' after the field name '{name}', found {}: '{prev}:' followed by a space tests for \
                     an empty field; to match a value write {prev}:{name} without the space",
                    self.found()
                )
            } else {
                format!(
                    "expected ':' after the field name '{name}', found {} (free-text search is not supported: \
                     write value:{name} to match the value)",
                    self.found()
                )
            };
            return Err(self.err_at(if self.peek() == Some(':') { ws } else { self.i }, &message));
        }
        self.i += 1;
        let field = field_named(&name);
        let op = self.op();
        // A list of values: field:(a b "c").
        if self.peek() == Some('(') {
            if op != Op::Eq {
                return Err(self.err_here(&format!(
                    "expected one value after '{}': a comparison takes a single number or date",
                    op_text(op)
                )));
            }
            return self.list(&name, &field);
        }
        let value = self.value()?;
        if value.is_none() && op != Op::Eq && self.peek().is_some_and(char::is_whitespace) {
            return Err(self
                .err_here(&format!("expected a number or a date directly after '{}', without a space", op_text(op))));
        }
        if value.is_none() && op != Op::Eq {
            return Err(self.err_here(&format!(
                "expected a number or a date after '{}', found {}",
                op_text(op),
                self.found()
            )));
        }
        Ok(Query::Term(Term { test: test_for(&name, &field, op, value)?, field }))
    }

    /// The field name of an empty-value term (`tags:`) that ends, followed by spaces, right before `at`.
    fn empty_term_before(&self, at: usize) -> Option<String> {
        let mut j = at;
        while j > 0 && self.chars[j - 1].is_whitespace() {
            j -= 1;
        }
        if j == at || j == 0 || self.chars[j - 1] != ':' {
            return None;
        }
        let colon = j - 1;
        let mut k = colon;
        while k > 0 && !self.chars[k - 1].is_whitespace() && !matches!(self.chars[k - 1], '(' | ')' | '"' | ':' | '-') {
            k -= 1;
        }
        (k < colon).then(|| self.chars[k..colon].iter().collect())
    }

    fn list(&mut self, name: &str, field: &Field) -> Result<Query, QueryError> {
        let open = self.i;
        self.i += 1;
        let mut parts = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(self.err_here(&format!(
                        "expected ')' to close the list of values opened at character {}, found the end of the query",
                        open + 1
                    )))
                }
                Some(')') => {
                    if parts.is_empty() {
                        return Err(self.err_here(&format!("expected a value in the list after '{name}:('")));
                    }
                    self.i += 1;
                    break;
                }
                Some('(') => return Err(self.err_here("expected a value: lists of values do not nest")),
                _ => {}
            }
            if !parts.is_empty() && self.take_keyword("or") {
                continue;
            }
            let value = self.value()?.expect("a value starts here");
            parts.push(Query::Term(Term { test: test_for(name, field, Op::Eq, Some(value))?, field: field.clone() }));
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Query::Or(parts) })
    }

    fn op(&mut self) -> Op {
        let (op, len) = match (self.peek(), self.chars.get(self.i + 1)) {
            (Some('>'), Some('=')) => (Op::Ge, 2),
            (Some('<'), Some('=')) => (Op::Le, 2),
            (Some('>'), _) => (Op::Gt, 1),
            (Some('<'), _) => (Op::Lt, 1),
            _ => (Op::Eq, 0),
        };
        self.i += len;
        op
    }

    /// A value at the cursor, or `None` when there is none (whitespace, `)` or the end follows the `:`).
    fn value(&mut self) -> Result<Option<RawValue>, QueryError> {
        let pos = self.i;
        match self.peek() {
            None | Some(')') => Ok(None),
            Some(c) if c.is_whitespace() => Ok(None),
            Some('"') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        None => return Err(self.err_at(
                            pos,
                            "this quoted value is never closed: add the closing '\"' (write \\\" for a quote inside)",
                        )),
                        Some('"') => {
                            self.i += 1;
                            break;
                        }
                        Some('\\') => match self.chars.get(self.i + 1) {
                            Some(&c @ ('"' | '\\' | '*' | '?')) => {
                                items.push(GlobItem::Char(c));
                                self.i += 2;
                            }
                            _ => {
                                items.push(GlobItem::Char('\\'));
                                self.i += 1;
                            }
                        },
                        Some(c) => {
                            items.push(glob_item(c));
                            self.i += 1;
                        }
                    }
                }
                Ok(Some(RawValue { pos, items, quoted: true }))
            }
            Some(_) => {
                let mut items = Vec::new();
                while let Some(c) = self.peek() {
                    if c.is_whitespace() || c == ')' {
                        break;
                    }
                    if c == '\\' {
                        match self.chars.get(self.i + 1) {
                            Some(&n) if n.is_whitespace() || matches!(n, '"' | '\\' | '*' | '?' | '(' | ')') => {
                                items.push(GlobItem::Char(n));
                                self.i += 2;
                                continue;
                            }
                            _ => {}
                        }
                        items.push(GlobItem::Char('\\'));
                    } else {
                        items.push(glob_item(c));
                    }
                    self.i += 1;
                }
                Ok(Some(RawValue { pos, items, quoted: false }))
            }
        }
    }
}

fn glob_item(c: char) -> GlobItem {
    match c {
        '*' => GlobItem::Any,
        '?' => GlobItem::One,
        c => GlobItem::Char(c),
    }
}

fn negate(q: Query) -> Query {
    match q {
        Query::Not(inner) => *inner,
        q => Query::Not(Box::new(q)),
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => ":",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
    }
}

/// The field a name refers to (names are case-insensitive).
fn field_named(name: &str) -> Field {
    let lower = name.to_ascii_lowercase(); // as the importers lower-case field names
    let lower = lower.strip_prefix("customfields.").map(str::to_string).unwrap_or(lower);
    match lower.as_str() {
        "type" | "indicator_type" | "indicatortype" => Field::Type,
        "value" => Field::Value,
        "score" | "reputation" => Field::Score,
        "tags" => Field::Tags,
        "firstseen" | "timestamp" | "created" => Field::Created,
        "modified" => Field::Modified,
        "expiration" => Field::Expiration,
        "lastseen" => Field::LastSeen,
        "expirationstatus" => Field::ExpirationStatus,
        _ => Field::Other(lower),
    }
}

enum Kind {
    Text,
    Score,
    Date,
    Any,
}

fn kind(field: &Field) -> Kind {
    match field {
        Field::Type | Field::Value | Field::Tags | Field::ExpirationStatus => Kind::Text,
        Field::Score => Kind::Score,
        Field::Created | Field::Modified | Field::Expiration | Field::LastSeen => Kind::Date,
        Field::Other(_) => Kind::Any,
    }
}

/// Builds the test of one term, checking that the value suits the field.
fn test_for(name: &str, field: &Field, op: Op, value: Option<RawValue>) -> Result<Test, QueryError> {
    let Some(value) = value else { return Ok(Test::Empty) };
    let err = |message: String| QueryError { position: value.pos + 1, message };
    if value.items.is_empty() {
        if op != Op::Eq {
            return Err(err(format!("expected a number or a date after '{}', found \"\"", op_text(op))));
        }
        return Ok(Test::Empty);
    }
    if op == Op::Eq && value.items == [GlobItem::Any] {
        return Ok(Test::Present);
    }
    let text = value.text();
    match (kind(field), op) {
        (Kind::Text, Op::Eq) | (Kind::Any, Op::Eq) => Ok(Test::Text(pattern(&value))),
        (Kind::Text, _) => Err(err(format!(
            "'{}' compares numbers and dates, but {name} is text: write {name}:{} to match it",
            op_text(op),
            value.shown().trim_matches('\'')
        ))),
        (Kind::Score, _) => {
            if value.has_wildcards() {
                return Err(err(format!("{} is not a score: {SCORE_HINT}", value.shown())));
            }
            crate::import::score_named(&text)
                .map(|s| Test::Number(op, f64::from(s)))
                .ok_or_else(|| err(format!("{} is not a score: {SCORE_HINT}", value.shown())))
        }
        (Kind::Date, _) => {
            let date = if value.has_wildcards() { None } else { date_value(&text) };
            match date {
                Some(DateValue::FromNow(_)) if op == Op::Eq => Err(err(format!(
                    "a relative date needs a comparison, e.g. {name}:>={}",
                    value.shown().trim_matches('\'')
                ))),
                Some(d) => Ok(Test::Date(op, d)),
                None => Err(err(format!("{} is not a date: {DATE_HINT}", value.shown()))),
            }
        }
        (Kind::Any, _) => {
            if let Some(n) = number(&text) {
                Ok(Test::Number(op, n))
            } else if let Some(d) = date_value(&text) {
                Ok(Test::Date(op, d))
            } else {
                Err(err(format!(
                    "expected a number or a date after '{}', found {}: {DATE_HINT}",
                    op_text(op),
                    value.shown()
                )))
            }
        }
    }
}

const SCORE_HINT: &str = "use 0–3 or Unknown, Good, Suspicious, Bad (None is Unknown)";
const DATE_HINT: &str =
    "use a date such as 2025-01-31 or 2025-01-31T12:00:00Z, or a relative one such as now-7d or \"7 days ago\"";

fn pattern(value: &RawValue) -> Pattern {
    if value.has_wildcards() {
        let mut items: Vec<GlobItem> = Vec::with_capacity(value.items.len());
        for item in &value.items {
            match item {
                GlobItem::Char(c) => items.extend(c.to_lowercase().map(GlobItem::Char)),
                GlobItem::Any if items.last() == Some(&GlobItem::Any) => {}
                other => items.push(*other),
            }
        }
        Pattern::Glob(items)
    } else {
        Pattern::Literal(value.text().to_lowercase())
    }
}

/// A finite decimal number (no `inf`, `nan`).
pub(super) fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    let first = t.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

const MICROS_PER_SEC: i64 = 1_000_000;

/// A date operand: RFC 3339, a bare day, `now±N<unit>`, or `N <units> ago`.
fn date_value(text: &str) -> Option<DateValue> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("now") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Some(DateValue::FromNow(0));
        }
        let (sign, amount) = match (rest.strip_prefix('-'), rest.strip_prefix('+')) {
            (Some(a), _) => (-1, a.trim()),
            (_, Some(a)) => (1, a.trim()),
            _ => return None,
        };
        let unit_at = amount.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = amount.split_at(unit_at);
        return Some(DateValue::FromNow(sign * amount_micros(n, unit)?));
    }
    if let Some(rest) = lower.strip_suffix("ago") {
        let mut words = rest.split_whitespace();
        let (n, unit) = (words.next()?, words.next()?);
        if words.next().is_some() {
            return None;
        }
        return Some(DateValue::FromNow(-amount_micros(n, unit)?));
    }
    let ts = Timestamp::parse(t).ok()?;
    Some(if t.len() == 10 { DateValue::Day(ts) } else { DateValue::At(ts) })
}

fn amount_micros(n: &str, unit: &str) -> Option<i64> {
    let n: i64 = n.parse().ok()?;
    let secs = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(secs)?.checked_mul(MICROS_PER_SEC)
}
