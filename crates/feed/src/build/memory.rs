//! Resident memory from `/proc/self/status` and the phase timings printed with it when `TAXII_EDGE_TIMINGS` is
//! set.

/// Phase timings and resident memory on stderr when `TAXII_EDGE_TIMINGS` is set (for the benchmark's profile).
pub(super) struct Phases {
    clock: Clock,
    /// When the last phase ended.
    last: std::cell::Cell<std::time::Instant>,
}

impl Phases {
    pub(super) fn start() -> Phases {
        let clock = Clock { on: std::env::var_os("TAXII_EDGE_TIMINGS").is_some(), start: std::time::Instant::now() };
        Phases { clock, last: clock.start.into() }
    }

    /// Whether the timings are printed.
    pub(super) fn on(&self) -> bool {
        self.clock.on
    }

    pub(super) fn mark(&self, what: &str) {
        if self.clock.on {
            let now = std::time::Instant::now();
            self.clock.print(what, self.last.get(), now, "at");
            self.last.set(now);
        }
    }

    /// What times steps that run on other threads ([`Clock::took`]).
    pub(super) fn clock(&self) -> Clock {
        self.clock
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
            self.print(what, started, std::time::Instant::now(), "ended at");
        }
    }

    /// One `[timing]` line: the step `what` from `from` to `to`, and where `to` falls after the start.
    fn print(&self, what: &str, from: std::time::Instant, to: std::time::Instant, at: &str) {
        eprintln!(
            "[timing] {what}: {:.2} s ({at} {:.2} s, {})",
            (to - from).as_secs_f64(),
            (to - self.start).as_secs_f64(),
            memory()
        );
    }
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
