//! Signals a shell or a supervisor sends, turned into clean behaviour of
//! the running verb:
//!
//! | signal | what happens |
//! |---|---|
//! | `SIGINT`, `SIGTERM` | clean stop: files flushed, summary (and `--json`) printed, exit 0 |
//! | `SIGHUP` | a capture writing a file (`-w`): rotate the file (see [`Rotate`]), the run goes on; any other run: the same clean stop (the terminal went away) |
//! | `SIGUSR2`, `SIGALRM` | the same clean stop (their default action would kill the run and lose the buffered file) |
//! | `SIGUSR1` | the counters so far on one stderr line (as `dd`), and the run goes on |
//! | `SIGXFSZ` | caught, so a file past `RLIMIT_FSIZE` fails its write (`EFBIG`) and ends the run as a write error, the file valid |
//! | `SIGPIPE` | ignored (Rust's runtime does so): a closed stdout ends the per-packet lines quietly, a write error elsewhere |
//!
//! `SIGQUIT` keeps its default (quit with a core dump), as `SIGKILL` and
//! `SIGSTOP` must.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use netring::Error;
use signal_hook::consts::{SIGALRM, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGXFSZ};
use signal_hook::iterator::Signals;

/// The signals that end a run cleanly.
pub const STOP_SIGNALS: [i32; 5] = [SIGINT, SIGTERM, SIGHUP, SIGUSR2, SIGALRM];

/// What a running verb has done so far, published for `SIGUSR1` (relaxed
/// stores; a verb updates them once per batch or frame).
#[derive(Debug, Default)]
pub struct Live {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl Live {
    /// Publish the totals.
    pub fn set(&self, packets: u64, bytes: u64) {
        self.packets.store(packets, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
    }

    /// Add to the totals (for several threads).
    pub fn add(&self, packets: u64, bytes: u64) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The `SIGUSR1` line.
    fn line(&self, verb: &str, started: Instant) -> String {
        format!(
            "netring {verb}: {} packets ({} bytes) so far, {:.3} s",
            self.packets.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        )
    }
}

/// `SIGHUP` requests for a run that writes files: a count the signal
/// thread raises and the writer compares with the last one it acted on,
/// so each writer (one, or one per thread) rotates once per signal.
#[derive(Debug, Default)]
pub struct Rotate(AtomicU64);

impl Rotate {
    /// Requests so far.
    pub fn requested(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Whether a request came since `seen`, which is then brought up to date.
    pub fn take(&self, seen: &mut u64) -> bool {
        let now = self.requested();
        let new = now != *seen;
        *seen = now;
        new
    }
}

/// Handle the signals of the table above for `verb`. The returned flag is
/// set when a stop signal arrived; `on_signal` runs once, on a helper
/// thread, for the first one. With `live`, `SIGUSR1` prints its counters;
/// without, `SIGUSR1` is ignored (the verb prints its figures anyway).
///
/// # Errors
///
/// [`Error::Io`] naming the signal handler if the handler cannot be
/// registered or its thread cannot start.
pub fn on_stop(
    verb: &'static str,
    live: Option<Arc<Live>>,
    on_signal: impl FnOnce() + Send + 'static,
) -> Result<Arc<AtomicBool>, Error> {
    on_stop_or_rotate(verb, live, None, on_signal)
}

/// [`on_stop`], but with `rotate`, `SIGHUP` raises its count instead of
/// stopping the run.
///
/// # Errors
///
/// As [`on_stop`].
pub fn on_stop_or_rotate(
    verb: &'static str,
    live: Option<Arc<Live>>,
    rotate: Option<Arc<Rotate>>,
    on_signal: impl FnOnce() + Send + 'static,
) -> Result<Arc<AtomicBool>, Error> {
    let io = |source| Error::Io { call: "signal handler", source };
    let flag = Arc::new(AtomicBool::new(false));
    let mut signals = Signals::new(STOP_SIGNALS.iter().copied().chain([SIGUSR1, SIGXFSZ])).map_err(io)?;
    let f = Arc::clone(&flag);
    let started = Instant::now();
    std::thread::Builder::new()
        .name("netring-signals".into())
        .spawn(move || {
            let mut on_signal = Some(on_signal);
            for sig in signals.forever() {
                match sig {
                    SIGUSR1 => {
                        if let Some(l) = &live {
                            eprintln!("{}", l.line(verb, started));
                        }
                    }
                    SIGXFSZ => {} // the write that crossed the limit fails with EFBIG
                    SIGHUP if rotate.is_some() => {
                        if let Some(r) = &rotate {
                            r.0.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                    _ => {
                        f.store(true, Ordering::Release);
                        if let Some(stop) = on_signal.take() {
                            stop();
                        }
                    }
                }
            }
        })
        .map_err(io)?;
    Ok(flag)
}
