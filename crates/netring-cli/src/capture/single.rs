//! The receive loop over one source: an AF_PACKET ring, one AF_XDP socket,
//! or an `XdpQueueSet` read in turn.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netring::pcap::{Compression, IsbCounts, RotatingWriter};
use netring::{Batch, Error, LinkType, PacketSource, StopHandle, Timestamp};

use super::args::Args;
use super::file::FileSpec;
use super::lines::Lines;
use super::report::{Tally, announce, report, truncate};
use crate::signals::{Live, Rotate};

/// With a file, the longest wait for a block: how soon a `SIGHUP` rotation
/// or a `--max-age` expiry is acted on while no packets come.
pub(super) const HOUSEKEEPING: Duration = Duration::from_millis(100);

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
    let rotate = writer.as_ref().map(|_| Arc::new(Rotate::default()));
    crate::signals::on_stop_or_rotate("capture", Some(Arc::clone(&live)), rotate.clone(), move || on_signal.stop())?;
    let mut rotations_seen = 0;
    let mut publisher =
        crate::metrics_http::Publisher::new(Some((a.interface(), None)), file.as_ref().map(|f| f.path.as_path()));

    announce(a, link, how);
    let mut lines = (!a.report.quiet && writer.is_none()).then(|| Lines::new(a, link));
    let started = Instant::now();
    let deadline = a.limits.until.deadline(started);
    let mut tally = Tally::default();

    let outcome = loop {
        if a.limits.reached(tally.packets) {
            break Ok(());
        }
        if let Some(w) = writer.as_mut() {
            if rotate.as_ref().is_some_and(|r| r.take(&mut rotations_seen))
                && let Err(e) = w.rotate_now()
            {
                break Err(e);
            }
            w.expire();
        }
        if let Some(p) = publisher.as_mut()
            && p.due()
        {
            p.ring(&src.stats().unwrap_or_default(), tally.packets, tally.bytes);
            if let Some(w) = &writer {
                p.writer(w, false);
            }
        }
        let mut wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => Some(left),
                None => break Ok(()),
            },
            None => None,
        };
        // With a file, wake up now and then: buffered records go out when
        // idle, a writer thread's error ends the run, and SIGHUP / --max-age
        // are acted on.
        if writer.is_some() || publisher.is_some() {
            wait = Some(wait.map_or(HOUSEKEEPING, |w| w.min(HOUSEKEEPING)));
        }
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
            let show = &a.show;
            let packets = batch.packets().filter(|p| show.wants(p.direction())).take(room).map(|p| {
                // AF_PACKET truncates in the kernel; AF_XDP delivers whole frames.
                let p = truncate(p, snaplen);
                t.packets += 1;
                t.bytes += p.original_len() as u64;
                p
            });
            result =
                w.write_batch(packets).map(drop).and_then(|()| if show.packet_buffered { w.flush() } else { Ok(()) });
        } else {
            for pkt in batch.packets() {
                if a.limits.reached(tally.packets) {
                    break;
                }
                if !a.show.wants(pkt.direction()) {
                    continue;
                }
                let pkt = truncate(pkt, snaplen);
                tally.packets += 1;
                tally.bytes += pkt.original_len() as u64;
                if let Some(l) = lines.as_mut()
                    && l.packet(&pkt).is_err()
                {
                    // A closed pipe (`| head`) ends the capture quietly.
                    stop.stop();
                    break;
                }
            }
        }
        // Lines reach a reader at least once a batch, not only when the buffer fills.
        if let Some(l) = lines.as_mut()
            && l.flush().is_err()
        {
            stop.stop();
        }
        drop(batch);
        live.set(tally.packets, tally.bytes);
        if let Err(e) = result {
            break Err(e);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    drop(lines);

    // Whatever ended the run, flush the file and report what was counted.
    let stats = src.stats().unwrap_or_default();
    let counts = IsbCounts {
        received: stats.packets + stats.drops,
        dropped: stats.drops,
        delivered: tally.packets,
        start: start_ts,
        end: Timestamp::now(),
    };
    if let Some(p) = &publisher {
        p.ring(&stats, tally.packets, tally.bytes);
        if let Some(w) = &writer {
            p.writer(w, outcome.is_err());
        }
    }
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
