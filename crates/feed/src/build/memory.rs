//! Resident memory from `/proc/self/status` and the phase timings printed with it when `TAXII_EDGE_TIMINGS` is
//! set.

/// Phase timings and resident memory on stderr when `TAXII_EDGE_TIMINGS` is set (for the benchmark's profile).
pub(super) struct Phases {
    pub(super) on: bool,
    pub(super) start: std::time::Instant,
    pub(super) last: std::cell::Cell<std::time::Instant>,
}

impl Phases {
    pub(super) fn start() -> Phases {
        let now = std::time::Instant::now();
        Phases { on: std::env::var_os("TAXII_EDGE_TIMINGS").is_some(), start: now, last: now.into() }
    }

    pub(super) fn mark(&self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            print_step(what, self.last.get(), now, "at", self.start);
            self.last.set(now);
        }
    }

    /// What times steps that run on other threads ([`Clock::took`]).
    pub(super) fn clock(&self) -> Clock {
        Clock { on: self.on, start: self.start }
    }
}

/// Times a step on any thread, without moving the marks of the [`Phases`] it came from.
#[derive(Clone, Copy)]
pub(super) struct Clock {
    on: bool,
    start: std::time::Instant,
}

impl Clock {
    /// Prints the step `what` that started at `started` and ends now.
    pub(super) fn took(&self, what: &str, started: std::time::Instant) {
        if self.on {
            print_step(what, started, std::time::Instant::now(), "ended at", self.start);
        }
    }
}

/// One `[timing]` line: the step `what` from `from` to `to`, and where `to` falls after `start`.
fn print_step(what: &str, from: std::time::Instant, to: std::time::Instant, at: &str, start: std::time::Instant) {
    eprintln!(
        "[timing] {what}: {:.2} s ({at} {:.2} s, {})",
        (to - from).as_secs_f64(),
        (to - start).as_secs_f64(),
        memory()
    );
}

/// The process's resident memory now and at its peak so far (Linux), for the timings.
pub fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(String::from("?"), |kb| format!("{} MB", kb * 1024 / 1_000_000))
    };
    format!("rss {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}
