//! `netring gen`: numbered frames through the AF_PACKET TX ring or an
//! AF_XDP socket, at top speed or paced evenly by the clock.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use netring::{Error, PacketSink, SinkSlot};

use crate::args::{Limits, NetnsArg, Report, check_range};
use crate::backend::{self, TxArgs, with_sink};
use crate::frames::FrameArgs;
use crate::output::{self, Progress};
use crate::pace;
use crate::signals::Live;

/// Arguments of `netring gen`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("count", |a| a.help("Send this many frames (default: until -d or Ctrl-C)")))]
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
    #[arg(long)]
    rate: Option<f64>,
    #[command(flatten)]
    frame: FrameArgs,
    #[command(flatten)]
    tx: TxArgs,
    /// TX ring slots (default: 4 MiB worth; AF_PACKET only).
    #[arg(long)]
    ring_frames: Option<usize>,
    #[command(flatten)]
    report: Report,
    #[command(flatten)]
    ns: NetnsArg,
}

/// Run `netring gen`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    if let Some(r) = a.rate {
        check_range("rate", r, pace::MIN_RATE, pace::MAX_RATE, "a number of frames per second")?;
    }
    a.tx.check_batch()?;
    let mut sink = a.tx.open(&a.interface, a.ring_frames, a.ns.name())?;
    with_sink!(sink, |s| generate(&a, s))
}

/// The generator loop, for any transmit path.
fn generate<S: PacketSink>(a: &Args, inj: &mut S) -> Result<ExitCode, Error> {
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
    let over = |seq: u64| seq >= limit || deadline.is_some_and(|d| Instant::now() >= d) || stopped();
    let mut seq = 0u64;
    let outcome = (|| -> Result<(), Error> {
        while !over(seq) {
            // How many frames are due now: a batch at top speed, or the
            // frames whose time has come on the paced schedule.
            let n = match a.rate {
                None => a.tx.batch as u64,
                Some(pps) => {
                    let next = pace::due(start, seq, pps);
                    pace::wait_until(deadline.map_or(next, |d| next.min(d)), &stopped);
                    if over(seq) {
                        break;
                    }
                    let elapsed = start.elapsed().as_secs_f64();
                    ((elapsed * pps) as u64 + 1).saturating_sub(seq).clamp(1, a.tx.batch as u64)
                }
            }
            .min(limit - seq);
            for _ in 0..n {
                let generation = inj.buffer_generation();
                let Some(mut slot) = inj.allocate_blocking(a.size, Some(Duration::from_millis(100)))? else {
                    break; // ring still full: look at the clock and the stop flag again
                };
                // The template once per slot, then only what varies.
                frames.write(&mut slot, generation, seq);
                slot.send();
                seq += 1;
            }
            inj.flush()?;
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
    backend::report(a.report.json(), "gen", &s, seconds)?;
    outcome?;
    Ok(ExitCode::SUCCESS)
}
