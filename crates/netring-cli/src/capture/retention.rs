//! `--max-total` and `--max-age`: the retention budget's sizes and
//! durations, parsed.

/// Parse `--max-total`: a number of bytes, with an optional k, m, g or t
/// (1024-based, as `-C`'s suffixes) and a fraction (`1.5G`).
pub fn parse_total(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size (e.g. 50G, 500M, 1.5G, 4096)");
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                _ => return Err(bad()),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// Parse `--max-age`: seconds, or a number with s, m, h or d (`30s`, `10m`,
/// `2h`, `7d`, `1.5h`).
pub fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{s:?} is not a duration (e.g. 30s, 10m, 2h, 7d)");
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                'd' => 86_400.0,
                _ => return Err(bad()),
            };
            (&t[..i], m)
        }
        _ => (t, 1.0),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    if !n.is_finite() || n <= 0.0 {
        return Err(bad());
    }
    crate::args::parse_secs(&(n * mult).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_sizes_and_ages_parse() {
        assert_eq!(parse_total("50G").unwrap(), 50 << 30);
        assert_eq!(parse_total("500M").unwrap(), 500 << 20);
        assert_eq!(parse_total("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_total("100k").unwrap(), 102_400);
        assert_eq!(parse_total("4096").unwrap(), 4096);
        assert_eq!(parse_total("2t").unwrap(), 2 << 40);
        for bad in ["0", "-1G", "G", "5q", "", "nan", "1e30"] {
            assert!(parse_total(bad).is_err(), "{bad}");
        }
        use std::time::Duration;
        assert_eq!(parse_age("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_age("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_age("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_age("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_age("1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["0", "0s", "-1m", "1w", "m", "1e12d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
