//! Phase timings: how long each step of a command took, on standard error when `TAXII_EDGE_TIMINGS` is set (what
//! the benchmarks read; nothing is printed otherwise).

/// The steps of one command, each timed from the end of the one before.
pub struct Phases {
    on: bool,
    /// What the lines start with after `[timing] `, e.g. `sync`.
    what: &'static str,
    last: std::cell::Cell<std::time::Instant>,
}

impl Phases {
    pub fn start(what: &'static str) -> Phases {
        Phases { on: std::env::var_os("TAXII_EDGE_TIMINGS").is_some(), what, last: std::time::Instant::now().into() }
    }

    /// Prints the time since the last mark (or the start) as the step `step`'s.
    pub fn mark(&self, step: &str) {
        if self.on {
            eprintln!("[timing] {} {step}: {:.2} s", self.what, self.last.get().elapsed().as_secs_f64());
        }
        self.last.set(std::time::Instant::now());
    }
}
