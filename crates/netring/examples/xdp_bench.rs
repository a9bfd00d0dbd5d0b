//! AF_XDP against AF_PACKET over a veth pair in private namespaces:
//! receive and transmit rates, 64- and 1500-byte frames, contenders
//! interleaved in the same run, several repetitions, median and spread.
//!
//! ```sh
//! cargo run --release -p netring --example xdp_bench -- [SECONDS] [REPETITIONS]
//! ```
//!
//! Receive: a `RawSender::send_batch` (sendmmsg, 64 frames a call) floods
//! end a, pinned to CPU 0; the receiver on end b, pinned to CPU 1, is an
//! AF_PACKET `Capture` (TPACKET_V3) or an `XdpSocket` (copy mode, native and
//! generic XDP), each either sleeping in `next_batch_blocking` or spinning
//! on `next_batch` ("Spin"). On veth the receive work (XDP program, copy into
//! the UMEM or the ring) runs in the sender's softirq, on the sender's CPU;
//! the rates are what the receiver got, and what the sender offered, per second.
//!
//! Transmit: from end a (CPU 0), `RawSender::send_batch` against
//! `XdpSocket` zero-copy TX slots + `flush`; an AF_PACKET capture on end b
//! (CPU 1) counts arrivals. Rates are frames the sender had accepted
//! (completed, for AF_XDP) and frames that arrived, per second.
//!
//! `xdp_bench queues [SECONDS] [REPETITIONS]` compares one queue with two
//! on a 2-queue veth: TX, one AF_XDP TX socket per queue (shared UMEM), each
//! on its own thread pinned to its own CPU, the peer with no receiver
//! (rate = frames completed per second); RX, the same senders with one
//! AF_XDP RX socket per queue on the peer (shared UMEM), read in turn by
//! one `XdpQueueSet` thread (rate = frames received per second), sleeping
//! in `poll` or spinning on `next_batch`, and spinning with busy polling
//! on (20 µs, budget 64).
//!
//! Needs root. Creates and removes its own namespaces.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netring::afxdp::XdpAttach;
use netring::afxdp::{BusyPoll, XdpQueueSet};
use netring::frames::SeqFrames;
use netring::netns::{VethConfig, VethLink};
use netring::{Batch, Capture, PacketSource, RawSender, XdpMode, XdpSocket};

fn pin(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity(0, …) affects the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Rx {
    Packet,
    PacketSpin,
    XdpNative,
    XdpNativeSpin,
    XdpGeneric,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tx {
    Sendmmsg,
    Xdp,
}

fn frames(len: usize) -> Vec<Vec<u8>> {
    (0..64).map(|i| SeqFrames::default().build(i, len)).collect()
}

/// Count frames on `src` (pinned to CPU 1) until `stop`, then drain 200 ms.
/// `spin`: poll the ring without sleeping (no wakeups to deliver).
fn receiver<S: PacketSource + Send + 'static>(
    mut src: S,
    spin: bool,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        pin(1);
        ready.store(true, Ordering::Release);
        let mut n = 0u64;
        let mut drain_until = None;
        loop {
            if drain_until.is_none() && stop.load(Ordering::Acquire) {
                drain_until = Some(Instant::now() + Duration::from_millis(200));
            }
            if drain_until.is_some_and(|d| Instant::now() > d) {
                return n;
            }
            if spin {
                if let Some(b) = src.next_batch() {
                    n += b.len() as u64;
                }
            } else if let Ok(Some(b)) = src.next_batch_blocking(Some(Duration::from_millis(10))) {
                n += b.len() as u64;
            }
        }
    })
}

fn receive_packet(
    l: &VethLink,
    spin: bool,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let cap = l.b.run(|n| Capture::builder().interface(n).block_count(64).build()).unwrap().unwrap();
    receiver(cap, spin, stop, ready)
}

fn receive_xdp(
    l: &VethLink,
    how: XdpAttach,
    spin: bool,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let sock = l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).attach(how).build()).unwrap().unwrap();
    receiver(sock, spin, stop, ready)
}

/// Receive rates (frames/s offered by the sender, received) for one contender.
fn rx_run(kind: Rx, len: usize, secs: f64) -> (f64, f64) {
    let l = VethLink::new().expect("veth (run as root)");
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let rx = match kind {
        Rx::Packet => receive_packet(&l, false, stop.clone(), ready.clone()),
        Rx::PacketSpin => receive_packet(&l, true, stop.clone(), ready.clone()),
        Rx::XdpNative => receive_xdp(&l, XdpAttach::Native, false, stop.clone(), ready.clone()),
        Rx::XdpNativeSpin => receive_xdp(&l, XdpAttach::Native, true, stop.clone(), ready.clone()),
        Rx::XdpGeneric => receive_xdp(&l, XdpAttach::Generic, false, stop.clone(), ready.clone()),
    };
    while !ready.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let fr = frames(len);
    let t = std::thread::spawn(move || {
        pin(0);
        let refs: Vec<&[u8]> = fr.iter().map(|f| &f[..]).collect();
        let (t0, mut n) = (Instant::now(), 0u64);
        while t0.elapsed().as_secs_f64() < secs {
            n += tx.send_batch(&refs).unwrap_or(0) as u64;
        }
        n
    });
    let offered = t.join().unwrap();
    stop.store(true, Ordering::Release);
    (offered as f64 / secs, rx.join().unwrap() as f64 / secs)
}

/// Transmit rates (accepted/s, arrived/s) for one contender.
fn tx_run(kind: Tx, len: usize, secs: f64) -> (f64, f64) {
    let l = VethLink::new().expect("veth (run as root)");
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let rx = receive_packet(&l, false, stop.clone(), ready.clone());
    while !ready.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    let fr = frames(len);
    let sent = match kind {
        Tx::Sendmmsg => {
            let tx = l.a.run(RawSender::open).unwrap().unwrap();
            std::thread::spawn(move || {
                pin(0);
                let refs: Vec<&[u8]> = fr.iter().map(|f| &f[..]).collect();
                let (t0, mut n) = (Instant::now(), 0u64);
                while t0.elapsed().as_secs_f64() < secs {
                    n += tx.send_batch(&refs).unwrap_or(0) as u64;
                }
                n
            })
        }
        Tx::Xdp => {
            let sock = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build()).unwrap().unwrap();
            xdp_flood(sock, fr, 0, secs)
        }
    };
    let sent = sent.join().unwrap();
    stop.store(true, Ordering::Release);
    let arrived = rx.join().unwrap();
    (sent as f64 / secs, arrived as f64 / secs)
}

fn summary(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = v[v.len() / 2];
    format!("median {:>7.3} Mpps  [min {:.3} .. max {:.3}]", med / 1e6, v[0] / 1e6, v[v.len() - 1] / 1e6)
}

/// Flood `sock`'s queue with `fr` from zero-copy TX slots for `secs` on
/// CPU `cpu`; frames completed.
fn xdp_flood(mut sock: XdpSocket, fr: Vec<Vec<u8>>, cpu: usize, secs: f64) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        pin(cpu);
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < secs {
            for f in &fr {
                match sock.tx_slot(f.len()) {
                    Ok(Some(mut s)) => {
                        s.data_mut().copy_from_slice(f);
                        s.send();
                    }
                    _ => break,
                }
            }
            let _ = sock.flush();
        }
        let _ = sock.wait_tx_drained(Duration::from_secs(1));
        sock.statistics().map(|s| s.completed).unwrap_or(0)
    })
}

/// The receiving side of a queues run: busy polling, and whether the
/// reader spins on `next_batch` instead of sleeping in `poll`.
type RxSide = Option<(Option<BusyPoll>, bool)>;

/// One run with `q` queues: (sent/s, received/s; received 0 without `rx`).
fn queues_run(q: u32, rx: RxSide, secs: f64) -> (f64, f64) {
    let l = VethConfig::default().queues(2).create().expect("veth (run as root)");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = rx.map(|(bp, spin)| {
        let socks =
            l.b.run(|n| {
                XdpSocket::builder()
                    .interface(n)
                    .mode(XdpMode::Rx)
                    .busy_poll(bp)
                    .build_queues(&(0..q).collect::<Vec<_>>())
            })
            .unwrap()
            .unwrap();
        let set = XdpQueueSet::new(socks).unwrap();
        let ready = Arc::new(AtomicBool::new(false));
        let h = receiver(set, spin, stop.clone(), ready.clone());
        while !ready.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        h
    });
    let tx =
        l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_queues(&(0..q).collect::<Vec<_>>()))
            .unwrap()
            .unwrap();
    let senders: Vec<_> = tx.into_iter().enumerate().map(|(i, s)| xdp_flood(s, frames(64), i, secs)).collect();
    let sent: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
    stop.store(true, Ordering::Release);
    let got = reader.map_or(0, |h| h.join().unwrap());
    (sent as f64 / secs, got as f64 / secs)
}

fn queues_main(secs: f64, reps: usize) {
    // (label, queues, receiver)
    let bp = Some(BusyPoll::default());
    let kinds: [(&str, u32, RxSide); 8] = [
        ("TX 1 queue", 1, None),
        ("TX 2 queues", 2, None),
        ("RX 1 queue", 1, Some((None, false))),
        ("RX 2 queues", 2, Some((None, false))),
        ("RX 1 queue spin", 1, Some((None, true))),
        ("RX 2 queues spin", 2, Some((None, true))),
        ("RX 1 queue spin+busy-poll", 1, Some((bp, true))),
        ("RX 2 queues spin+busy-poll", 2, Some((bp, true))),
    ];
    let mut sent: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    let mut got: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    for rep in 0..reps {
        for k in 0..kinds.len() {
            let i = (k + rep) % kinds.len();
            let (s, g) = queues_run(kinds[i].1, kinds[i].2, secs);
            sent[i].push(s);
            got[i].push(g);
        }
    }
    println!("== AF_XDP, 64-byte frames, 2-queue veth, {reps} x {secs} s ==");
    for (i, (label, _, rx)) in kinds.iter().enumerate() {
        println!("{label:<28} sent {}", summary(&mut sent[i]));
        if rx.is_some() {
            println!("{:<28} received {}", "", summary(&mut got[i]));
        }
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("queues") {
        let mut args = std::env::args().skip(2);
        let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
        let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
        return queues_main(secs, reps);
    }
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    for len in [64usize, 1500] {
        let rx_kinds = [Rx::Packet, Rx::PacketSpin, Rx::XdpNative, Rx::XdpNativeSpin, Rx::XdpGeneric];
        let tx_kinds = [Tx::Sendmmsg, Tx::Xdp];
        let mut rx: Vec<Vec<f64>> = vec![Vec::new(); rx_kinds.len()];
        let mut offered: Vec<Vec<f64>> = vec![Vec::new(); rx_kinds.len()];
        let mut txs: Vec<Vec<f64>> = vec![Vec::new(); tx_kinds.len()];
        let mut txa: Vec<Vec<f64>> = vec![Vec::new(); tx_kinds.len()];
        for rep in 0..reps {
            // Interleaved: every contender once per repetition, order rotated.
            for k in 0..rx_kinds.len() {
                let i = (k + rep) % rx_kinds.len();
                let (o, r) = rx_run(rx_kinds[i], len, secs);
                offered[i].push(o);
                rx[i].push(r);
            }
            for k in 0..tx_kinds.len() {
                let i = (k + rep) % tx_kinds.len();
                let (s, a) = tx_run(tx_kinds[i], len, secs);
                txs[i].push(s);
                txa[i].push(a);
            }
        }
        println!("== {len}-byte frames, {reps} x {secs} s ==");
        for (i, k) in rx_kinds.iter().enumerate() {
            println!("RX {:<22} received {}", format!("{k:?}"), summary(&mut rx[i]));
            println!("   {:<22} offered {}", "", summary(&mut offered[i]));
        }
        for (i, k) in tx_kinds.iter().enumerate() {
            println!("TX {:<22} sent {}", format!("{k:?}"), summary(&mut txs[i]));
            println!("   {:<22} arrived {}", "", summary(&mut txa[i]));
        }
    }
}
