//! The Cortex XSOAR indicator query language that defines each collection.
//!
//! First form: `field:value` terms (value quoted or bare), `and` / `or`, parentheses, and the empty query
//! (every indicator). Field names are case-insensitive; `type` is the XSOAR indicator type.

use crate::indicator::Indicator;
use serde_json::Value;
use std::fmt;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    All,
    Term { field: String, value: String },
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Colon,
    Open,
    Close,
}

impl Query {
    /// Parses a collection query.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let toks = tokenize(text)?;
        if toks.is_empty() {
            return Ok(Query::All);
        }
        let mut p = P { toks, i: 0 };
        let q = p.or()?;
        if p.i < p.toks.len() {
            return Err(p.err("expected 'and', 'or' or the end of the query"));
        }
        Ok(q)
    }

    /// Whether an indicator belongs to the collection.
    pub fn matches(&self, ind: &Indicator) -> bool {
        match self {
            Query::All => true,
            Query::And(a, b) => a.matches(ind) && b.matches(ind),
            Query::Or(a, b) => a.matches(ind) || b.matches(ind),
            Query::Term { field, value } => term_matches(ind, field, value),
        }
    }
}

fn term_matches(ind: &Indicator, field: &str, value: &str) -> bool {
    match field {
        "type" => ind.xsoar_type.eq_ignore_ascii_case(value),
        "value" => ind.value.eq_ignore_ascii_case(value),
        _ => match ind.field(field) {
            Some(Value::String(s)) => s.eq_ignore_ascii_case(value),
            Some(Value::Array(items)) => {
                items.iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(value)))
            }
            Some(Value::Number(n)) => n.to_string() == value,
            Some(Value::Bool(b)) => b.to_string().eq_ignore_ascii_case(value),
            _ => false,
        },
    }
}

struct P {
    toks: Vec<(usize, Tok)>,
    i: usize,
}

impl P {
    fn err(&self, message: &str) -> QueryError {
        let position = self.toks.get(self.i).map_or_else(|| self.toks.last().map_or(1, |t| t.0 + 1), |t| t.0);
        QueryError { position, message: message.to_string() }
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.i), Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.i += 1;
            left = Query::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut left = self.term()?;
        while self.keyword("and") {
            self.i += 1;
            left = Query::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Query, QueryError> {
        match self.toks.get(self.i).cloned() {
            Some((_, Tok::Open)) => {
                self.i += 1;
                let q = self.or()?;
                if !matches!(self.toks.get(self.i), Some((_, Tok::Close))) {
                    return Err(self.err("expected ')'"));
                }
                self.i += 1;
                Ok(q)
            }
            Some((_, Tok::Word(field))) => {
                self.i += 1;
                if !matches!(self.toks.get(self.i), Some((_, Tok::Colon))) {
                    return Err(self.err("expected ':' after the field name"));
                }
                self.i += 1;
                match self.toks.get(self.i).cloned() {
                    Some((_, Tok::Word(v) | Tok::Quoted(v))) => {
                        self.i += 1;
                        Ok(Query::Term { field: field.to_ascii_lowercase(), value: v })
                    }
                    _ => Err(self.err("expected a value after ':'")),
                }
            }
            _ => Err(self.err("expected a term such as type:IP or '('")),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            ':' => {
                out.push((pos, Tok::Colon));
                i += 1;
            }
            '(' => {
                out.push((pos, Tok::Open));
                i += 1;
            }
            ')' => {
                out.push((pos, Tok::Close));
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(QueryError { position: pos, message: "unterminated quoted value".into() }),
                        Some('"') => break,
                        Some('\\') if chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push((pos, Tok::Quoted(s)));
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], ':' | '(' | ')' | '"') {
                    i += 1;
                }
                out.push((pos, Tok::Word(chars[start..i].iter().collect())));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_xsoar_examples() {
        assert_eq!(Query::parse("").unwrap(), Query::All);
        assert_eq!(Query::parse("type:IP").unwrap(), Query::Term { field: "type".into(), value: "IP".into() });
        let q = Query::parse("type:SomeType and sourceBrands:\"Some Feed\"").unwrap();
        assert!(matches!(q, Query::And(..)));
    }

    #[test]
    fn reports_where_it_failed() {
        let e = Query::parse("type:IP and").unwrap_err();
        assert_eq!(e.message, "expected a term such as type:IP or '('");
        let e = Query::parse("type IP").unwrap_err();
        assert_eq!((e.position, e.message.as_str()), (6, "expected ':' after the field name"));
    }
}
