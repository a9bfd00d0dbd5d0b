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
//! Needs root. Creates and removes its own namespaces.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{flood, pin, receiver, summary};
use netring::afxdp::XdpAttach;
use netring::frames::SeqFrames;
use netring::netns::VethLink;
use netring::{Capture, RawSender, XdpMode, XdpSocket};

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

fn receive_packet(
    l: &VethLink,
    spin: bool,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let cap = l.b.run(|n| Capture::builder().interface(n).block_count(64).build()).unwrap().unwrap();
    receiver(cap, spin, None, stop, ready)
}

fn receive_xdp(
    l: &VethLink,
    how: XdpAttach,
    spin: bool,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let sock = l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).attach(how).build()).unwrap().unwrap();
    receiver(sock, spin, None, stop, ready)
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
    let t = flood(tx, fr, secs);
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
            flood(tx, fr, secs)
        }
        Tx::Xdp => {
            let mut sock = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build()).unwrap().unwrap();
            std::thread::spawn(move || {
                pin(0);
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
    };
    let sent = sent.join().unwrap();
    stop.store(true, Ordering::Release);
    let arrived = rx.join().unwrap();
    (sent as f64 / secs, arrived as f64 / secs)
}

fn main() {
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
