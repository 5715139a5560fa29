//! Segments: a run of records in date_added order, each with its STIX 2.1 and 2.0 bytes.
//!
//! Layout (little-endian): a 16-byte header, then the record table and the data area. The table has
//! [`RECORD_BYTES`] per record (date_added i64, version i64, then six u32 offset/length pairs into the data area:
//! 2.1 id, 2.1 type, 2.0 id, 2.0 type, 2.1 body, 2.0 body); the data area holds those strings.
//! - Format 3 (what [`encode`] writes): the magic `TXSEG3\0\0`, the record count (u32), the length of the table
//!   and data area (u32), then the two LZ4-compressed as one block (about a third of their size: the upload, the
//!   store and every cold read carry a third of the bytes).
//! - Format 2 (written before; still read, so a snapshot built on one of that format reuses its segments): the
//!   magic `TXSEG2\0\0`, the record count (u32) and a zero u32, then the table and data area as they are.
//!
//! Decoding decompresses (format 3), then checks the table once (every range in bounds, ids and types UTF-8,
//! dates increasing) and copies nothing but the table.

use crate::time::Timestamp;

/// The first bytes of every segment [`encode`] writes.
pub const MAGIC: &[u8; 8] = b"TXSEG3\0\0";
/// The first bytes of an uncompressed (format 2) segment.
pub const MAGIC_UNCOMPRESSED: &[u8; 8] = b"TXSEG2\0\0";
/// Header: magic, count, reserved.
const HEADER: usize = 16;
/// Bytes per record in the table.
pub const RECORD_BYTES: usize = 64;

/// The fields of one record as stored: dates and the ranges of its strings and bodies in the data area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    d: i64,
    v: i64,
    /// (offset, length) of: 2.1 id, 2.1 type, 2.0 id, 2.0 type, 2.1 body, 2.0 body.
    r: [(u32, u32); 6],
}

/// One object version in a segment, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordMeta<'a> {
    /// date_added, microseconds since the epoch.
    pub d: i64,
    /// The TAXII version (modified), microseconds since the epoch.
    pub v: i64,
    /// 2.1 id and type.
    pub id: &'a str,
    pub t: &'a str,
    id20: &'a str,
    t20: &'a str,
}

impl RecordMeta<'_> {
    pub fn date_added(&self) -> Timestamp {
        Timestamp(self.d)
    }
    pub fn version(&self) -> Timestamp {
        Timestamp(self.v)
    }
    pub fn id20(&self) -> &str {
        self.id20
    }
    pub fn type20(&self) -> &str {
        self.t20
    }
}

/// A record to write, whose bodies [`encode`] asks for when it gets to them.
pub struct RecordHead<'a> {
    pub date_added: Timestamp,
    pub version: Timestamp,
    pub id21: &'a str,
    pub type21: &'a str,
    pub id20: &'a str,
    pub type20: &'a str,
    /// The lengths of the UTF-8 2.1 and 2.0 bodies.
    pub json21_len: usize,
    pub json20_len: usize,
}

/// Encodes records into (compressed, format 3) segment bytes. Records must be in strictly increasing date_added
/// order. Each record's bodies are written straight into the segment by `bodies(i, out)`: it appends record `i`'s
/// 2.1 body then its 2.0 body, exactly the lengths its head gives, as UTF-8 (the build decompresses them there,
/// without a copy of its own).
pub fn encode(records: &[RecordHead<'_>], bodies: impl FnMut(usize, &mut Vec<u8>)) -> Vec<u8> {
    compress(&encode_uncompressed(records, bodies))
}

/// A format 3 segment from a format 2 one: the same header fields, the rest compressed.
fn compress(plain: &[u8]) -> Vec<u8> {
    let rest = &plain[HEADER..];
    let mut out = vec![0u8; HEADER + lz4_flex::block::get_maximum_output_size(rest.len())];
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&plain[8..12]);
    out[12..16].copy_from_slice(&(rest.len() as u32).to_le_bytes());
    let n = lz4_flex::block::compress_into(rest, &mut out[HEADER..]).expect("the output has LZ4's maximum size");
    out.truncate(HEADER + n);
    out
}

/// A format 2 segment from a format 3 one (refused when the block does not decompress to the length the header
/// gives, or when that length is more than LZ4 can have made of the block).
fn decompress(bytes: &[u8]) -> Result<Vec<u8>, SegmentError> {
    let len = u32_at(bytes, 12) as usize;
    let block = &bytes[HEADER..];
    // A byte of LZ4 block stands for at most 255 (a match's length grows by 255 a byte): a header claiming more is
    // damaged, and is refused before anything that large is allocated.
    if len > block.len().saturating_mul(255) {
        return Err(SegmentError::Compressed);
    }
    let mut out = vec![0u8; HEADER + len];
    out[..8].copy_from_slice(MAGIC_UNCOMPRESSED);
    out[8..12].copy_from_slice(&bytes[8..12]);
    match lz4_flex::block::decompress_into(block, &mut out[HEADER..]) {
        Ok(n) if n == len => Ok(out),
        _ => Err(SegmentError::Compressed),
    }
}

/// Encodes records into format 2 (uncompressed) segment bytes, as [`encode`] takes them.
fn encode_uncompressed(records: &[RecordHead<'_>], mut bodies: impl FnMut(usize, &mut Vec<u8>)) -> Vec<u8> {
    let data_len: usize = records
        .iter()
        .map(|r| r.id21.len() + r.type21.len() + r.id20.len() + r.type20.len() + r.json21_len + r.json20_len)
        .sum();
    let mut out = Vec::with_capacity(HEADER + records.len() * RECORD_BYTES + data_len);
    out.extend_from_slice(MAGIC_UNCOMPRESSED);
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut at = 0usize;
    for r in records {
        out.extend_from_slice(&r.date_added.0.to_le_bytes());
        out.extend_from_slice(&r.version.0.to_le_bytes());
        for len in [r.id21.len(), r.type21.len(), r.id20.len(), r.type20.len(), r.json21_len, r.json20_len] {
            out.extend_from_slice(&(at as u32).to_le_bytes());
            out.extend_from_slice(&(len as u32).to_le_bytes());
            at += len;
        }
    }
    for (i, r) in records.iter().enumerate() {
        for s in [r.id21, r.type21, r.id20, r.type20] {
            out.extend_from_slice(s.as_bytes());
        }
        let before = out.len();
        bodies(i, &mut out);
        assert_eq!(
            out.len() - before,
            r.json21_len + r.json20_len,
            "a record's bodies have the lengths its head gives"
        );
    }
    out
}

/// A decoded segment: its record table plus the bytes.
#[derive(Debug)]
pub struct Segment {
    entries: Vec<Entry>,
    data_start: usize,
    bytes: Vec<u8>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(x)
}

/// Why bytes could not be decoded as a segment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// The bytes are a format 1 (JSON lines) segment.
    #[error("this is a format 1 segment: rebuild the snapshot with this version and publish it")]
    Format1,
    /// The bytes do not start with the segment header.
    #[error("not a segment (no TXSEG3 or TXSEG2 header)")]
    NotSegment,
    /// A format 3 segment's block does not decompress to the length its header gives.
    #[error("the segment's compressed records are damaged")]
    Compressed,
    /// The record count in the header needs more bytes than the segment has.
    #[error("the segment's record table runs past its end")]
    TableTooLong,
    /// A record's byte range ends past the segment's data.
    #[error("segment record {0} points past the end of the segment")]
    RecordPastEnd(usize),
    /// A record's id or type is not UTF-8.
    #[error("segment record {0} has an id or type that is not UTF-8")]
    NotUtf8(usize),
    /// Records are not sorted by date_added.
    #[error("segment records are not in strictly increasing date_added order")]
    Unordered,
}

impl Segment {
    /// Decodes segment bytes (format 3 or 2), checking every range; never panics, whatever the bytes.
    pub fn decode(bytes: Vec<u8>) -> Result<Segment, SegmentError> {
        let magic = bytes.get(..8).filter(|_| bytes.len() >= HEADER);
        if magic == Some(&MAGIC[..]) {
            return Segment::decode_uncompressed(decompress(&bytes)?);
        }
        if magic == Some(&MAGIC_UNCOMPRESSED[..]) {
            return Segment::decode_uncompressed(bytes);
        }
        if bytes.first() == Some(&b'[') {
            return Err(SegmentError::Format1);
        }
        Err(SegmentError::NotSegment)
    }

    /// Decodes format 2 bytes, whose header [`Segment::decode`] checked.
    fn decode_uncompressed(bytes: Vec<u8>) -> Result<Segment, SegmentError> {
        let count = u32_at(&bytes, 8) as usize;
        let table_end = count
            .checked_mul(RECORD_BYTES)
            .and_then(|t| t.checked_add(HEADER))
            .filter(|&e| e <= bytes.len())
            .ok_or(SegmentError::TableTooLong)?;
        let data_len = (bytes.len() - table_end) as u64;
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let at = HEADER + i * RECORD_BYTES;
            let mut r = [(0u32, 0u32); 6];
            for (k, slot) in r.iter_mut().enumerate() {
                *slot = (u32_at(&bytes, at + 16 + k * 8), u32_at(&bytes, at + 20 + k * 8));
                if u64::from(slot.0) + u64::from(slot.1) > data_len {
                    return Err(SegmentError::RecordPastEnd(i));
                }
            }
            for &(o, l) in &r[..4] {
                let s = table_end + o as usize;
                if std::str::from_utf8(&bytes[s..s + l as usize]).is_err() {
                    return Err(SegmentError::NotUtf8(i));
                }
            }
            let e = Entry { d: i64_at(&bytes, at), v: i64_at(&bytes, at + 8), r };
            if entries.last().is_some_and(|p: &Entry| p.d >= e.d) {
                return Err(SegmentError::Unordered);
            }
            entries.push(e);
        }
        Ok(Segment { entries, data_start: table_end, bytes })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn slice(&self, (o, l): (u32, u32)) -> &[u8] {
        let s = self.data_start + o as usize;
        &self.bytes[s..s + l as usize]
    }

    fn text(&self, range: (u32, u32)) -> &str {
        // Checked at decode time.
        std::str::from_utf8(self.slice(range)).unwrap_or_default()
    }

    /// Record `i`'s metadata.
    pub fn record(&self, i: usize) -> RecordMeta<'_> {
        let e = &self.entries[i];
        RecordMeta {
            d: e.d,
            v: e.v,
            id: self.text(e.r[0]),
            t: self.text(e.r[1]),
            id20: self.text(e.r[2]),
            t20: self.text(e.r[3]),
        }
    }

    /// date_added of record `i`, microseconds.
    pub fn date(&self, i: usize) -> i64 {
        self.entries[i].d
    }

    /// The body of record `i` in the given spec version ("2.1" or "2.0").
    pub fn body(&self, i: usize, v21: bool) -> &[u8] {
        let e = &self.entries[i];
        self.slice(if v21 { e.r[4] } else { e.r[5] })
    }

    /// Index of the first record added strictly after `t`.
    pub fn first_after(&self, t: Timestamp) -> usize {
        self.entries.partition_point(|r| r.d <= t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two records' heads and bodies (2.1, 2.0).
    fn recs() -> ([RecordHead<'static>; 2], [(&'static str, &'static str); 2]) {
        let bodies = [("{\"x\":1}", "{\"y\":2}"), ("{}", "[]")];
        let head = |d, v, id21, type21, id20, type20, (j21, j20): (&str, &str)| RecordHead {
            date_added: Timestamp(d),
            version: Timestamp(v),
            id21,
            type21,
            id20,
            type20,
            json21_len: j21.len(),
            json20_len: j20.len(),
        };
        let heads = [
            head(10, 5, "a--1", "a", "a--1", "a", bodies[0]),
            head(20, 6, "b--1", "b", "indicator--2", "indicator", bodies[1]),
        ];
        (heads, bodies)
    }

    /// The two records as format 3 (`compressed`) or format 2 bytes.
    fn encoded_as(compressed: bool) -> Vec<u8> {
        let (heads, bodies) = recs();
        let write = |i: usize, out: &mut Vec<u8>| {
            out.extend_from_slice(bodies[i].0.as_bytes());
            out.extend_from_slice(bodies[i].1.as_bytes());
        };
        if compressed {
            encode(&heads, write)
        } else {
            encode_uncompressed(&heads, write)
        }
    }

    fn encoded() -> Vec<u8> {
        encoded_as(true)
    }

    fn check_records(seg: &Segment) {
        assert_eq!(seg.len(), 2);
        assert_eq!(seg.body(0, true), b"{\"x\":1}");
        assert_eq!(seg.body(0, false), b"{\"y\":2}");
        assert_eq!(seg.record(1).id20(), "indicator--2");
        assert_eq!(seg.record(1).type20(), "indicator");
        assert_eq!(seg.record(0).id20(), "a--1");
        assert_eq!(seg.record(1).v, 6);
        assert_eq!(seg.first_after(Timestamp(10)), 1);
        assert_eq!(seg.first_after(Timestamp(9)), 0);
    }

    #[test]
    fn round_trips() {
        let bytes = encoded();
        assert_eq!(&bytes[..8], MAGIC);
        check_records(&Segment::decode(bytes).unwrap());
    }

    #[test]
    fn reads_format_2() {
        let plain = encoded_as(false);
        assert_eq!(&plain[..8], MAGIC_UNCOMPRESSED);
        assert_eq!(decompress(&encoded()).unwrap(), plain, "format 3 is format 2 compressed");
        check_records(&Segment::decode(plain).unwrap());
    }

    #[test]
    fn compresses_what_repeats() {
        // A thousand records alike but for their ids, as a segment's are: a third of the bytes or less.
        let ids: Vec<String> = (0..1000).map(|i| format!("ipv4-addr--{i:036}")).collect();
        let body = |i: usize| {
            format!(
                "{{\"type\":\"ipv4-addr\",\"spec_version\":\"2.1\",\"id\":\"{}\",\"value\":\"10.0.{}.{}\"}}",
                ids[i],
                i / 256,
                i % 256
            )
        };
        let bodies: Vec<String> = (0..1000).map(body).collect();
        let heads: Vec<RecordHead<'_>> = (0..1000)
            .map(|i| RecordHead {
                date_added: Timestamp(i as i64 + 1),
                version: Timestamp(1),
                id21: &ids[i],
                type21: "ipv4-addr",
                id20: &ids[i],
                type20: "ipv4-addr",
                json21_len: bodies[i].len(),
                json20_len: bodies[i].len(),
            })
            .collect();
        let write = |i: usize, out: &mut Vec<u8>| {
            out.extend_from_slice(bodies[i].as_bytes());
            out.extend_from_slice(bodies[i].as_bytes());
        };
        let (plain, packed) = (encode_uncompressed(&heads, write), encode(&heads, write));
        assert!(packed.len() * 3 < plain.len(), "{} of {} bytes", packed.len(), plain.len());
        let seg = Segment::decode(packed).unwrap();
        assert_eq!(seg.body(999, false), bodies[999].as_bytes());
    }

    #[test]
    fn rejects_damage_without_panicking() {
        let plain = encoded_as(false);
        let mut cut = plain.clone();
        cut.truncate(cut.len() - 2);
        assert!(Segment::decode(cut).unwrap_err().to_string().contains("points past the end"));
        let mut cut = encoded();
        cut.truncate(cut.len() - 2);
        assert_eq!(Segment::decode(cut).unwrap_err(), SegmentError::Compressed);
        assert!(Segment::decode(b"no header".to_vec()).is_err());
        assert!(Segment::decode(b"[{\"d\":1}]\n{}".to_vec()).unwrap_err().to_string().contains("format 1"));
        // Every truncation and every single-byte change of either format either decodes or is refused; none
        // panics.
        for bytes in [plain, encoded()] {
            for n in 0..bytes.len() {
                let _ = Segment::decode(bytes[..n].to_vec());
                let mut b = bytes.clone();
                b[n] ^= 0xff;
                if let Ok(s) = Segment::decode(b) {
                    for i in 0..s.len() {
                        let _ = (s.record(i), s.body(i, true), s.body(i, false));
                    }
                }
            }
            let mut huge = bytes.clone();
            huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
            assert!(Segment::decode(huge).is_err());
        }
        // A compressed length no block of this size can give is refused (`decompress` checks it before it allocates).
        let mut lying = encoded();
        lying[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Segment::decode(lying).unwrap_err(), SegmentError::Compressed);
    }
}
