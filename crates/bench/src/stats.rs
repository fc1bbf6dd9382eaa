//! Medians and minimums of repeated measurements.

use std::time::Duration;

/// The median (the lower middle value for an even count); `None` when empty.
pub fn median<T: Copy + Ord>(values: &[T]) -> Option<T> {
    let mut v = values.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        None
    } else {
        Some(v[(v.len() - 1) / 2])
    }
}

/// The smallest value; `None` when empty.
pub fn min<T: Copy + Ord>(values: &[T]) -> Option<T> {
    values.iter().copied().min()
}

/// `12 ms`, `1.23 s`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Kibibytes as `12.3 MB` (MiB).
pub fn fmt_kib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// `a / b` as `3.4×`; `—` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "—".to_string()
    } else {
        format!("{:.1}×", a / b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_min() {
        assert_eq!(median::<u32>(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(min(&[4, 1, 3]), Some(1));
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1234)), "1.23 s");
        assert_eq!(fmt_kib(2048), "2.0 MB");
        assert_eq!(ratio(30.0, 10.0), "3.0×");
        assert_eq!(ratio(1.0, 0.0), "—");
    }
}
