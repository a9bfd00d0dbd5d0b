//! `netring replay`: send the frames of a pcap or pcapng file through the
//! AF_PACKET TX ring or an AF_XDP socket, at the file's own timing (as tcpreplay), faster or
//! slower, at a fixed rate, or as fast as possible.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use netring::pcap::{FileInput, LINKTYPE_ETHERNET, Reader};
use netring::{Error, PacketSink, SinkSlot};

use crate::args::{NetnsArg, Report, check_range};
use crate::backend::{self, TxArgs, with_sink};
use crate::output::{self, Progress};
use crate::pace;
use crate::signals::Live;

/// Arguments of `netring replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface to send on.
    #[arg(short, long)]
    interface: String,
    /// The pcap or pcapng file.
    file: PathBuf,
    /// Play the file's timing this many times faster (0.5 = half speed;
    /// 1e-6..=1e6).
    #[arg(long, default_value_t = 1.0, conflicts_with_all = ["rate", "topspeed"])]
    speed: f64,
    /// Ignore the file's timing: this many frames per second, evenly spread
    /// (1e-3..=1e9).
    #[arg(long, conflicts_with = "topspeed")]
    rate: Option<f64>,
    /// Ignore the file's timing: as fast as possible.
    #[arg(long)]
    topspeed: bool,
    /// Play the file this many times (0: until interrupted; a file without
    /// records ends the run after its first pass).
    #[arg(long = "loop", default_value_t = 1)]
    loops: u64,
    #[command(flatten)]
    tx: TxArgs,
    #[command(flatten)]
    report: Report,
    #[command(flatten)]
    ns: NetnsArg,
}

/// Farther than any wait a bounded speed asks for (about 34,000 years).
const FAR: Duration = Duration::from_secs(1 << 40);
/// The slowest `--speed` (a file's second becomes about 11.6 days).
const MIN_SPEED: f64 = 1e-6;
/// The fastest `--speed`.
const MAX_SPEED: f64 = 1e6;

#[derive(Debug, Clone, Copy)]
enum Timing {
    Original(f64),
    Rate(f64),
    Top,
}

/// Run `netring replay`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    let timing = match (a.topspeed, a.rate) {
        (true, _) => Timing::Top,
        (false, Some(r)) => {
            Timing::Rate(check_range("rate", r, pace::MIN_RATE, pace::MAX_RATE, "a number of frames per second")?)
        }
        (false, None) => Timing::Original(check_range("speed", a.speed, MIN_SPEED, MAX_SPEED, "a factor")?),
    };
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
    let mut sink = a.tx.open(&a.interface, None, a.ns.name())?;
    with_sink!(sink, |s| replay(&a, timing, first, s))
}

/// The replay loop, for any transmit path.
fn replay<S: PacketSink>(a: &Args, timing: Timing, first: Reader<FileInput>, inj: &mut S) -> Result<ExitCode, Error> {
    let max = inj.max_frame_len();
    let live = Arc::new(Live::default());
    let stop = crate::signals::on_stop("replay", Some(Arc::clone(&live)), || {})?;
    let stopped = || stop.load(Ordering::Acquire);
    let mut progress = Progress::new(a.report.quiet || a.report.json());

    let start = Instant::now();
    let (mut queued, mut skipped, mut pass) = (0u64, 0u64, 0u64);
    let mut reader = Some(first);
    let outcome = (|| -> Result<(), Error> {
        while (a.loops == 0 || pass < a.loops) && !stopped() {
            let mut r = match reader.take() {
                Some(r) => r,
                None => Reader::open(&a.file)?,
            };
            let pass_start = Instant::now();
            let mut first_ts = None;
            let mut in_batch = 0;
            let queued_before = queued;
            while let Some(rec) = r.next_record()? {
                let target = match timing {
                    Timing::Top => None,
                    Timing::Rate(pps) => Some(pace::due(start, queued, pps)),
                    Timing::Original(speed) => {
                        let t0 = *first_ts.get_or_insert(rec.timestamp);
                        let rel = rec.timestamp.as_nanos().saturating_sub(t0.as_nanos());
                        // Bounded speed keeps this within range; saturate anyway.
                        let wait = Duration::try_from_secs_f64(rel as f64 / 1e9 / speed).unwrap_or(FAR).min(FAR);
                        Some(pass_start + wait)
                    }
                };
                if let Some(t) = target.filter(|&t| t > Instant::now()) {
                    // Frames already queued leave now, not with the next one.
                    inj.flush()?;
                    in_batch = 0;
                    pace::wait_until(t, &stopped);
                }
                if stopped() {
                    return Ok(());
                }
                if rec.data.len() > max {
                    skipped += 1;
                    tracing::warn!(len = rec.data.len(), max, "record longer than the interface takes: skipped");
                    continue;
                }
                let mut slot = loop {
                    if let Some(slot) = inj.allocate_blocking(rec.data.len(), Some(Duration::from_millis(100)))? {
                        break slot;
                    }
                    if stopped() {
                        return Ok(());
                    }
                };
                slot.copy_from_slice(rec.data);
                slot.send();
                queued += 1;
                live.add(1, rec.data.len() as u64);
                in_batch += 1;
                if target.is_some() || in_batch >= a.tx.batch {
                    inj.flush()?;
                    in_batch = 0;
                }
                progress.show(|| {
                    let s = inj.tx_stats();
                    let of = if a.loops == 0 { "∞".to_string() } else { a.loops.to_string() };
                    format!(
                        "replay: pass {}/{of}, {} sent, {}",
                        pass + 1,
                        s.sent,
                        output::rate(s.sent, start.elapsed().as_secs_f64())
                    )
                });
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
        Ok(())
    })();
    // Whatever ended the run, what was queued leaves and is counted.
    let drained = inj.flush().and_then(|()| inj.wait_drained(Some(Duration::from_secs(5))));
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    let s = inj.tx_stats();
    backend::report(a.report.json(), "replay", &s, seconds)?;
    if skipped > 0 {
        eprintln!("netring replay: {skipped} records longer than {max} bytes skipped");
    }
    outcome?;
    drained?;
    Ok(ExitCode::SUCCESS)
}
