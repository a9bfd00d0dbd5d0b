//! `netring gen`: numbered frames through AF_PACKET (`sendmmsg` or the TX
//! ring) or an AF_XDP socket, at top speed or paced evenly by the clock.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use netring::{Error, PacketSink, SinkSlot};

use crate::args::{Limits, NetnsArg, Report};
use crate::backend::{self, TxArgs, with_sink};
use crate::frames::FrameArgs;
use crate::output::{self, Progress};
use crate::pace::{self, GapStats, Rate, Schedule};
use crate::signals::Live;

/// Arguments of `netring gen`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("count", |a| a.help("Send this many frames (default: until -d or Ctrl-C)")),
    mut_arg("duration", |a| a.help(
        "Stop after this many seconds (with --rate/--mbps: once every frame due in that time is sent, so a sender \
         held up near the end still sends them all)"
    )),
)]
pub struct Args {
    /// Interface to send on.
    #[arg(short, long)]
    interface: String,
    #[command(flatten)]
    limits: Limits,
    /// Frame size in bytes, Ethernet header included (60..=MTU+14).
    #[arg(short, long, default_value_t = 60)]
    size: usize,
    /// Frames per second, spread evenly (1e-3..=1e9; default: as fast as possible). A
    /// preempted generator catches up, so on a busy host run it under
    /// SCHED_FIFO for even gaps: `chrt -f 50 netring gen --rate …`.
    #[arg(long, visible_alias = "pps", conflicts_with = "mbps")]
    rate: Option<f64>,
    /// Megabits per second of frame bytes (Ethernet header to the end of
    /// the payload, as tcpreplay counts), spread evenly (1e-3..=1e7).
    #[arg(long)]
    mbps: Option<f64>,
    #[command(flatten)]
    frame: FrameArgs,
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

/// Run `netring gen`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    let rate = Rate::from_args(a.rate, a.mbps)?;
    a.tx.check_batch()?;
    let mut sink = a.tx.open(&a.interface, a.ring_frames, a.ns.name())?;
    with_sink!(sink, |s| generate(&a, rate, s))
}

/// Frames a late paced sender queues per kick while it catches up.
const CATCH_UP: usize = 64;

/// The generator loop, for any transmit path.
fn generate<S: PacketSink>(a: &Args, rate: Option<Rate>, inj: &mut S) -> Result<ExitCode, Error> {
    let max = inj.max_frame_len();
    if !(60..=max).contains(&a.size) {
        return Err(Error::InvalidConfig {
            name: "size",
            value: a.size.to_string(),
            rule: format!("must be 60..={max} (MTU + link header of {})", a.interface),
        });
    }
    let live = Arc::new(Live::default());
    let stop = crate::signals::on_stop("gen", Some(Arc::clone(&live)), || {})?;
    let stopped = || stop.load(Ordering::Acquire);
    let mut frames = a.frame.generator(inj)?;
    let limit = a.limits.count.unwrap_or(u64::MAX);
    let mut progress = Progress::new(a.report.quiet || a.report.json());

    let start = Instant::now();
    let deadline = a.limits.until.deadline(start);
    // Paced, -d ends the schedule rather than the clock: a sender that was
    // preempted near the end still sends every frame due before it (the
    // clock's deadline cut those, up to 2 % short on a loaded host).
    let over =
        |seq: u64| seq >= limit || (rate.is_none() && deadline.is_some_and(|d| Instant::now() >= d)) || stopped();
    let mut schedule = rate.map(|r| Schedule::new(start, r));
    let mut gaps = GapStats::default();
    let mut dues = [start; CATCH_UP];
    let mut waiter = pace::Waiter::default();
    let mut seq = 0u64;
    let outcome = (|| -> Result<(), Error> {
        while !over(seq) {
            // How many frames are due now: a batch at top speed, or the
            // frames whose time has come on the paced schedule.
            let n = match &schedule {
                None => a.tx.batch as u64,
                Some(s) => {
                    let next = s.next();
                    if deadline.is_some_and(|d| next >= d) {
                        break;
                    }
                    waiter.wait_until(next, &stopped);
                    if over(seq) {
                        break;
                    }
                    s.due_by(Instant::now(), deadline, a.size, a.tx.batch.min(CATCH_UP))
                }
            }
            .min(limit - seq);
            let mut queued = 0;
            for _ in 0..n {
                let generation = inj.buffer_generation();
                let Some(mut slot) = inj.allocate_blocking(a.size, Some(Duration::from_millis(100)))? else {
                    break; // ring still full: look at the clock and the stop flag again
                };
                // The template once per slot, then only what varies.
                frames.write(&mut slot, generation, seq);
                slot.send();
                seq += 1;
                if let Some(s) = schedule.as_mut() {
                    dues[queued] = s.next();
                    s.advance(a.size);
                }
                queued += 1;
            }
            let handed = Instant::now();
            inj.flush()?;
            if schedule.is_some() {
                for &due in &dues[..queued] {
                    gaps.record(due, handed, a.size);
                }
            }
            live.set(seq, seq * a.size as u64);
            progress.show(|| {
                let s = inj.tx_stats();
                format!(
                    "gen: {} sent, {} rejected, {}",
                    s.sent,
                    s.rejected,
                    output::rate(s.sent, start.elapsed().as_secs_f64())
                )
            });
        }
        inj.flush()?;
        // Count a frame as sent only once the kernel released it.
        if !inj.wait_drained(Some(Duration::from_secs(5)))? {
            tracing::warn!(pending = inj.tx_stats().pending, "frames still queued 5 s after the last one");
        }
        Ok(())
    })();
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    let s = inj.tx_stats();
    let pacing = rate.map(|r| gaps.report(Some(r)));
    let extra: Vec<_> = pacing.iter().map(|p| ("pacing", p.json(), p.line("gen"))).collect();
    backend::report(a.report.json(), "gen", &s, seconds, &extra)?;
    outcome?;
    Ok(ExitCode::SUCCESS)
}
