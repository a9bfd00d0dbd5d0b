//! `netring replay`: send the frames of a pcap or pcapng file through
//! AF_PACKET (`sendmmsg` or the TX ring) or an AF_XDP socket, at the file's own timing (as
//! tcpreplay), faster or slower, at a fixed rate of frames or of bits, or as
//! fast as possible; with tcpreplay's controls (`--loop`, `--loopdelay-ms`,
//! `--limit`, `--duration`, `--preload`, `--no-preload`, `--stats`).
//!
//! The file is read into memory once when it fits the preload budget
//! ([`source::Preloaded`]), else streamed on every pass; each record is
//! copied straight into a TX ring slot, `sendmmsg` buffer or UMEM frame, nothing is allocated per
//! frame. A paced run reports the rate it achieved and its inter-frame gap
//! error ([`pace::GapStats`]).

mod source;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use netring::pcap::{LINKTYPE_ETHERNET, Reader};
use netring::{Error, PacketSink, SinkSlot};

use crate::args::{Limits, NetnsArg, Report, check_range, parse_secs};
use crate::backend::{self, TxArgs, with_sink};
use crate::output::{self, Progress};
use crate::pace::{self, GapStats, Rate, Schedule};
use crate::signals::Live;
use source::{Frames, Preloaded, Streamed};

/// `-d` of a paced run: the schedule ends, not the clock.
const DURATION_HELP: &str = "Stop after this many seconds (paced: once every frame due in that time is sent, so a \
     sender held up near the end still sends them all)";

/// Arguments of `netring replay`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("count", |a| a.visible_alias("limit").help("Stop after this many frames (all passes together)")),
    mut_arg("duration", |a| a.help(DURATION_HELP)),
)]
pub struct Args {
    /// Interface to send on.
    #[arg(short, long)]
    interface: String,
    /// The pcap or pcapng file.
    file: PathBuf,
    /// Play the file's timing this many times faster (0.5 = half speed;
    /// 1e-6..=1e6).
    #[arg(long, visible_alias = "multiplier", default_value_t = 1.0, conflicts_with_all = ["rate", "mbps", "topspeed"])]
    speed: f64,
    /// Ignore the file's timing: this many frames per second, evenly spread
    /// (1e-3..=1e9).
    #[arg(long, visible_alias = "pps", conflicts_with_all = ["topspeed", "mbps"])]
    rate: Option<f64>,
    /// Ignore the file's timing: this many megabits per second of frame
    /// bytes (Ethernet header to the end of the payload, as tcpreplay
    /// counts; 1e-3..=1e7).
    #[arg(long, conflicts_with = "topspeed")]
    mbps: Option<f64>,
    /// Ignore the file's timing: as fast as possible.
    #[arg(long)]
    topspeed: bool,
    /// Play the file this many times (0: until interrupted; a file without
    /// records ends the run after its first pass).
    #[arg(long = "loop", default_value_t = 1)]
    loops: u64,
    /// Wait this many milliseconds between passes.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    loopdelay_ms: u64,
    #[command(flatten)]
    limits: Limits,
    /// Read the whole file into memory before sending, whatever its size
    /// (up to MemAvailable; a larger file is streamed, with a warning).
    #[arg(long, conflicts_with_all = ["no_preload", "preload_budget"])]
    preload: bool,
    /// Read the file as it is sent, on every pass.
    #[arg(long)]
    no_preload: bool,
    /// Preload the file when its records take at most SIZE bytes, stream it
    /// otherwise (k/m/g suffixes: KiB, MiB, GiB; default: a quarter of
    /// MemAvailable).
    #[arg(long, value_name = "SIZE", value_parser = parse_budget, conflicts_with = "no_preload")]
    preload_budget: Option<u64>,
    /// Print a progress line on stderr every this many seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    stats: Option<Duration>,
    #[command(flatten)]
    tx: TxArgs,
    /// TX ring slots (default: 4 MiB worth; AF_PACKET only: with
    /// --tx-method auto, sends through the TX ring rather than sendmmsg).
    #[arg(long)]
    ring_frames: Option<usize>,
    #[command(flatten)]
    report: Report,
    #[command(flatten)]
    ns: NetnsArg,
}

/// Parse `--preload-budget`: bytes, with an optional k/m/g suffix.
fn parse_budget(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size in bytes (e.g. 65536, 512k, 64m, 2g)");
    let (num, shift) = match s.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (&s[..s.len() - 1], 10),
        Some('m') => (&s[..s.len() - 1], 20),
        Some('g') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

/// Farther than any wait a bounded speed asks for (about 34,000 years).
const FAR: Duration = Duration::from_secs(1 << 40);
/// The slowest `--speed` (a file's second becomes about 11.6 days).
const MIN_SPEED: f64 = 1e-6;
/// The fastest `--speed`.
const MAX_SPEED: f64 = 1e6;
/// Frames a late paced sender queues before it kicks the kernel.
const CATCH_UP: usize = 64;

#[derive(Debug, Clone, Copy)]
enum Timing {
    Original(f64),
    Rate(Rate),
    Top,
}

/// Where the frames come from.
enum Source {
    Preloaded(Preloaded),
    Streamed(Box<Streamed>),
}

/// Run `netring replay`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    let timing = match (a.topspeed, Rate::from_args(a.rate, a.mbps)?) {
        (true, _) => Timing::Top,
        (false, Some(r)) => Timing::Rate(r),
        (false, None) => Timing::Original(check_range("speed", a.speed, MIN_SPEED, MAX_SPEED, "a factor")?),
    };
    if a.stats.is_some_and(|d| d.is_zero()) {
        return Err(Error::InvalidConfig {
            name: "stats",
            value: "0".into(),
            rule: "must be more than 0 seconds".into(),
        });
    }
    a.tx.check_batch()?;
    // Open the file first: a bad file fails before anything is sent.
    let first = Reader::open(&a.file)?;
    if first.linktype() != LINKTYPE_ETHERNET {
        // netring's limit, not the kernel's.
        return Err(Error::InvalidConfig {
            name: "file",
            value: a.file.display().to_string(),
            rule: format!("has link type {}: netring replays only Ethernet (link type 1) files", first.linktype()),
        });
    }
    let mut frames = if a.no_preload {
        Source::Streamed(Box::new(Streamed::new(&a.file, first)))
    } else {
        let budget = match (a.preload, a.preload_budget) {
            (true, _) => source::mem_available().unwrap_or(u64::MAX),
            (false, Some(b)) => b,
            (false, None) => source::mem_available().map_or(256 << 20, |b| b / 4),
        };
        let file_len = std::fs::metadata(&a.file)
            .map_err(|source| Error::File { op: "stat", path: a.file.clone(), source })?
            .len();
        match Preloaded::load(first, file_len, budget)? {
            Some(p) => {
                tracing::info!(records = p.len(), bytes = p.memory(), "file preloaded");
                Source::Preloaded(p)
            }
            None => {
                if a.preload {
                    eprintln!(
                        "netring replay: {}: its records take more than MemAvailable ({budget} bytes): streamed",
                        a.file.display()
                    );
                }
                tracing::info!(budget, "file larger than the preload budget: streamed");
                Source::Streamed(Box::new(Streamed::new(&a.file, Reader::open(&a.file)?)))
            }
        }
    };
    let mut sink = a.tx.open(&a.interface, a.ring_frames, a.ns.name())?;
    with_sink!(sink, |s| match frames {
        Source::Preloaded(ref mut p) => replay(&a, timing, p, true, s),
        Source::Streamed(ref mut f) => replay(&a, timing, &mut **f, false, s),
    })
}

/// Frames of a paced run handed to the kernel together: queued, then
/// kicked at once, their hand-over time recorded.
struct Pending {
    due: [(Instant, u32); CATCH_UP],
    n: usize,
    gaps: GapStats,
}

impl Pending {
    /// Kick the kernel for the queued frames and record when.
    fn kick<S: PacketSink>(&mut self, inj: &mut S) -> Result<(), Error> {
        if self.n == 0 {
            return Ok(());
        }
        let at = Instant::now();
        inj.flush()?;
        for &(due, len) in &self.due[..self.n] {
            self.gaps.record(due, at, len as usize);
        }
        self.n = 0;
        Ok(())
    }
}

/// `--stats`: a line every so often.
struct Ticker {
    every: Duration,
    next: Instant,
    /// Frames and bytes at the last line, and when.
    last: (u64, u64, Instant),
}

impl Ticker {
    fn new(every: Duration, start: Instant) -> Self {
        Self { every, next: start + every, last: (0, 0, start) }
    }

    /// Print the line if it is time.
    fn tick(&mut self, now: Instant, start: Instant, frames: u64, bytes: u64, pass: u64, loops: u64) {
        if now < self.next {
            return;
        }
        let (f0, b0, t0) = self.last;
        let dt = now.saturating_duration_since(t0).as_secs_f64().max(1e-9);
        let of = if loops == 0 { "∞".to_string() } else { loops.to_string() };
        eprintln!(
            "netring replay: {:.1} s: {frames} frames ({bytes} bytes) sent, pass {}/{of}; last {dt:.1} s: {:.0} frames/s, {:.3} Mbit/s",
            now.saturating_duration_since(start).as_secs_f64(),
            pass + 1,
            (frames - f0) as f64 / dt,
            (bytes - b0) as f64 * 8.0 / dt / 1e6,
        );
        self.last = (frames, bytes, now);
        self.next = (self.next + self.every).max(now);
    }
}

/// Queue `data` in a slot of `inj`, waiting for room while the ring is
/// full; `false` if a stop came while waiting.
#[inline]
fn put<S: PacketSink>(inj: &mut S, data: &[u8], stopped: &dyn Fn() -> bool) -> Result<bool, Error> {
    if let Some(mut slot) = inj.allocate(data.len())? {
        slot.copy_from_slice(data);
        slot.send();
        return Ok(true);
    }
    loop {
        if let Some(mut slot) = inj.allocate_blocking(data.len(), Some(Duration::from_millis(100)))? {
            slot.copy_from_slice(data);
            slot.send();
            return Ok(true);
        }
        if stopped() {
            return Ok(false);
        }
    }
}

/// The replay loop, for any transmit path and source.
fn replay<S: PacketSink, F: Frames>(
    a: &Args,
    timing: Timing,
    src: &mut F,
    preloaded: bool,
    inj: &mut S,
) -> Result<ExitCode, Error> {
    let max = inj.max_frame_len();
    let live = Arc::new(Live::default());
    let stop = crate::signals::on_stop("replay", Some(Arc::clone(&live)), || {})?;
    let stopped = || stop.load(Ordering::Acquire);
    let mut progress = Progress::new(a.report.quiet || a.report.json());
    let limit = a.limits.count.unwrap_or(u64::MAX);
    let loop_delay = Duration::from_millis(a.loopdelay_ms);

    let start = Instant::now();
    let deadline = a.limits.until.deadline(start);
    let mut ticker = a.stats.map(|every| Ticker::new(every, start));
    let (mut queued, mut bytes, mut skipped, mut pass) = (0u64, 0u64, 0u64, 0u64);
    let mut schedule = match timing {
        Timing::Rate(r) => Some(Schedule::new(start, r)),
        _ => None,
    };
    let mut waiter = pace::Waiter::default();
    let mut pending = Pending { due: [(start, 0); CATCH_UP], n: 0, gaps: GapStats::default() };
    let outcome = (|| -> Result<(), Error> {
        'passes: while (a.loops == 0 || pass < a.loops) && !stopped() && queued < limit {
            if pass > 0 {
                src.rewind()?;
                if !loop_delay.is_zero() {
                    pending.kick(inj)?;
                    inj.flush()?;
                    let until = Instant::now() + loop_delay;
                    waiter.wait_until(until, &stopped);
                    if let Some(s) = schedule.as_mut() {
                        s.delay_to(until);
                    }
                }
            }
            let pass_start = Instant::now();
            let mut first_ts = None;
            let mut in_batch = 0;
            let queued_before = queued;
            while let Some((ts, data)) = src.next_frame()? {
                if data.len() > max {
                    skipped += 1;
                    tracing::warn!(len = data.len(), max, "record longer than the interface takes: skipped");
                    continue;
                }
                let due = match timing {
                    Timing::Top => None,
                    Timing::Rate(_) => schedule.as_ref().map(Schedule::next),
                    Timing::Original(speed) => {
                        let rel = ts.saturating_sub(*first_ts.get_or_insert(ts));
                        // Bounded speed keeps this within range; saturate anyway.
                        let wait = Duration::try_from_secs_f64(rel as f64 / 1e9 / speed).unwrap_or(FAR).min(FAR);
                        Some(pass_start + wait)
                    }
                };
                let Some(due) = due else {
                    // Top speed: checks once per batch.
                    if !put(inj, data, &stopped)? {
                        break 'passes;
                    }
                    queued += 1;
                    bytes += data.len() as u64;
                    in_batch += 1;
                    if in_batch >= a.tx.batch || queued >= limit {
                        inj.flush()?;
                        in_batch = 0;
                        live.set(queued, bytes);
                        let now = Instant::now();
                        if let Some(t) = ticker.as_mut() {
                            t.tick(now, start, queued, bytes, pass, a.loops);
                        }
                        progress.show(|| line(inj, pass, a.loops, start));
                        if queued >= limit || stopped() || deadline.is_some_and(|d| now >= d) {
                            break 'passes;
                        }
                    }
                    continue;
                };
                // Paced: -d ends the schedule, so a sender that was late
                // still sends every frame due before it.
                if deadline.is_some_and(|d| due >= d) {
                    break 'passes;
                }
                let on_time = due > Instant::now();
                if on_time {
                    // Frames already queued leave now, not with this one.
                    pending.kick(inj)?;
                    waiter.wait_until(due, &stopped);
                }
                if stopped() || !put(inj, data, &stopped)? {
                    break 'passes;
                }
                pending.due[pending.n] = (due, data.len() as u32);
                pending.n += 1;
                if let Some(s) = schedule.as_mut() {
                    s.advance(data.len());
                }
                queued += 1;
                bytes += data.len() as u64;
                if on_time || pending.n == CATCH_UP {
                    pending.kick(inj)?;
                }
                live.set(queued, bytes);
                if let Some(t) = ticker.as_mut() {
                    t.tick(Instant::now(), start, queued, bytes, pass, a.loops);
                }
                progress.show(|| line(inj, pass, a.loops, start));
                if queued >= limit {
                    break 'passes;
                }
            }
            pass += 1;
            if queued == queued_before && (a.loops == 0 || pass < a.loops) {
                // Another pass would send nothing either: with --loop 0 it
                // would spin forever.
                eprintln!(
                    "netring replay: {}: a pass sent no frame ({}): not playing it again",
                    a.file.display(),
                    if skipped > 0 { "every record was skipped" } else { "the file holds no records" }
                );
                break;
            }
        }
        pending.kick(inj)
    })();
    // Whatever ended the run, what was queued leaves and is counted.
    let drained = inj.flush().and_then(|()| inj.wait_drained(Some(Duration::from_secs(5))));
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    let s = inj.tx_stats();
    let mut extra = vec![
        ("preloaded", serde_json::json!(preloaded), String::new()),
        ("passes", serde_json::json!(pass), String::new()),
    ];
    if !matches!(timing, Timing::Top) {
        let requested = match timing {
            Timing::Rate(r) => Some(r),
            _ => None,
        };
        let r = pending.gaps.report(requested);
        extra.push(("pacing", r.json(), r.line("replay")));
    }
    backend::report(a.report.json(), "replay", &s, seconds, &extra)?;
    if skipped > 0 {
        eprintln!("netring replay: {skipped} records longer than {max} bytes skipped");
    }
    outcome?;
    drained?;
    Ok(ExitCode::SUCCESS)
}

/// The live progress line.
fn line<S: PacketSink>(inj: &mut S, pass: u64, loops: u64, start: Instant) -> String {
    let s = inj.tx_stats();
    let of = if loops == 0 { "∞".to_string() } else { loops.to_string() };
    format!("replay: pass {}/{of}, {} sent, {}", pass + 1, s.sent, output::rate(s.sent, start.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse() {
        assert_eq!(parse_budget("65536"), Ok(65536));
        assert_eq!(parse_budget("512k"), Ok(512 << 10));
        assert_eq!(parse_budget("64M"), Ok(64 << 20));
        assert_eq!(parse_budget("2g"), Ok(2 << 30));
        assert!(parse_budget("x").is_err() && parse_budget("1t").is_err() && parse_budget("").is_err());
        assert!(parse_budget("99999999999999g").is_err());
    }
}
