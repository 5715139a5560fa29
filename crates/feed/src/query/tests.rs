//! Unit tests of the query grammar, each operator and each error message.

use super::*;
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const NOW: &str = "2025-06-15T12:00:00Z";

fn ind() -> Indicator {
    let mut fields = crate::indicator::Fields::new();
    fields.insert("sourcebrands".into(), json!(["Some Feed", "AlienVault OTX"]));
    fields.insert("sourceinstances".into(), json!(["Some Feed_instance_1"]));
    fields.insert("expirationstatus".into(), json!("active"));
    fields.insert("lastseen".into(), json!("2025-06-10T08:00:00Z"));
    fields.insert("firstseen".into(), json!("0001-01-01T00:00:00Z"));
    fields.insert("confidence".into(), json!(75));
    fields.insert("ratio".into(), json!("0.5"));
    fields.insert("published".into(), json!("2025-03-01T00:00:00Z"));
    fields.insert("ismalwarefamily".into(), json!(true));
    fields.insert("threatactor".into(), json!("Fancy Bear"));
    fields.insert("description".into(), json!(""));
    fields.insert("tags".into(), json!(["APT28", "phishing"]));
    Indicator {
        value: "login.Example.com".into(),
        xsoar_type: "Domain".into(),
        score: 3,
        tags: vec!["APT28".into(), "phishing".into()],
        created: ts("2025-01-31T10:00:00Z"),
        modified: ts("2025-06-14T12:00:00Z"),
        expiration: Some(ts("2025-07-01T00:00:00Z")),
        fields,
        relationships: vec![],
        origin: "test".into(),
    }
}

fn m(q: &str) -> bool {
    Query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).matches_at(&ind(), ts(NOW))
}

fn err(q: &str) -> (usize, String) {
    let e = Query::parse(q).expect_err(q);
    (e.position, e.message)
}

#[test]
fn empty_query_is_everything() {
    assert_eq!(Query::parse("").unwrap(), Query::All);
    assert_eq!(Query::parse("   ").unwrap(), Query::All);
    assert!(m(""));
}

#[test]
fn parses_the_xsoar_examples() {
    assert_eq!(
        Query::parse("type:IP").unwrap(),
        Query::Term(Term { field: Field::Type, test: Test::Text(Pattern::Literal("ip".into())) })
    );
    let q = Query::parse("type:SomeType and sourceBrands:\"Some Feed\"").unwrap();
    assert!(matches!(&q, Query::And(parts) if parts.len() == 2));
    assert!(m("sourceBrands:\"Some Feed\""));
    assert!(m("type:Domain and sourceBrands:\"Some Feed\""));
    assert!(!m("type:IP and sourceBrands:\"Some Feed\""));
}

#[test]
fn field_names_keywords_and_values_ignore_case() {
    assert!(m("TYPE:domain"));
    assert!(m("Value:LOGIN.EXAMPLE.COM"));
    assert!(m("type:Domain AND tags:apt28"));
    assert!(m("type:IP Or tags:PHISHING"));
    assert!(m("NOT type:IP"));
    assert!(m("SourceBrands:\"some feed\""));
}

#[test]
fn and_or_not_and_precedence() {
    assert!(m("type:Domain and score:3"));
    assert!(!m("type:Domain and score:2"));
    assert!(m("type:IP or score:3"));
    assert!(!m("type:IP or score:2"));
    assert!(m("not type:IP"));
    assert!(!m("not type:Domain"));
    assert!(m("not not type:Domain"));
    // AND binds tighter than OR.
    assert!(m("type:IP or type:Domain and tags:apt28"));
    assert!(!m("(type:IP or type:Domain) and tags:nothing"));
    assert!(m("type:Domain or type:IP and tags:nothing"));
    // Parentheses.
    assert!(m("(type:IP or type:Domain) and (score:3)"));
    assert!(m("((type:Domain))"));
    assert!(m("not(type:IP)"));
}

#[test]
fn adjacent_terms_are_and() {
    let implicit = Query::parse("type:Domain tags:apt28").unwrap();
    let explicit = Query::parse("type:Domain and tags:apt28").unwrap();
    assert_eq!(implicit, explicit);
    assert!(m("type:Domain tags:apt28"));
    assert!(!m("type:Domain tags:nothing"));
    assert_eq!(
        Query::parse("type:IP or type:Domain tags:x").unwrap(),
        Query::parse("type:IP or (type:Domain and tags:x)").unwrap()
    );
}

#[test]
fn minus_prefix_negates() {
    assert!(m("-type:IP"));
    assert!(!m("-type:Domain"));
    assert!(m("type:Domain -tags:benign"));
    assert!(!m("type:Domain -tags:apt28"));
    assert!(!m("-(type:Domain or type:IP)"));
    assert_eq!(Query::parse("-type:IP").unwrap(), Query::parse("not type:IP").unwrap());
    // A '-' inside a value is a character.
    assert!(!m("value:-foo"));
}

#[test]
fn quoted_values_and_escapes() {
    assert!(m(r#"threatactor:"Fancy Bear""#));
    assert!(m(r#"threatactor:"fancy bear""#));
    assert!(!m(r#"threatactor:"Fancy""#));
    let q = Query::parse(r#"value:"a \"quoted\" \\ back\slash""#).unwrap();
    assert_eq!(
        q,
        Query::Term(Term {
            field: Field::Value,
            test: Test::Text(Pattern::Literal(r#"a "quoted" \ back\slash"#.into()))
        })
    );
    // Escaped wildcards are literal.
    let q = Query::parse(r#"value:"a\*b""#).unwrap();
    assert_eq!(q, Query::Term(Term { field: Field::Value, test: Test::Text(Pattern::Literal("a*b".into())) }));
    let q = Query::parse(r"value:a\ b\*").unwrap();
    assert_eq!(q, Query::Term(Term { field: Field::Value, test: Test::Text(Pattern::Literal("a b*".into())) }));
    // A bare value may hold ':' and '/'; a registry path keeps its backslashes.
    let q = Query::parse(r"value:HKLM\Software\Run").unwrap();
    assert_eq!(
        q,
        Query::Term(Term { field: Field::Value, test: Test::Text(Pattern::Literal(r"hklm\software\run".into())) })
    );
    assert!(Query::parse("value:https://a.example/x?y=1").is_ok());
}

#[test]
fn wildcards() {
    assert!(m("value:*.example.com"));
    assert!(m("value:login.*"));
    assert!(m("value:*EXAMPLE*"));
    assert!(m("value:login.exampl?.com"));
    assert!(!m("value:login.exampl?"));
    assert!(!m("value:*.example.org"));
    assert!(m("value:\"*.example.com\""));
    assert!(m("tags:apt*"));
    assert!(m("sourceBrands:*OTX"));
    assert!(m("value:l*g*n*.com"));
    assert!(!m("value:?"));
    let p = Pattern::Glob(vec![GlobItem::Any, GlobItem::Char('b'), GlobItem::Any]);
    assert!(p.matches("ABC") && p.matches("b") && !p.matches("ac"));
    // Non-ASCII text is compared by Unicode lower case.
    let q = Query::parse("value:Straße*").unwrap();
    let mut i = ind();
    i.value = "STRAßE.example".into();
    assert!(q.matches_at(&i, ts(NOW)));
    let q = Query::parse("value:ÄRGER").unwrap();
    i.value = "ärger".into();
    assert!(q.matches_at(&i, ts(NOW)));
}

#[test]
fn list_fields_match_any_element() {
    assert!(m("tags:apt28"));
    assert!(m("tags:Phishing"));
    assert!(!m("tags:apt29"));
    assert!(m("sourceInstances:\"Some Feed_instance_1\""));
    assert!(m("sourcebrands:\"AlienVault OTX\""));
}

#[test]
fn value_lists() {
    assert!(m(r#"value:("1.1.1.1" "login.example.com")"#));
    assert!(m(r#"value:(1.1.1.1 or login.example.com)"#));
    assert!(!m(r#"value:("1.1.1.1" "2.2.2.2")"#));
    assert!(m("type:(IP Domain) score:(Bad Suspicious)"));
    assert_eq!(Query::parse("type:(IP)").unwrap(), Query::parse("type:IP").unwrap());
}

#[test]
fn empty_and_present() {
    assert!(!m("tags:"));
    assert!(m("-tags:"));
    assert!(m("tags:*"));
    assert!(m("description:"));
    assert!(m("description:\"\""));
    assert!(!m("description:*"));
    assert!(m("nosuchfield:"));
    assert!(!m("nosuchfield:*"));
    assert!(!m("nosuchfield:x"));
    assert!(m("-nosuchfield:x"));
    assert!(m("(tags:)  or type:Domain"));
    assert!(!m("expiration:"));
    assert!(m("expiration:*"));
    let mut i = ind();
    i.tags.clear();
    i.expiration = None;
    assert!(Query::parse("tags:").unwrap().matches_at(&i, ts(NOW)));
    assert!(Query::parse("expiration:").unwrap().matches_at(&i, ts(NOW)));
}

#[test]
fn score_by_number_and_name() {
    for q in ["score:3", "score:Bad", "reputation:bad", "score:>=2", "score:>Suspicious", "score:<=3", "score:>=Bad"] {
        assert!(m(q), "{q}");
    }
    for q in ["score:2", "score:Good", "score:<3", "score:>Bad", "score:Unknown", "score:None", "score:"] {
        assert!(!m(q), "{q}");
    }
    let mut i = ind();
    i.score = 0;
    for q in ["score:None", "score:unknown", "score:0", "score:", "score:<Good"] {
        assert!(Query::parse(q).unwrap().matches_at(&i, ts(NOW)), "{q}");
    }
}

#[test]
fn number_comparisons_on_custom_fields() {
    assert!(m("confidence:75"));
    assert!(m("confidence:75.0"));
    assert!(m("confidence:>50"));
    assert!(m("confidence:>=75"));
    assert!(!m("confidence:<75"));
    assert!(m("confidence:<=75"));
    assert!(m("ratio:<1"));
    assert!(m("ratio:>=0.5"));
    assert!(!m("threatactor:>1"), "text is not a number");
    assert!(!m("nosuchfield:>1"));
    assert!(m("-nosuchfield:>1"));
}

#[test]
fn date_comparisons() {
    // modified = 2025-06-14T12:00:00Z, created = 2025-01-31T10:00:00Z
    assert!(m(r#"modified:>="2025-01-01""#));
    assert!(m("modified:>=2025-06-14T12:00:00Z"));
    assert!(!m("modified:>2025-06-14T12:00:00Z"));
    assert!(m("modified:<=2025-06-14T12:00:00Z"));
    assert!(!m("modified:<2025-06-14T12:00:00Z"));
    assert!(m("modified:2025-06-14T14:00:00+02:00"));
    // A bare date is the whole day.
    assert!(m("modified:2025-06-14"));
    assert!(m("modified:<=2025-06-14"));
    assert!(!m("modified:<2025-06-14"));
    assert!(!m("modified:>2025-06-14"));
    assert!(m("modified:>2025-06-13"));
    assert!(m("firstSeen:2025-01-31"));
    assert!(m("timestamp:<2025-02-01"));
    assert!(m("created:>=2025-01-31T10:00:00Z"));
    assert!(m("expiration:>2025-06-30"));
    assert!(m("lastSeen:>=2025-06-10"));
    assert!(!m("lastSeen:>2025-06-10"));
    // Any field holding a date compares as one.
    assert!(m("published:<2025-04-01"));
    assert!(!m("published:>2025-04-01"));
}

#[test]
fn relative_dates() {
    // now = 2025-06-15T12:00:00Z; modified one day earlier.
    assert!(m("modified:>=now-2d"));
    assert!(m("modified:>=now-1d"));
    assert!(!m("modified:>now-1d"));
    assert!(!m("modified:>=now-23h"));
    assert!(m(r#"modified:>="7 days ago""#));
    assert!(m(r#"modified:>="2 weeks ago""#));
    assert!(!m(r#"modified:>="12 hours ago""#));
    assert!(m("modified:<now"));
    assert!(m("expiration:>now+2w"));
    assert!(!m("expiration:>now+3w"));
    assert!(m("lastSeen:>=now-6d"));
    assert!(!m("lastSeen:>=now-5d"));
    assert!(m(r#"modified:>="1 day ago""#));
    assert!(m(r#"modified:<"30 minutes ago""#));
    let q = Query::parse("modified:>=now-7d").unwrap();
    assert!(q.uses_now());
    assert!(!Query::parse("modified:>=2025-01-01").unwrap().uses_now());
    // matches() reads the clock: the indicator was modified before any run of this test.
    assert!(Query::parse("modified:<now").unwrap().matches(&ind()));
    assert!(!Query::parse("modified:>now").unwrap().matches(&ind()));
}

#[test]
fn expiration_status_from_the_field_or_derived() {
    assert!(m("expirationStatus:active"));
    assert!(!m("expirationStatus:expired"));
    let mut i = ind();
    i.fields.remove("expirationstatus");
    let expired = Query::parse("expirationStatus:expired").unwrap();
    assert!(!expired.matches_at(&i, ts(NOW)));
    assert!(expired.matches_at(&i, ts("2025-07-02T00:00:00Z")));
    i.expiration = None;
    assert!(Query::parse("expirationStatus:active").unwrap().matches_at(&i, ts("2099-01-01T00:00:00Z")));
}

#[test]
fn custom_fields_by_any_case_and_cli_name() {
    assert!(m("ThreatActor:\"Fancy Bear\""));
    assert!(m("threat_actor:\"Fancy Bear\""));
    assert!(m("CustomFields.threatactor:fancy*"));
    assert!(m("isMalwareFamily:true"));
    assert!(!m("isMalwareFamily:false"));
    assert!(m("type:Domain AND indicator_type:domain"));
}

#[test]
fn matches_uses_the_clock_only_when_needed() {
    let q = Query::parse("type:Domain").unwrap();
    assert!(!q.uses_now());
    assert!(q.matches(&ind()));
}

#[test]
fn errors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        ("type:IP and", 12, "expected a term such as type:IP, 'not', '-' or '(' after 'and', found the end of the query"),
        ("type:IP or", 11, "expected a term such as type:IP, 'not', '-' or '(' after 'or', found the end of the query"),
        ("not", 4, "expected a term such as type:IP, 'not', '-' or '(' after 'not', found the end of the query"),
        ("type:IP -", 10, "expected a term such as type:IP, 'not', '-' or '(' after '-', found the end of the query"),
        ("and type:IP", 1, "expected a term such as type:IP, 'not', '-' or '(', found 'and'"),
        ("type:IP and or type:URL", 13, "expected a term such as type:IP, 'not', '-' or '(' after 'and', found 'or'"),
        (
            "type IP",
            6,
            "expected ':' after the field name 'type', found 'IP' (free-text search is not supported: write value:type to match the value)",
        ),
        (
            "8.8.8.8",
            8,
            "expected ':' after the field name '8.8.8.8', found the end of the query (free-text search is not supported: write value:8.8.8.8 to match the value)",
        ),
        ("type :IP", 5, "expected ':' directly after the field name 'type', without a space"),
        (":IP", 1, "expected a field name before ':'"),
        ("\"8.8.8.8\"", 1, "expected a field name: free-text search is not supported, write value:\"…\" to match the value"),
        ("(type:IP", 9, "expected ')' to close the '(' at character 1, found the end of the query"),
        ("(type:IP or (type:URL)", 23, "expected ')' to close the '(' at character 1, found the end of the query"),
        ("type:IP)", 8, "unexpected ')': there is no '(' for it to close"),
        ("()", 2, "expected a query inside '( )', found ')'"),
        ("type:\"IP", 6, "this quoted value is never closed: add the closing '\"' (write \\\" for a quote inside)"),
        ("value:(\"a\" \"b\"", 15, "expected ')' to close the list of values opened at character 7, found the end of the query"),
        ("value:()", 8, "expected a value in the list after 'value:('"),
        ("value:((a))", 8, "expected a value: lists of values do not nest"),
        ("score:>=", 9, "expected a number or a date after '>=', found the end of the query"),
        ("score:>= 2", 9, "expected a number or a date directly after '>=', without a space"),
        ("score:>=(1 2)", 9, "expected one value after '>=': a comparison takes a single number or date"),
        ("score:>=high", 9, "'high' is not a score: use 0–3 or Unknown, Good, Suspicious, Bad (None is Unknown)"),
        ("score:5", 7, "'5' is not a score: use 0–3 or Unknown, Good, Suspicious, Bad (None is Unknown)"),
        (
            "modified:>=yesterday",
            12,
            "'yesterday' is not a date: use a date such as 2025-01-31 or 2025-01-31T12:00:00Z, or a relative one such as now-7d or \"7 days ago\"",
        ),
        (
            "modified:\"2025-13-01\"",
            10,
            "\"2025-13-01\" is not a date: use a date such as 2025-01-31 or 2025-01-31T12:00:00Z, or a relative one such as now-7d or \"7 days ago\"",
        ),
        ("modified:now-7d", 10, "a relative date needs a comparison, e.g. modified:>=now-7d"),
        ("modified:>=now-7y", 12, "'now-7y' is not a date: use a date such as 2025-01-31 or 2025-01-31T12:00:00Z, or a relative one such as now-7d or \"7 days ago\""),
        ("tags:>apt", 7, "'>' compares numbers and dates, but tags is text: write tags:apt to match it"),
        ("type:>=\"IP\"", 8, "'>=' compares numbers and dates, but type is text: write type:\"IP\" to match it"),
        (
            "confidence:>high",
            13,
            "expected a number or a date after '>', found 'high': use a date such as 2025-01-31 or 2025-01-31T12:00:00Z, or a relative one such as now-7d or \"7 days ago\"",
        ),
        ("confidence:>\"\"", 13, "expected a number or a date after '>', found \"\""),
        (
            "type:IP tags: apt28",
            20,
            "expected ':' after the field name 'apt28', found the end of the query: 'tags:' followed by a space \
             tests for an empty field; to match a value write tags:apt28 without the space",
        ),
        (
            "sourceBrands: \"Some Feed\"",
            15,
            "expected a field name: 'sourceBrands:' followed by a space tests for an empty field; to match a value \
             write sourceBrands:\"…\" without the space",
        ),
        ("type:IP type:URL garbage", 25, "expected ':' after the field name 'garbage', found the end of the query (free-text search is not supported: write value:garbage to match the value)"),
    ];
    for (q, pos, msg) in cases {
        assert_eq!(err(q), (*pos, msg.to_string()), "query {q:?}");
    }
}

#[test]
fn errors_display_with_position() {
    let e = Query::parse("type:IP and").unwrap_err();
    assert!(e.to_string().starts_with("at character 12: expected a term"), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_a_crash() {
    let deep = format!("{}type:IP{}", "(".repeat(5000), ")".repeat(5000));
    let (_, msg) = err(&deep);
    assert_eq!(msg, "the query nests deeper than 100 levels");
    let nots = format!("{}type:IP", "not ".repeat(5000));
    assert_eq!(err(&nots).1, "the query nests deeper than 100 levels");
    assert!(Query::parse(&format!("{}type:IP{}", "(".repeat(50), ")".repeat(50))).is_ok());
}

#[test]
fn keywords_as_field_names_and_values() {
    // "and:x" is a field named "and"; "tags:or" a value.
    assert!(Query::parse("and:x").is_ok());
    assert!(m("-tags:or"));
    assert!(m("notes: or type:Domain"));
}

#[test]
fn any_input_parses_or_fails_cleanly() {
    // Deterministic pseudo-random queries over the characters that matter: never a panic, and every error
    // points inside the query or just past its end.
    let alphabet: Vec<char> = "ab:()\"\\*?-<>= tOrAnDnot7.é".chars().collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let indicator = ind();
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let q: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        match Query::parse(&q) {
            Ok(parsed) => {
                parsed.matches_at(&indicator, ts(NOW));
            }
            Err(e) => {
                let n = q.chars().count();
                assert!((1..=n + 1).contains(&e.position), "{q:?}: {e}");
                assert!(!e.message.is_empty());
            }
        }
    }
}
