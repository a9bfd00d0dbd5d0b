//! `--netns NAME`, shared by every verb that opens sockets or reads
//! interfaces: the work runs on a thread inside the named namespace
//! (`/run/netns/NAME`, or a path such as `/proc/PID/ns/net`), and the
//! sockets it opens stay there — no `ip netns exec` needed.

use std::time::Duration;

use netring::Error;
use netring::netns::NetNs;

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
