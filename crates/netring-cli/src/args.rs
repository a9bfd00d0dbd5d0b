//! The arguments every verb shares, defined once here and flattened into
//! each verb's `Args` with `#[command(flatten)]`: `-q` and `--json`
//! ([`Report`], [`Json`]), `-c` and `-d` ([`Limits`], [`Until`]), and
//! `--netns` ([`NetnsArg`]).
//!
//! Flag names, short flags and parsing live here only. Where a verb's help
//! says more than the shared wording (what `-q` silences, what the JSON
//! object holds), the verb rewords it with
//! `#[command(mut_arg("quiet", |a| a.help("…")))]`.
//!
//! `--netns NAME` runs the work on a thread inside the named namespace
//! (`/run/netns/NAME`, or any name with a `/` as a path such as
//! `/proc/PID/ns/net`), and the
//! sockets it opens stay there — no `ip netns exec` needed.

use std::time::{Duration, Instant};

use netring::Error;
use netring::netns::NetNs;

/// `-q` and `--json`: how much a verb says while it runs, and whether it
/// ends with one JSON object on stdout.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Report {
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub json: Json,
}

impl Report {
    /// `--json` was given.
    pub fn json(&self) -> bool {
        self.json.json
    }
}

/// `--json`: one JSON object on stdout; human output goes to stderr.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Json {
    /// Print one JSON object with the counts on stdout at exit.
    #[arg(long)]
    pub json: bool,
}

/// `-c` and `-d`: when a run stops by itself.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[command(mut_arg("duration", |a| a.help("Stop after this many seconds")))]
pub struct Limits {
    /// Stop after this many packets.
    #[arg(short, long)]
    pub count: Option<u64>,
    #[command(flatten)]
    pub until: Until,
}

impl Limits {
    /// Whether `n` packets reach the count.
    pub fn reached(&self, n: u64) -> bool {
        self.count.is_some_and(|c| n >= c)
    }
}

/// `-d`: stop after a while.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Until {
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(short, long, value_parser = parse_secs)]
    pub duration: Option<Duration>,
}

impl Until {
    /// When a run that started at `start` ends, if `-d` was given.
    pub fn deadline(&self, start: Instant) -> Option<Instant> {
        self.duration.map(|d| start + d)
    }
}

/// The `--netns` option.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NetnsArg {
    /// Run inside this network namespace (a name from `ip netns`, or, with
    /// a `/`, a path such as /proc/PID/ns/net or ./ns). Needs CAP_SYS_ADMIN.
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
}

impl NetnsArg {
    /// Run `f` inside the namespace, or here without `--netns`.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> Result<T, Error> + Send) -> Result<T, Error> {
        match &self.netns {
            Some(name) => NetNs::open(name)?.run(f)?,
            None => f(),
        }
    }

    /// The namespace name, for builders' `.netns()`.
    pub fn name(&self) -> Option<&str> {
        self.netns.as_deref()
    }
}

/// The longest duration any option takes (`-d`, `-G`, `stats --interval`):
/// 10⁹ seconds, about 31 years. Longer values are refused rather than
/// overflowing a clock (Rust's `Duration` and `Instant` panic past their range).
pub const MAX_SECONDS: f64 = 1e9;

/// Parse seconds as a decimal number (`1`, `0.25`), from 0 to
/// [`MAX_SECONDS`].
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} must be a non-negative number of seconds"));
    }
    if v > MAX_SECONDS {
        return Err(format!("{s} seconds is more than the longest duration taken, {MAX_SECONDS:e} s (about 31 years)"));
    }
    Duration::try_from_secs_f64(v).map_err(|e| format!("{s:?} is not a duration: {e}"))
}

/// Check that `value` of option `name` lies in `min..=max` (and is a
/// number): a rate or a speed factor far out of range would overflow the
/// pacing clock.
///
/// # Errors
///
/// [`Error::InvalidConfig`] naming the option, the value and the range.
pub fn check_range(name: &'static str, value: f64, min: f64, max: f64, what: &str) -> Result<f64, Error> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(value)
    } else {
        let value =
            if value != 0.0 && !(1e-4..1e15).contains(&value.abs()) { format!("{value:e}") } else { value.to_string() };
        Err(Error::InvalidConfig { name, value, rule: format!("must be {what} from {min:e} to {max:e}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_secs("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("x").is_err());
        assert_eq!(parse_secs("1e9").unwrap(), Duration::from_secs(1_000_000_000));
    }

    #[test]
    fn huge_durations_are_refused_naming_the_value_and_the_limit() {
        for s in ["1e20", "1e30", "1e300", "1000000001"] {
            let e = parse_secs(s).unwrap_err();
            assert!(e.contains(s) && e.contains("1e9 s"), "{e}");
        }
        assert!(parse_secs("inf").is_err());
        assert!(parse_secs("NaN").is_err());
    }

    #[test]
    fn ranges_name_the_option_and_the_bounds() {
        assert_eq!(check_range("speed", 2.0, 1e-6, 1e6, "a factor").unwrap(), 2.0);
        let e = check_range("speed", 1e-30, 1e-6, 1e6, "a factor").unwrap_err().to_string();
        assert_eq!(e, "invalid speed = 1e-30: must be a factor from 1e-6 to 1e6");
        assert!(check_range("rate", f64::NAN, 1e-3, 1e9, "x").is_err());
    }
}
