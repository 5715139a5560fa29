//! Sample XSOAR indicators of every mapped type, with the fields the renderer reads, for the corpus example
//! (`cargo run --example render_corpus`) and the rendering tests. Values are chosen to exercise escaping
//! (backslashes and apostrophes), every hash kind, registry values, TLP markings, relationships and expiry.

use edge_feed::import::xsoar::indicator_from;
use edge_feed::indicator::Indicator;
use serde_json::{json, Value};

/// The sample records in XSOAR's `searchIndicators` shape.
pub fn sample_records() -> Vec<Value> {
    let t = |i: u32| format!("2024-03-0{}T10:00:00.123456Z", 1 + i % 9);
    let m = |i: u32| format!("2024-04-0{}T12:30:00.654321Z", 1 + i % 9);
    let rec = |i: u32, ty: &str, value: &str, score: u8, custom: Value| {
        json!({"value": value, "indicator_type": ty, "score": score, "timestamp": t(i), "modified": m(i),
               "CustomFields": custom})
    };
    vec![
        {
            let mut r = rec(0, "IP", "8.8.8.8", 3, json!({"description": "Resolver seen in C2 traffic",
                "trafficlightprotocol": "GREEN", "killchainphases": ["Command and Control"],
                "externalreferences": [{"source_name": "vendor-blog", "url": "https://example.com/post"}]}));
            r["tags"] = json!(["c2", "APT 99"]);
            r["expiration"] = json!("2024-06-01T00:00:00Z");
            r["id"] = json!("100");
            r["expirationSource"] = json!({"setTime": "2024-03-01T10:00:00Z", "source": "indicatorType",
                "Odd Key": 1});
            r["CustomFields"]["1st seen by"] = json!("sensor-7");
            r["relationships"] = json!([
                {"name": "related to", "entityB": "evil.example.com", "id": "7ed6656f4c2aaa8f0cbc5cb83606be45",
                 "description": "resolves"},
                {"name": "indicates", "entityB": "Emotet"},
                {"name": "related-to", "entityB": "not-in-the-collection.example"}
            ]);
            r
        },
        rec(1, "CIDR", "10.0.0.0/8", 2, json!({})),
        rec(2, "IPv6", "2001:db8::1", 1, json!({"trafficlightprotocol": "CLEAR"})),
        rec(3, "IPv6CIDR", "2001:db8::/32", 0, json!({})),
        {
            let mut r = rec(4, "Domain", "evil.example.com", 3, json!({"trafficlightprotocol": "AMBER"}));
            r["expiration"] = json!("2024-03-02T00:00:00Z");
            r["expirationStatus"] = json!("expired");
            r
        },
        rec(5, "DomainGlob", "*.evil.example.org", 2, json!({})),
        rec(6, "URL", "http://example.com/it's\\here?a=1", 3, json!({"trafficlightprotocol": "RED"})),
        rec(7, "Email", "o'brien@example.com", 2, json!({})),
        rec(8, "File", "f1412386aa8db2579aff2636cb9511cacc5fd9880ecab60c048508fbe26ee4d9", 3, json!({
            "associatedfilenames": ["New Text Document.txt"],
            "md5": "e086aa137fa19f67d27b39d0eca18610",
            "sha1": "409629a08b9b3f3be610b8832cc28822f964410f",
            "sha512": "502b6772333c9f8ba18bf4b9cb47c81d1b931660e7a7a51d7b42ccf9179ea34e4d852466e1101249dbc3da32b121bf83427b0237dce1870e5e1a5b04db524cfb",
            "ssdeep": "3:SU7:SU7"})),
        rec(9, "File", "e086aa137fa19f67d27b39d0eca18610", 2, json!({})),
        rec(10, "File", "409629a08b9b3f3be610b8832cc28822f964410f", 2, json!({"sha256": "not-a-hash"})),
        rec(11, "File", "502b6772333c9f8ba18bf4b9cb47c81d1b931660e7a7a51d7b42ccf9179ea34e4d852466e1101249dbc3da32b121bf83427b0237dce1870e5e1a5b04db524cfb", 1, json!({})),
        rec(12, "Registry Key", "HKEY_LOCAL_MACHINE\\SOFTWARE\\7-Zip", 2, json!({"keyvalue": [
            {"name": "Path", "data": "C:\\7-Zip\\", "type": "REG_SZ"},
            {"name": "Path64", "data": "C:\\7-Zip\\", "type": "REG_SZ"}, {}]})),
        rec(13, "Account", "jdoe@example.com", 2, json!({"accounttype": "ldap", "userid": "1001",
            "displayname": "John Doe"})),
        rec(14, "ASN", "AS15169", 1, json!({"name": "Google"})),
        rec(15, "Software", "Word", 0, json!({"vendor": "Microsoft", "version": "2019",
            "cpe": "cpe:2.3:a:microsoft:word:2019:*:*:*:*:*:*:*"})),
        rec(16, "X509 Certificate", "36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06", 2, json!({
            "validitynotbefore": "2016-03-12T12:00:00Z", "validitynotafter": "2026-08-21T12:00:00Z",
            "subject": [{"title": "C", "data": "US"}, {"title": "CN", "data": "example.com"}],
            "issuer": [{"title": "C", "data": "ZA"}, {"title": "O", "data": "Thawte Consulting"}],
            "sha256": "c90b2a8cba0c16d7fa3a8a5a6e8d6b4a3f2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d"})),
        rec(17, "Mutex", "Global\\evil'mutex", 3, json!({})),
        rec(18, "Attack Pattern", "Application Layer Protocol: DNS", 0, json!({"mitreid": "T1071.004",
            "killchainphases": ["Command and Control"], "aliases": ["DNS C2"],
            "description": "Adversaries may communicate using the DNS protocol."})),
        rec(19, "Campaign", "Operation Example", 2, json!({"aliases": ["OpEx"]})),
        rec(20, "Course of Action", "Block outbound DNS", 0, json!({})),
        rec(21, "Infrastructure", "Example botnet C2", 3, json!({"killchainphases": ["command-and-control"]})),
        rec(22, "Intrusion Set", "APT 99", 3, json!({"aliases": ["Example Panda"]})),
        {
            let mut r = rec(23, "Malware", "Emotet", 3, json!({"ismalwarefamily": true,
                "malwaretypes": ["Trojan", "Bot"], "aliases": ["Geodo"]}));
            r["relationships"] = json!([{"name": "uses", "entityB": "Example botnet C2"}]);
            r
        },
        rec(24, "Report", "Example report", 0, json!({"published": "2024-03-05T00:00:00Z",
            "reportobjectreferences": [{"objectstixid": "malware--bddcf01f-9fd0-5107-a013-4b174285babc"}]})),
        {
            let mut r = rec(34, "Report", "Weekly report", 0, json!({"reportobjectreferences": []}));
            r["relationships"] = json!([{"name": "related-to", "entityB": "Emotet", "id": "5"},
                {"name": "mentions", "entityB": "CVE-2021-44228"}]);
            r
        },
        rec(25, "Threat Actor", "Example Actor", 3, json!({"aliases": ["EA"]})),
        rec(26, "Tool", "Cobalt Strike", 2, json!({"killchainphases": ["Execution"]})),
        rec(27, "CVE", "CVE-2021-44228", 3, json!({"cvss": 10.0, "description": "Log4Shell"})),
        rec(30, "URL", "https://example.com/download?id=1&x=%20", 3, json!({})),
        rec(31, "Email", "bob@example.com", 2, json!({})),
        rec(32, "Registry Key", "HKCU\\Software\\Evil", 3, json!({})),
        rec(33, "Domain", "bad_host.example.com", 2, json!({})),
        rec(28, "Identity", "Example Corp", 0, json!({"identityclass": "organization"})),
        rec(29, "Location", "Germany", 0, json!({"countrycode": "de", "region": "Western Europe"})),
    ]
}

/// The sample records as indicators (origin `samples:[i]`).
pub fn sample_indicators() -> Vec<Indicator> {
    sample_records()
        .into_iter()
        .enumerate()
        .map(|(i, r)| indicator_from(&format!("samples:[{i}]"), r).expect("the samples are valid XSOAR records"))
        .collect()
}

/// One XSOAR indicator of type `ty` created 2024-03-01T10:00:00.123456Z and modified 2024-04-01T12:30:00.654321Z,
/// with `custom` as its CustomFields (origin `test`).
pub fn indicator(ty: &str, value: &str, score: u8, custom: Value) -> Indicator {
    indicator_from(
        "test",
        json!({"value": value, "indicator_type": ty, "score": score, "timestamp": "2024-03-01T10:00:00.123456Z",
               "modified": "2024-04-01T12:30:00.654321Z", "CustomFields": custom}),
    )
    .expect("a valid XSOAR record")
}
