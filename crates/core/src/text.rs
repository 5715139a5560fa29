//! Client-supplied text as messages show it.

/// A client-supplied string, shortened for messages.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(100).collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}
