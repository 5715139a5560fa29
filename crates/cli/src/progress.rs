//! Progress on standard error: bars and spinners, drawn only when it is a terminal (never in logs or pipes).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on standard error, drawn only when it is a terminal.
pub fn bar(len: u64, template: &str) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(ProgressStyle::with_template(template).expect("valid template"));
    b
}

/// A spinner for a step of unknown length (drawn only on a terminal).
pub fn spinner(message: &str) -> ProgressBar {
    let b = bar(0, "{spinner} {msg} ({elapsed})");
    b.set_message(message.to_string());
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    b
}
