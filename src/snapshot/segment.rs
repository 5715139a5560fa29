//! Segments: a run of records in date_added order, each with its STIX 2.1 and 2.0 bytes.
//!
//! Layout: one JSON line of record metadata, a newline, then the concatenated object bodies the metadata
//! points into. Reading a page parses only the metadata line and slices the bodies without copying.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One object version in a segment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordMeta {
    /// date_added, microseconds since the epoch.
    pub d: i64,
    /// The TAXII version (modified), microseconds since the epoch.
    pub v: i64,
    /// 2.1 id and type.
    pub id: String,
    pub t: String,
    /// 2.0 id and type, when they differ from 2.1's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id20: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t20: Option<String>,
    /// Offsets into the body area: 2.1 start and length, 2.0 start and length.
    pub o: [u32; 4],
}

impl RecordMeta {
    pub fn date_added(&self) -> Timestamp {
        Timestamp(self.d)
    }
    pub fn version(&self) -> Timestamp {
        Timestamp(self.v)
    }
    pub fn id20(&self) -> &str {
        self.id20.as_deref().unwrap_or(&self.id)
    }
    pub fn type20(&self) -> &str {
        self.t20.as_deref().unwrap_or(&self.t)
    }
}

/// A record to write: its metadata (offsets filled in by [`encode`]) and bodies.
pub struct RecordIn<'a> {
    pub date_added: Timestamp,
    pub version: Timestamp,
    pub id21: &'a str,
    pub type21: &'a str,
    pub id20: &'a str,
    pub type20: &'a str,
    pub json21: &'a str,
    pub json20: &'a str,
}

/// Encodes records into segment bytes.
pub fn encode(records: &[RecordIn<'_>]) -> Vec<u8> {
    let mut bodies = Vec::new();
    let mut metas = Vec::with_capacity(records.len());
    for r in records {
        let s21 = bodies.len() as u32;
        bodies.extend_from_slice(r.json21.as_bytes());
        let s20 = bodies.len() as u32;
        bodies.extend_from_slice(r.json20.as_bytes());
        metas.push(RecordMeta {
            d: r.date_added.0,
            v: r.version.0,
            id: r.id21.to_string(),
            t: r.type21.to_string(),
            id20: (r.id20 != r.id21).then(|| r.id20.to_string()),
            t20: (r.type20 != r.type21).then(|| r.type20.to_string()),
            o: [s21, r.json21.len() as u32, s20, r.json20.len() as u32],
        });
    }
    let mut out = serde_json::to_vec(&metas).expect("metadata serialises");
    out.push(b'\n');
    out.extend_from_slice(&bodies);
    out
}

/// A decoded segment: metadata plus the body area.
#[derive(Debug)]
pub struct Segment {
    pub records: Vec<RecordMeta>,
    bodies_start: usize,
    bytes: Vec<u8>,
}

impl Segment {
    /// Decodes segment bytes, checking every offset.
    pub fn decode(bytes: Vec<u8>) -> Result<Segment, String> {
        let nl = bytes.iter().position(|&b| b == b'\n').ok_or("segment has no metadata line")?;
        let records: Vec<RecordMeta> =
            serde_json::from_slice(&bytes[..nl]).map_err(|e| format!("segment metadata is not valid: {e}"))?;
        let body_len = bytes.len() - nl - 1;
        for r in &records {
            let ends = [u64::from(r.o[0]) + u64::from(r.o[1]), u64::from(r.o[2]) + u64::from(r.o[3])];
            if ends.iter().any(|&e| e > body_len as u64) {
                return Err(format!("segment record {} points past the end of the segment", r.id));
            }
        }
        if records.windows(2).any(|w| w[0].d >= w[1].d) {
            return Err("segment records are not in strictly increasing date_added order".into());
        }
        Ok(Segment { records, bodies_start: nl + 1, bytes })
    }

    /// The body of record `i` in the given spec version ("2.1" or "2.0").
    pub fn body(&self, i: usize, v21: bool) -> &[u8] {
        let o = &self.records[i].o;
        let (start, len) = if v21 { (o[0], o[1]) } else { (o[2], o[3]) };
        let s = self.bodies_start + start as usize;
        &self.bytes[s..s + len as usize]
    }

    /// Index of the first record added strictly after `t`.
    pub fn first_after(&self, t: Timestamp) -> usize {
        self.records.partition_point(|r| r.d <= t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let recs = [
            RecordIn {
                date_added: Timestamp(10),
                version: Timestamp(5),
                id21: "a--1",
                type21: "a",
                id20: "a--1",
                type20: "a",
                json21: "{\"x\":1}",
                json20: "{\"y\":2}",
            },
            RecordIn {
                date_added: Timestamp(20),
                version: Timestamp(6),
                id21: "b--1",
                type21: "b",
                id20: "indicator--2",
                type20: "indicator",
                json21: "{}",
                json20: "[]",
            },
        ];
        let seg = Segment::decode(encode(&recs)).unwrap();
        assert_eq!(seg.records.len(), 2);
        assert_eq!(seg.body(0, true), b"{\"x\":1}");
        assert_eq!(seg.body(0, false), b"{\"y\":2}");
        assert_eq!(seg.records[1].id20(), "indicator--2");
        assert_eq!(seg.records[0].id20(), "a--1");
        assert_eq!(seg.first_after(Timestamp(10)), 1);
        assert_eq!(seg.first_after(Timestamp(9)), 0);
    }

    #[test]
    fn rejects_damage() {
        let recs = [RecordIn {
            date_added: Timestamp(1),
            version: Timestamp(1),
            id21: "a--1",
            type21: "a",
            id20: "a--1",
            type20: "a",
            json21: "{}",
            json20: "{}",
        }];
        let mut bytes = encode(&recs);
        bytes.truncate(bytes.len() - 2);
        assert!(Segment::decode(bytes).unwrap_err().contains("points past the end"));
        assert!(Segment::decode(b"no newline".to_vec()).is_err());
    }
}
