//! No allocation per packet: a counting global allocator watches the thread
//! that receives (AF_PACKET batches, AF_XDP batches) or sends (TX ring,
//! AF_XDP TX, `sendmmsg` buffers, and `netring gen`'s loop over each) over
//! a real veth link, for two numbers of packets. Whatever
//! the hot loop allocates once (setup, first batch) shows in both counts;
//! anything it allocates per packet or per batch makes the larger run
//! count more. The recorder's write path (batches written to pcap, pcapng
//! and zstd files) is watched the same way. Needs root; fails naming what
//! is missing otherwise.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{frame, link, seq_of};
use netring::testkit::{Flows, FrameGen, Payload, SeqFrames, VethLink};
use netring::{Batch, Capture, Injector, PacketSink, PacketSource, RawSender, SinkSlot, XdpMode, XdpSocket};

/// Counts allocations made by threads that switched counting on.
struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while thread-locals are torn down.
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is passed unchanged to the system allocator, which
// upholds GlobalAlloc's contract; counting touches only const-initialised
// thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations `f` makes on this thread, and its result.
fn counted<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = COUNT.with(Cell::get);
    ON.with(|on| on.set(true));
    let out = f();
    ON.with(|on| on.set(false));
    (out, COUNT.with(Cell::get) - before)
}

const SMALL: u64 = 2_000;
const LARGE: u64 = 20_000;
const LEN: usize = 128;
const LIMIT: Duration = Duration::from_secs(20);

/// Receive `n` test frames from `src`, which a helper thread sends from end
/// a in bursts, never more than `window` ahead of what was received (so no
/// ring overflows). Returns (frames received, allocations while receiving).
fn receive_counted<S: PacketSource>(src: &mut S, l: &VethLink, n: u64, window: u64) -> (u64, u64) {
    let got = Arc::new(AtomicU64::new(0));
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let g = got.clone();
    let sender = std::thread::spawn(move || {
        let deadline = Instant::now() + LIMIT;
        for seq in 0..n {
            while seq >= g.load(Ordering::Acquire) + window && Instant::now() < deadline {
                std::thread::yield_now();
            }
            tx.send(&frame(seq, LEN)).unwrap();
        }
    });
    let deadline = Instant::now() + LIMIT;
    let (received, allocs) = counted(|| {
        let mut next = 0u64;
        let mut bytes = 0u64;
        while next < n && Instant::now() < deadline {
            if let Some(batch) = src.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
                for p in batch.packets() {
                    if seq_of(p.data()) == Some(next) {
                        next += 1;
                        bytes += p.data().iter().map(|&b| u64::from(b)).sum::<u64>();
                    }
                }
            }
            got.store(next, Ordering::Release);
        }
        std::hint::black_box(bytes);
        next
    });
    sender.join().unwrap();
    (received, allocs)
}

fn assert_per_packet_zero(what: &str, small: (u64, u64), large: (u64, u64)) {
    assert_eq!((small.0, large.0), (SMALL, LARGE), "{what}: not every frame made it; the counts prove nothing");
    assert_eq!(
        large.1, small.1,
        "{what}: {} allocations for {SMALL} packets but {} for {LARGE}: something allocates per packet or per batch",
        small.1, large.1
    );
}

#[test]
fn af_packet_receive_allocates_nothing_per_packet() {
    let l = link();
    let run = |n| {
        // Small blocks: many batches, so a per-batch allocation shows too.
        let mut cap =
            l.b.run(|i| Capture::builder().interface(i).block_size(1 << 16).block_count(64).build()).unwrap().unwrap();
        receive_counted(&mut cap, &l, n, 4_000)
    };
    assert_per_packet_zero("AF_PACKET receive", run(SMALL), run(LARGE));
}

#[test]
fn af_xdp_receive_allocates_nothing_per_packet() {
    let l = link();
    let run = |n| {
        let mut sock = l.b.run(|i| XdpSocket::builder().interface(i).mode(XdpMode::Rx).build()).unwrap().unwrap();
        receive_counted(&mut sock, &l, n, 1_000)
    };
    assert_per_packet_zero("AF_XDP receive", run(SMALL), run(LARGE));
}

/// Receive `n` frames of `len` bytes from a capture on end b and write
/// each batch to `file` with the batch API; (frames written, allocations
/// while receiving and writing).
fn record_counted(l: &VethLink, file: &std::path::Path, n: u64, len: usize) -> (u64, u64) {
    use netring::pcap::{PcapNgWriter, PcapWriter};
    let mut cap =
        l.b.run(|i| Capture::builder().interface(i).block_size(1 << 16).block_count(64).build()).unwrap().unwrap();
    let name = file.to_string_lossy().into_owned();
    let ng = name.contains(".pcapng");
    let mut pcap = (!ng).then(|| PcapWriter::create(file, 65535).unwrap());
    let mut pcapng = ng.then(|| PcapNgWriter::create(file, 65535, Some("b")).unwrap());
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let got = Arc::new(AtomicU64::new(0));
    let g = got.clone();
    let sender = std::thread::spawn(move || {
        let deadline = Instant::now() + LIMIT;
        for seq in 0..n {
            while seq >= g.load(Ordering::Acquire) + 1_000 && Instant::now() < deadline {
                std::thread::yield_now();
            }
            tx.send(&frame(seq, len)).unwrap();
        }
    });
    let deadline = Instant::now() + LIMIT;
    let (written, allocs) = counted(|| {
        let mut written = 0u64;
        while written < n && Instant::now() < deadline {
            if let Some(batch) = cap.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
                let mine = batch.packets().filter(|p| seq_of(p.data()).is_some());
                written += match (&mut pcap, &mut pcapng) {
                    (Some(w), _) => w.write_batch(mine).unwrap(),
                    (_, Some(w)) => w.write_batch(mine).unwrap(),
                    _ => unreachable!(),
                };
            }
            got.store(written, Ordering::Release);
        }
        written
    });
    sender.join().unwrap();
    drop(pcap);
    if let Some(w) = pcapng {
        w.finish(None).unwrap().close().unwrap();
    }
    let mut r = netring::pcap::Reader::open(file).unwrap();
    let mut k = 0;
    while let Some(rec) = r.next_record().unwrap() {
        assert_eq!(rec.data, &frame(k, len)[..], "{name}: record {k}");
        k += 1;
    }
    assert_eq!(k, written, "{name}: the file holds every frame written");
    std::fs::remove_file(file).unwrap();
    (written, allocs)
}

/// Batches written to a file, short frames (copied into the buffer) and
/// long ones (written by writev from the ring), pcap, pcapng and zstd.
#[test]
fn writing_batches_to_a_file_allocates_nothing_per_packet() {
    let l = link();
    let dir = std::env::temp_dir();
    for (name, len) in [("a.pcap", 128), ("b.pcap", 1000), ("c.pcapng", 1000), ("d.pcap.zst", 700)] {
        let file = dir.join(format!("netring-alloc-{}-{name}", std::process::id()));
        let small = record_counted(&l, &file, SMALL, len);
        let large = record_counted(&l, &file, LARGE, len);
        assert_per_packet_zero(&format!("writing {name} ({len} B frames)"), small, large);
    }
}

/// Capture on end b until `n` test frames arrived; returns how many did.
fn arrivals(cap: &mut Capture, n: u64) -> u64 {
    common::collect(cap, n as usize, Duration::from_secs(5)).len() as u64
}

#[test]
fn tx_ring_send_allocates_nothing_per_packet() {
    let l = link();
    let run = |n: u64| {
        let mut cap = l.b.run(|i| Capture::builder().interface(i).block_count(64).build()).unwrap().unwrap();
        let mut inj = l.a.run(Injector::open).unwrap().unwrap();
        let template = frame(0, LEN);
        let ((), allocs) = counted(|| {
            for seq in 0..n {
                let mut slot = inj.allocate_blocking(LEN, Some(LIMIT)).unwrap().expect("a free slot");
                slot.copy_from_slice(&template);
                slot[14..22].copy_from_slice(&seq.to_be_bytes());
                slot.send();
                if seq % 64 == 63 {
                    inj.flush().unwrap();
                }
            }
            inj.flush().unwrap();
            assert!(inj.wait_drained(Some(LIMIT)).unwrap());
        });
        assert_eq!(inj.tx_stats().sent, n);
        (arrivals(&mut cap, n), allocs)
    };
    assert_per_packet_zero("TX ring send", run(SMALL), run(LARGE));
}

#[test]
fn af_xdp_send_allocates_nothing_per_packet() {
    let l = link();
    let run = |n: u64| {
        let mut cap = l.b.run(|i| Capture::builder().interface(i).block_count(64).build()).unwrap().unwrap();
        let mut sock = l.a.run(|i| XdpSocket::builder().interface(i).mode(XdpMode::Tx).build()).unwrap().unwrap();
        let template = frame(0, LEN);
        let ((), allocs) = counted(|| {
            let mut seq = 0;
            let deadline = Instant::now() + LIMIT;
            while seq < n && Instant::now() < deadline {
                let sent = match sock.allocate(LEN).unwrap() {
                    Some(mut slot) => {
                        let d = slot.data_mut();
                        d.copy_from_slice(&template);
                        d[14..22].copy_from_slice(&seq.to_be_bytes());
                        slot.send();
                        true
                    }
                    None => false,
                };
                if sent {
                    seq += 1;
                }
                if !sent || seq % 64 == 0 {
                    sock.flush().unwrap();
                }
            }
            assert!(sock.wait_drained(Some(LIMIT)).unwrap());
        });
        assert_eq!(sock.xdp_stats().unwrap().completed, n);
        (arrivals(&mut cap, n), allocs)
    };
    assert_per_packet_zero("AF_XDP send", run(SMALL), run(LARGE));
}

/// The loop of `netring gen` over any sink: allocate, write the frame with
/// a [`FrameGen`] (template once per buffer, then the sequence number and,
/// with flows, addresses, ports and checksums), queue, flush per 64.
fn gen_loop<S: PacketSink>(sink: &mut S, frames: &mut FrameGen, n: u64) {
    for seq in 0..n {
        let generation = sink.buffer_generation();
        let mut slot = sink.allocate_blocking(LEN, Some(LIMIT)).unwrap().expect("a free slot");
        frames.write(&mut slot, generation, seq);
        slot.send();
        if seq % 64 == 63 {
            sink.flush().unwrap();
        }
    }
    sink.flush().unwrap();
    assert!(sink.wait_drained(Some(LIMIT)).unwrap());
}

/// Frames of `gen_loop` that arrived at end b (raw or IPv4/UDP).
fn gen_arrivals(cap: &mut Capture, n: u64, flows: bool) -> u64 {
    let ours =
        |d: &[u8]| if flows { d.len() == LEN && d[12..14] == [8, 0] && d[23] == 17 } else { seq_of(d).is_some() };
    netring::testkit::collect(cap, n as usize, Duration::from_secs(5), ours).unwrap().len() as u64
}

/// `netring gen`'s loop on each transmit path — TX ring, `sendmmsg`
/// buffers, AF_XDP — raw and with 64 IPv4/UDP flows: no allocation per frame.
#[test]
fn gen_loop_allocates_nothing_per_packet_on_every_sink() {
    let l = link();
    for flows in [None, Some(Flows { count: 64, ..Flows::default() })] {
        let with = if flows.is_some() { " with flows" } else { "" };
        let f = flows.is_some();
        let run_on = |n: u64, which: &str| {
            let mut cap = l.b.run(|i| Capture::builder().interface(i).block_count(64).build()).unwrap().unwrap();
            let allocs = match which {
                "ring" => {
                    let mut s =
                        l.a.run(|i| Injector::builder().interface(i).frame_count(256).build()).unwrap().unwrap();
                    let mut g = FrameGen::new(&s, SeqFrames::default(), Payload::Seq, flows.clone());
                    let ((), a) = counted(|| gen_loop(&mut s, &mut g, n));
                    assert_eq!(s.tx_stats().sent, n);
                    a
                }
                "sendmmsg" => {
                    let mut s = l.a.run(RawSender::open).unwrap().unwrap();
                    let mut g = FrameGen::new(&s, SeqFrames::default(), Payload::Seq, flows.clone());
                    let ((), a) = counted(|| gen_loop(&mut s, &mut g, n));
                    assert_eq!(PacketSink::tx_stats(&mut s).sent, n);
                    a
                }
                _ => {
                    let mut s =
                        l.a.run(|i| XdpSocket::builder().interface(i).mode(XdpMode::Tx).build()).unwrap().unwrap();
                    let mut g = FrameGen::new(&s, SeqFrames::default(), Payload::Seq, flows.clone());
                    let ((), a) = counted(|| gen_loop(&mut s, &mut g, n));
                    assert_eq!(s.xdp_stats().unwrap().completed, n);
                    a
                }
            };
            (gen_arrivals(&mut cap, n, f), allocs)
        };
        for which in ["ring", "sendmmsg", "xdp"] {
            let what = format!("gen loop, {which}{with}");
            assert_per_packet_zero(&what, run_on(SMALL, which), run_on(LARGE, which));
        }
    }
}
