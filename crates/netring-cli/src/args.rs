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
//! (`/run/netns/NAME`, or a path such as `/proc/PID/ns/net`), and the
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
    /// Run inside this network namespace (a name from `ip netns`, or a path
    /// such as /proc/PID/ns/net). Needs CAP_SYS_ADMIN.
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

/// Parse seconds as a decimal number (`1`, `0.25`).
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} must be a non-negative number of seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_secs("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("x").is_err());
    }
}
