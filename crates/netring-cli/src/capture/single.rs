//! The receive loop over one source: an AF_PACKET ring, one AF_XDP socket,
//! or an `XdpQueueSet` read in turn.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use netring::pcap::IsbCounts;
use netring::{Batch, Error, LinkType, PacketSource, StopHandle, Timestamp};

use super::args::Args;
use super::file::FileSpec;
use super::lines::Lines;
use super::report::{Tally, announce, report, truncate};
use crate::signals::Live;

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
    let mut lines = (!a.report.quiet && writer.is_none()).then(|| Lines::new(a, link));
    let started = Instant::now();
    let deadline = a.limits.until.deadline(started);
    let mut tally = Tally::default();

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
        let batch = match src.next_batch_blocking(wait) {
            Ok(Some(batch)) => batch,
            Ok(None) => continue,
            Err(Error::Stopped) => break Ok(()),
            Err(e) => break Err(e),
        };
        let mut result = Ok(());
        for pkt in batch.packets() {
            if a.limits.reached(tally.packets) {
                break;
            }
            if !a.show.wants(pkt.direction()) {
                continue;
            }
            // AF_PACKET truncates in the kernel; AF_XDP delivers whole frames.
            let pkt = truncate(pkt, snaplen);
            tally.packets += 1;
            tally.bytes += pkt.original_len() as u64;
            if let Some(w) = writer.as_mut()
                && let Err(e) =
                    w.write_packet(&pkt).and_then(|()| if a.show.packet_buffered { w.flush() } else { Ok(()) })
            {
                result = Err(e);
                break;
            }
            if let Some(l) = lines.as_mut()
                && l.packet(&pkt).is_err()
            {
                // A closed pipe (`| head`) ends the capture quietly.
                stop.stop();
                break;
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
