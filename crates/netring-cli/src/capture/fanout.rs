//! `netring capture --fanout N`: N capture threads, each with its own
//! socket in one fanout group, writing one merged file ordered by time
//! stamp or one file per thread (`--split`).
//!
//! Merging: each thread copies its packets out of the ring and sends them
//! to the writer with a *watermark*, a time before which it will deliver
//! nothing more. A thread that just delivered a packet stamped T will not
//! deliver anything earlier (one socket's ring is in arrival order); a
//! thread whose wait for a block timed out has handed over everything
//! stamped before now − (retire timeout + 20 ms), because the kernel
//! retires a block at the latest one retire timeout after it opened it.
//! The writer keeps packets in a heap and writes those at or below the
//! lowest watermark, so the file is in time-stamp order without holding
//! more than about one retire timeout of traffic. The copy is the price of
//! merging; `--split` writes each thread's packets straight from its ring.
//!
//! The same merge writes several interfaces into one pcapng file
//! (`multi.rs`): there each member is an interface, and its packets are
//! tagged with its interface id. A record that arrives after the merge
//! already wrote a later one is written anyway (never dropped) and counted
//! in the summary.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netring::afpacket::{Fanout, FanoutFlags};
use netring::pcap::{Compression, IsbCounts, RotatingWriter};
use netring::{Capture, CaptureBuilder, CaptureStats, Error, OwnedPacket, Packet, StopHandle, Timestamp};

use super::args::Args;
use super::file::FileSpec;
use super::lines::Lines;
use super::report::{Tally, announce, report, truncate};
use crate::metrics_http::Publisher;
use crate::signals::{Live, Rotate};

/// How long a thread waits for a block before it reports a new watermark.
const TICK: Duration = Duration::from_millis(50);
/// Timer slack on top of the retire timeout.
const SLACK: Duration = Duration::from_millis(20);

/// Open the capture (`fanout` `None`) or the group's `n` members. The
/// first member joins with the flags as given; the others join the group
/// it ended up in (with `unique-id`, the id the kernel picked).
pub fn open_members(b: &CaptureBuilder, fanout: Option<Fanout>, n: usize) -> Result<Vec<Capture>, Error> {
    let Some(f) = fanout else { return Ok(vec![b.clone().build()?]) };
    let first = b.clone().fanout(f.clone()).build()?;
    let id = first.fanout_group().unwrap_or(f.group_id);
    let rest = Fanout::new(id, f.mode.clone()).flags(f.flags - FanoutFlags::UNIQUE_ID);
    let mut caps = vec![first];
    for _ in 1..n {
        caps.push(b.clone().fanout(rest.clone()).build()?);
    }
    Ok(caps)
}

/// Run the group until the count, the duration or a signal ends it; with
/// `per_interface`, each member is an interface of its own, and its
/// packets go to the file tagged with its interface id.
pub fn run(
    a: &Args,
    caps: Vec<Capture>,
    file: Option<FileSpec>,
    how: &str,
    per_interface: bool,
) -> Result<ExitCode, Error> {
    let stops: Vec<StopHandle> = caps.iter().map(Capture::stop_handle).collect();
    let link = caps[0].link_type();
    let on_signal = stops.clone();
    let live = Arc::new(Live::default());
    let rotate = file.as_ref().map(|_| Arc::new(Rotate::default()));
    crate::signals::on_stop_or_rotate("capture", Some(Arc::clone(&live)), rotate.clone(), move || {
        on_signal.iter().for_each(StopHandle::stop)
    })?;
    let ctx = Ctx { stops: &stops, start_ts: Timestamp::now(), live: &live, rotate: rotate.as_deref(), per_interface };
    let started = Instant::now();
    announce(a, link, how);
    let (tally, stats, outcome) =
        if a.more.split { split(a, caps, file.as_ref(), &ctx)? } else { merged(a, caps, file.as_ref(), &ctx)? };
    report(a, &tally, &stats, started.elapsed().as_secs_f64())?;
    outcome?;
    Ok(ExitCode::SUCCESS)
}

/// What every member and the writer share.
struct Ctx<'a> {
    stops: &'a [StopHandle],
    start_ts: Timestamp,
    live: &'a Live,
    /// `SIGHUP` rotation requests, with a file.
    rotate: Option<&'a Rotate>,
    per_interface: bool,
}

/// Between batches: a rotation asked for by `SIGHUP`, and `--max-age`.
fn housekeeping(w: &mut RotatingWriter, rotate: Option<&Rotate>, seen: &mut u64) -> Result<(), Error> {
    if rotate.is_some_and(|r| r.take(seen)) {
        w.rotate_now()?;
    }
    w.expire();
    Ok(())
}

fn stop_all(stops: &[StopHandle]) {
    stops.iter().for_each(StopHandle::stop);
}

/// What one thread hands the merging writer.
enum Msg {
    Packets { member: usize, packets: Vec<OwnedPacket>, safe: Timestamp },
    Tick { member: usize, safe: Timestamp },
    Done { member: usize, stats: CaptureStats, result: Result<(), Error> },
}

/// A packet waiting in the merge heap, ordered by time stamp, then arrival.
struct Pending {
    ts: Timestamp,
    seq: u64,
    member: usize,
    packet: OwnedPacket,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, self.seq) == (o.ts, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (self.ts, self.seq).cmp(&(o.ts, o.seq))
    }
}

fn before(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_nanos(t.as_nanos().saturating_sub(d.as_nanos() as u64))
}

/// One member of a merged group: copy packets out, report watermarks.
fn feed(member: usize, mut cap: Capture, tx: SyncSender<Msg>, mut publisher: Option<Publisher>) {
    let lag = cap.retire_timeout() + SLACK;
    let mut last = Timestamp::default();
    let (mut read, mut bytes) = (0u64, 0u64);
    let result = loop {
        if let Some(p) = publisher.as_mut()
            && p.due()
        {
            p.ring(&cap.stats().unwrap_or_default(), read, bytes);
        }
        let msg = match cap.next_batch_blocking(Some(TICK)) {
            Ok(Some(batch)) => {
                let packets: Vec<OwnedPacket> = batch.iter().map(|p| p.to_owned()).collect();
                drop(batch);
                read += packets.len() as u64;
                bytes += packets.iter().map(|p| p.original_len() as u64).sum::<u64>();
                last = packets.iter().map(OwnedPacket::timestamp).fold(last, Timestamp::max);
                Msg::Packets { member, packets, safe: last }
            }
            Ok(None) => Msg::Tick { member, safe: last.max(before(Timestamp::now(), lag)) },
            Err(Error::Stopped) => break Ok(()),
            Err(e) => break Err(e),
        };
        if tx.send(msg).is_err() {
            break Ok(());
        }
    };
    let stats = cap.stats().unwrap_or_default();
    if let Some(p) = &publisher {
        p.ring(&stats, read, bytes);
    }
    let _ = tx.send(Msg::Done { member, stats, result });
}

/// Where each packet goes once it is due: counted, written, shown.
struct Emitter<'a> {
    a: &'a Args,
    live: &'a Live,
    writer: Option<RotatingWriter>,
    tally: Tally,
    lines: Option<Lines>,
    snaplen: u32,
    per_interface: bool,
    /// The newest time stamp written, and records written after a later one.
    newest: Timestamp,
    late: u64,
    /// Packets taken from each member.
    taken: Vec<u64>,
}

impl Emitter<'_> {
    /// Emit `p`; `false` once the count is reached (nothing more is taken).
    fn emit(&mut self, member: usize, p: &Packet<'_>) -> Result<bool, Error> {
        let limits = self.a.limits;
        if limits.reached(self.tally.packets) {
            return Ok(false);
        }
        if !self.a.show.wants(p.direction()) {
            return Ok(true);
        }
        let p = truncate(*p, self.snaplen);
        self.tally.packets += 1;
        self.tally.bytes += p.original_len() as u64;
        self.taken[member] += 1;
        self.live.set(self.tally.packets, self.tally.bytes);
        if p.timestamp() < self.newest {
            self.late += 1;
        }
        self.newest = self.newest.max(p.timestamp());
        if let Some(w) = self.writer.as_mut() {
            w.write_packet_on(if self.per_interface { member as u32 } else { 0 }, &p)?;
            if self.a.show.packet_buffered {
                w.flush()?;
            }
        }
        if let Some(l) = self.lines.as_mut()
            && l.packet(&p).is_err()
        {
            // A closed pipe (`| head`): the capture goes on, silent.
            self.lines = None;
        }
        Ok(!limits.reached(self.tally.packets))
    }
}

type RunResult = (Tally, CaptureStats, Result<(), Error>);

fn merged(a: &Args, caps: Vec<Capture>, file: Option<&FileSpec>, ctx: &Ctx<'_>) -> Result<RunResult, Error> {
    let (stops, start_ts) = (ctx.stops, ctx.start_ts);
    let n = caps.len();
    let link = caps[0].link_type();
    let writer = file.map(|f| f.open(None)).transpose()?;
    let lines = (!a.report.quiet && writer.is_none()).then(|| Lines::new(a, link));
    let mut out = Emitter {
        a,
        live: ctx.live,
        writer,
        tally: Tally::default(),
        lines,
        snaplen: a.snaplen(),
        per_interface: ctx.per_interface,
        newest: Timestamp::default(),
        late: 0,
        taken: vec![0; n],
    };
    let mut rotations_seen = 0;
    let mut publisher = Publisher::new(None, file.map(|f| f.path.as_path()));
    let (tx, rx) = sync_channel::<Msg>(4 * n);
    let threads: Vec<_> = caps
        .into_iter()
        .enumerate()
        .map(|(k, cap)| {
            let tx = tx.clone();
            // Several interfaces: each its own; a fanout group: one interface, members apart.
            let ring = if ctx.per_interface { (a.interfaces[k].as_str(), None) } else { (a.interface(), Some(k)) };
            let p = Publisher::new(Some(ring), None);
            std::thread::Builder::new().name(format!("netring-fanout-{k}")).spawn(move || feed(k, cap, tx, p))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Io { call: "spawn capture thread", source: e })?;
    drop(tx);

    let deadline = a.limits.until.deadline(Instant::now());
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut safe = vec![Timestamp::default(); n];
    let mut done = vec![false; n];
    let mut stats = CaptureStats::default();
    let mut member_stats = vec![CaptureStats::default(); n];
    let mut outcome: Result<(), Error> = Ok(());
    let mut seq = 0u64;
    let mut taking = true;
    while done.iter().any(|d| !d) {
        match rx.recv_timeout(TICK) {
            Ok(Msg::Packets { member, packets, safe: s }) => {
                for packet in packets {
                    seq += 1;
                    heap.push(Reverse(Pending { ts: packet.timestamp(), seq, member, packet }));
                }
                safe[member] = s;
            }
            Ok(Msg::Tick { member, safe: s }) => safe[member] = s,
            Ok(Msg::Done { member, stats: s, result }) => {
                done[member] = true;
                stats = stats + s;
                member_stats[member] = s;
                if let (Ok(()), Err(e)) = (&outcome, result) {
                    outcome = Err(e);
                    stop_all(stops);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(Err(e)) = out.writer.as_mut().map(RotatingWriter::flush_stale)
                    && outcome.is_ok()
                {
                    outcome = Err(e);
                    stop_all(stops);
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop_all(stops);
        }
        if let (Some(p), Some(w)) = (publisher.as_mut(), out.writer.as_ref())
            && p.due()
        {
            p.writer(w, false);
        }
        if let Some(w) = out.writer.as_mut()
            && let Err(e) = housekeeping(w, ctx.rotate, &mut rotations_seen)
        {
            taking = false;
            stop_all(stops);
            if outcome.is_ok() {
                outcome = Err(e);
            }
        }
        // Everything at or below the lowest watermark of the threads still
        // running can be written in order.
        let mark = (0..n).filter(|&k| !done[k]).map(|k| safe[k]).min().unwrap_or(Timestamp::from_nanos(u64::MAX));
        while taking && heap.peek().is_some_and(|p| p.0.ts <= mark) {
            let Reverse(p) = heap.pop().expect("peeked");
            match out.emit(p.member, &p.packet.as_packet()) {
                Ok(true) => {}
                Ok(false) => {
                    taking = false;
                    stop_all(stops);
                }
                Err(e) => {
                    taking = false;
                    stop_all(stops);
                    if outcome.is_ok() {
                        outcome = Err(e);
                    }
                }
            }
        }
    }
    for t in threads {
        let _ = t.join();
    }
    // The rest, in order: every thread has stopped.
    while taking && let Some(Reverse(p)) = heap.pop() {
        match out.emit(p.member, &p.packet.as_packet()) {
            Ok(more) => taking = more,
            Err(e) => {
                outcome = outcome.and(Err(e));
                taking = false;
            }
        }
    }
    if out.late > 0 {
        eprintln!(
            "netring: {} records reached the merge after a later one had been written: the file is out of time-stamp \
             order there",
            out.late
        );
    }
    // A fanout group is one interface: one statistics block for the group;
    // several interfaces get one each.
    let counts: Vec<IsbCounts> = if ctx.per_interface {
        (0..n).map(|k| isb(&member_stats[k], out.taken[k], start_ts)).collect()
    } else {
        vec![isb(&stats, out.tally.packets, start_ts)]
    };
    if file.is_some_and(|f| f.compression != Compression::None) {
        out.tally.stalls = out.writer.as_ref().map(RotatingWriter::stalls);
    }
    if let Some(w) = out.writer.take() {
        if let Some(p) = &publisher {
            p.writer(&w, outcome.is_err());
        }
        let (n, r) = w.finish_counted_each(&counts);
        out.tally.written = Some(n);
        if let Err(e) = r {
            outcome = outcome.and(Err(e));
        }
    }
    Ok((out.tally, stats, outcome))
}

fn isb(s: &CaptureStats, delivered: u64, start: Timestamp) -> IsbCounts {
    IsbCounts { received: s.packets + s.drops, dropped: s.drops, delivered, start, end: Timestamp::now() }
}

/// One member of a split group: its own file, straight from its ring.
fn record(
    a: &Args,
    cap: &mut Capture,
    writer: &mut Option<RotatingWriter>,
    claimed: &AtomicU64,
    ctx: &Ctx<'_>,
    tally: &mut Tally,
    publisher: &mut Option<Publisher>,
) -> Result<(), Error> {
    let (stops, live) = (ctx.stops, ctx.live);
    let mut lines = (!a.report.quiet && writer.is_none()).then(|| Lines::new(a, cap.link_type()));
    let snap = a.snaplen();
    let mut published = (0, 0);
    let mut rotations_seen = 0;
    loop {
        if let Some(w) = writer.as_mut() {
            housekeeping(w, ctx.rotate, &mut rotations_seen)?;
        }
        if let Some(p) = publisher.as_mut()
            && p.due()
        {
            p.ring(&cap.stats().unwrap_or_default(), tally.packets, tally.bytes);
            if let Some(w) = writer.as_ref() {
                p.writer(w, false);
            }
        }
        // Once a batch, not per packet: the threads share these counters.
        live.add(tally.packets - published.0, tally.bytes - published.1);
        published = (tally.packets, tally.bytes);
        let batch = match cap.next_batch_blocking(Some(TICK)) {
            Ok(Some(b)) => b,
            Ok(None) => {
                writer.as_mut().map_or(Ok(()), RotatingWriter::flush_stale)?;
                continue;
            }
            Err(Error::Stopped) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(w) = writer.as_mut() {
            // Exactly N over the group: the batch claims its numbers first,
            // and takes only those below the count.
            let show = &a.show;
            let len = batch.iter().filter(|p| show.wants(p.direction())).count() as u64;
            let first = claimed.fetch_add(len, Ordering::Relaxed);
            let take = a.limits.count.map_or(len, |c| c.saturating_sub(first).min(len));
            let t = &mut *tally;
            let packets = batch.iter().filter(|p| show.wants(p.direction())).take(take as usize).map(|p| {
                let p = truncate(p, snap);
                t.packets += 1;
                t.bytes += p.original_len() as u64;
                p
            });
            // One write for the batch, straight from the ring.
            w.write_batch(packets)?;
            if show.packet_buffered {
                w.flush()?;
            }
            if take < len || a.limits.reached(first + len) {
                stop_all(stops);
                return Ok(());
            }
            continue;
        }
        for pkt in &batch {
            // Exactly N over the group: each packet claims a number first.
            let n = claimed.fetch_add(1, Ordering::Relaxed);
            if a.limits.reached(n) {
                stop_all(stops);
                return Ok(());
            }
            if !a.show.wants(pkt.direction()) {
                claimed.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            let pkt = truncate(pkt, snap);
            tally.packets += 1;
            tally.bytes += pkt.original_len() as u64;
            if let Some(l) = lines.as_mut()
                && l.packet(&pkt).is_err()
            {
                lines = None;
            }
            if a.limits.reached(n + 1) {
                stop_all(stops);
                return Ok(());
            }
        }
    }
}

fn split(a: &Args, caps: Vec<Capture>, file: Option<&FileSpec>, ctx: &Ctx<'_>) -> Result<RunResult, Error> {
    let (stops, start_ts) = (ctx.stops, ctx.start_ts);
    let claimed = AtomicU64::new(0);
    let compressed = file.is_some_and(|f| f.compression != Compression::None);
    let writers: Vec<Option<RotatingWriter>> =
        (0..caps.len()).map(|k| file.map(|f| f.open(Some(k))).transpose()).collect::<Result<_, _>>()?;
    let results = Mutex::new(Vec::new());
    // Sockets stay in the fanout group until every thread has stopped: a
    // member that leaves early (a write error) would hand its flows to
    // members still running, whose files would then hold them out of place.
    let retired = Mutex::new(Vec::new());
    let deadline = a.limits.until.deadline(Instant::now());
    let running = Arc::new(AtomicU64::new(caps.len() as u64));
    std::thread::scope(|s| {
        for (k, (mut cap, mut writer)) in caps.into_iter().zip(writers).enumerate() {
            let (claimed, results, retired, running) = (&claimed, &results, &retired, Arc::clone(&running));
            let path = file.map(|f| super::file::member_path(&f.path, k));
            let mut publisher = Publisher::new(Some((a.interface(), Some(k))), path.as_deref());
            s.spawn(move || {
                let mut tally = Tally::default();
                let r = record(a, &mut cap, &mut writer, claimed, ctx, &mut tally, &mut publisher);
                if r.is_err() {
                    // A write error (or a lost interface) ends the whole group at once.
                    stop_all(stops);
                }
                let stats = cap.stats().unwrap_or_default();
                if let Some(p) = &publisher {
                    p.ring(&stats, tally.packets, tally.bytes);
                    if let Some(w) = writer.as_ref() {
                        p.writer(w, r.is_err());
                    }
                }
                tally.stalls = compressed.then(|| writer.as_ref().map_or(0, RotatingWriter::stalls));
                let closed = match writer {
                    Some(w) => {
                        let (n, closed) = w.finish_counted(Some(isb(&stats, tally.packets, start_ts)));
                        tally.written = Some(n);
                        closed
                    }
                    None => Ok(()),
                };
                results.lock().expect("results").push((tally, stats, r.and(closed)));
                retired.lock().expect("retired").push(cap);
                running.fetch_sub(1, Ordering::Release);
            });
        }
        while running.load(Ordering::Acquire) > 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                stop_all(stops);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    drop(retired);
    let mut tally = Tally::default();
    let mut stats = CaptureStats::default();
    let mut outcome = Ok(());
    for (t, s, r) in results.into_inner().expect("results") {
        tally.packets += t.packets;
        tally.bytes += t.bytes;
        if let Some(n) = t.written {
            tally.written = Some(tally.written.unwrap_or(0) + n);
        }
        if let Some(n) = t.stalls {
            tally.stalls = Some(tally.stalls.unwrap_or(0) + n);
        }
        stats = stats + s;
        outcome = outcome.and(r);
    }
    Ok((tally, stats, outcome))
}
