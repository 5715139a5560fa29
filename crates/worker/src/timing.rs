//! The `Server-Timing` header of every response: where the request's time went.

/// Where a request's time went, as the `Server-Timing` header gives it (browsers' developer tools show it; the
/// benchmark reads it): `prepare` (the pointer, the snapshot's metadata, authentication), `cache` (the edge cache's
/// lookup), `respond` (storage reads and rendering). The Workers runtime advances its clock only at I/O, so each
/// part is the time from the previous part's end to the I/O that ended it: the waits on storage and on the cache,
/// and the computing before them; whole milliseconds, so one request says little and a series' mean a lot.
pub struct Timing {
    last: f64,
    parts: Vec<(&'static str, f64)>,
}

impl Timing {
    pub fn start() -> Self {
        Timing { last: js_sys::Date::now(), parts: Vec::new() }
    }

    /// A response that is not sent to a client (the edge cache's copy) says nothing.
    pub fn none() -> Self {
        Timing { last: 0.0, parts: Vec::new() }
    }

    pub fn mark(&mut self, part: &'static str) {
        let now = js_sys::Date::now();
        self.parts.push((part, now - self.last));
        self.last = now;
    }

    pub fn header(&self) -> Option<String> {
        let parts: Vec<String> = self.parts.iter().map(|(part, ms)| format!("{part};dur={ms}")).collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}
