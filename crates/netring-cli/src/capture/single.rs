//! The receive loop over one source: an AF_PACKET ring, one AF_XDP socket,
//! or an `XdpQueueSet` read in turn.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use netring::pcap::{Compression, IsbCounts, RotatingWriter};
use netring::{Batch, Error, LinkType, PacketSource, StopHandle, Timestamp};

use super::args::Args;
use super::file::FileSpec;
use super::report::{Tally, announce, report, truncate};
use crate::output;
use crate::signals::Live;

/// How long a capture that writes a file waits for a batch before it looks
/// at the file.
const IDLE: std::time::Duration = std::time::Duration::from_millis(200);

/// The receive loop, for any backend.
pub(super) fn capture_loop<S: PacketSource>(
    a: &Args,
    src: &mut S,
    stop: StopHandle,
    how: &str,
    file: Option<FileSpec>,
    link: LinkType,
) -> Result<ExitCode, Error> {
    let snaplen = a.snaplen();
    let mut writer = file.as_ref().map(|f| f.open(None)).transpose()?;
    let start_ts = Timestamp::now();

    let on_signal = stop.clone();
    let live = Arc::new(Live::default());
    crate::signals::on_stop("capture", Some(Arc::clone(&live)), move || on_signal.stop())?;

    announce(a, link, how);
    let lines = !a.report.quiet && writer.is_none();
    let started = Instant::now();
    let deadline = a.limits.until.deadline(started);
    let mut tally = Tally::default();
    let mut stdout = std::io::stdout().lock();
    // stderr is not held locked: the signal thread writes the SIGUSR1 line there.
    let stderr = std::io::stderr();

    let outcome = loop {
        if a.limits.reached(tally.packets) {
            break Ok(());
        }
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => Some(left),
                None => break Ok(()),
            },
            None => None,
        };
        // With a file, wake up now and then: buffered records go out when
        // idle, and a writer thread's error ends the run.
        let wait = if writer.is_some() { Some(wait.map_or(IDLE, |w| w.min(IDLE))) } else { wait };
        let batch = match src.next_batch_blocking(wait) {
            Ok(Some(batch)) => batch,
            Ok(None) => match writer.as_mut().map_or(Ok(()), RotatingWriter::flush_stale) {
                // A quiet link's records still reach the file within a second or so.
                Ok(()) => continue,
                Err(e) => break Err(e),
            },
            Err(Error::Stopped) => break Ok(()),
            Err(e) => break Err(e),
        };
        let mut result = Ok(());
        if let Some(w) = writer.as_mut() {
            // The whole batch in one write, straight from the ring, before
            // the block goes back to the kernel (`drop(batch)` below).
            let room = a.limits.count.map_or(usize::MAX, |c| c.saturating_sub(tally.packets) as usize);
            let t = &mut tally;
            let packets = batch.packets().take(room).map(|p| {
                let p = truncate(p, snaplen);
                t.packets += 1;
                t.bytes += p.original_len() as u64;
                p
            });
            result = w.write_batch(packets).map(drop);
        }
        for pkt in batch.packets().take(if writer.is_some() { 0 } else { usize::MAX }) {
            if a.limits.reached(tally.packets) {
                break;
            }
            // AF_PACKET truncates in the kernel; AF_XDP delivers whole frames.
            let pkt = truncate(pkt, snaplen);
            tally.packets += 1;
            tally.bytes += pkt.original_len() as u64;
            if lines {
                // With --json, stdout is reserved for the summary object.
                let line = output::packet_line(&pkt);
                let r = if a.report.json() { writeln!(stderr.lock(), "{line}") } else { writeln!(stdout, "{line}") };
                if r.is_err() {
                    // A closed pipe (`| head`) ends the capture quietly.
                    stop.stop();
                    break;
                }
            }
        }
        drop(batch);
        live.set(tally.packets, tally.bytes);
        if let Err(e) = result {
            break Err(e);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    drop(stdout);

    // Whatever ended the run, flush the file and report what was counted.
    let stats = src.stats().unwrap_or_default();
    let counts = IsbCounts {
        received: stats.packets + stats.drops,
        dropped: stats.drops,
        delivered: tally.packets,
        start: start_ts,
        end: Timestamp::now(),
    };
    tally.stalls =
        file.as_ref().zip(writer.as_ref()).filter(|(f, _)| f.compression != Compression::None).map(|(_, w)| w.stalls());
    let (written, flushed) = match writer {
        Some(w) => {
            let (n, r) = w.finish_counted(Some(counts));
            (Some(n), r)
        }
        None => (None, Ok(())),
    };
    tally.written = written;
    report(a, &tally, &stats, seconds)?;
    outcome?;
    flushed?;
    Ok(ExitCode::SUCCESS)
}
