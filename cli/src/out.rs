//! Output: JSON on stdout for machines, coloured text for people (only on a terminal).

use console::style;
use serde::Serialize;

/// Prints a value as pretty JSON on stdout. A closed stdout (`keyroll info --json | head`)
/// ends the output quietly instead of panicking: the command's work is done either way.
pub fn json<T: Serialize>(value: &T) {
    use std::io::Write;
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        Err(e) => eprintln!("keyroll: cannot encode JSON: {e}"),
    }
}

/// Green text (success).
pub fn good(text: impl std::fmt::Display) -> String {
    style(text.to_string()).green().to_string()
}

/// Yellow text (warning).
pub fn warn(text: impl std::fmt::Display) -> String {
    style(text.to_string()).yellow().to_string()
}

/// Red text (failure).
pub fn bad(text: impl std::fmt::Display) -> String {
    style(text.to_string()).red().bold().to_string()
}

/// Bold text (headings).
pub fn bold(text: impl std::fmt::Display) -> String {
    style(text.to_string()).bold().to_string()
}

/// Dim text (details).
pub fn dim(text: impl std::fmt::Display) -> String {
    style(text.to_string()).dim().to_string()
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A duration in days, one decimal.
pub fn days(seconds: u64) -> String {
    format!("{:.1} days", seconds as f64 / 86_400.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_times() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(super::time(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
