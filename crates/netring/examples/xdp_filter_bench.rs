//! A filter that keeps 10 % of frames (`ether[21] % 10 = 0`: the low byte
//! of the sequence number), three ways, over a veth pair in private
//! namespaces, interleaved, several repetitions, median and spread:
//!
//! - **XDP in-kernel**: `XdpSocketBuilder::filter`, the expression
//!   translated to eBPF inside the built-in XDP program, native XDP and
//!   generic (skb) XDP; rejected frames go on to the host stack (`XDP_PASS`);
//! - **XDP + interpreter**: every frame redirected to the socket, the same
//!   classic program run in user space on each;
//! - **AF_PACKET in-kernel**: `CaptureBuilder::filter` (classic BPF socket filter).
//!
//! ```sh
//! cargo run --release -p netring --example xdp_filter_bench -- [SECONDS] [REPETITIONS]
//! ```
//!
//! A `RawSender::send_batch` (sendmmsg, 100 frames of 64 bytes a call,
//! sequence numbers 0..99) floods end a from CPU 0; the receiver runs on CPU 1.
//! Printed: frames offered per second, and frames that matched and reached
//! the application per second. Needs root.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{flood, receiver, summary};
use netring::afxdp::XdpAttach;
use netring::filter::{FilterMeta, expr};
use netring::testkit::{SeqFrames, VethLink};
use netring::{Capture, RawSender, XdpMode, XdpSocket};

const FILTER: &str = "ether[21] % 10 = 0";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    XdpInKernel,
    XdpGenericInKernel,
    XdpInterpreter,
    PacketInKernel,
}

/// (offered, matched and received) frames per second.
fn run(kind: Kind, secs: f64) -> (f64, f64) {
    let l = VethLink::new().expect("veth (run as root)");
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let xdp = |filter: bool, how: XdpAttach| {
        l.b.run(move |n| {
            let b = XdpSocket::builder().interface(n).mode(XdpMode::Rx).attach(how);
            if filter { b.filter(FILTER) } else { b }.build()
        })
        .unwrap()
        .unwrap()
    };
    let rx = match kind {
        Kind::XdpInKernel => receiver(xdp(true, XdpAttach::Native), false, None, stop.clone(), ready.clone()),
        Kind::XdpGenericInKernel => receiver(xdp(true, XdpAttach::Generic), false, None, stop.clone(), ready.clone()),
        Kind::XdpInterpreter => {
            let p = expr::compile(FILTER, 262_144).unwrap();
            let keep =
                Box::new(move |pkt: &netring::Packet<'_>| p.matches(pkt.data(), &FilterMeta::for_frame(pkt.data())));
            receiver(xdp(false, XdpAttach::Native), false, Some(keep), stop.clone(), ready.clone())
        }
        Kind::PacketInKernel => {
            let cap =
                l.b.run(|n| Capture::builder().interface(n).block_count(64).filter(FILTER).build()).unwrap().unwrap();
            receiver(cap, false, None, stop.clone(), ready.clone())
        }
    };
    while !ready.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let frames: Vec<Vec<u8>> = (0..100).map(|i| SeqFrames::default().build(i, 64)).collect();
    let t = flood(tx, frames, secs);
    let offered = t.join().unwrap();
    stop.store(true, Ordering::Release);
    (offered as f64 / secs, rx.join().unwrap() as f64 / secs)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let kinds = [Kind::XdpInKernel, Kind::XdpGenericInKernel, Kind::XdpInterpreter, Kind::PacketInKernel];
    let (mut offered, mut got): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![Vec::new(); 4], vec![Vec::new(); 4]);
    for rep in 0..reps {
        for k in 0..kinds.len() {
            let i = (k + rep) % kinds.len();
            let (o, r) = run(kinds[i], secs);
            offered[i].push(o);
            got[i].push(r);
        }
    }
    println!("== {FILTER:?} (keeps 10 %), 64-byte frames, {reps} x {secs} s ==");
    for (i, k) in kinds.iter().enumerate() {
        println!("{:<20} matched {}", format!("{k:?}"), summary(&mut got[i]));
        println!("{:<20} offered {}", "", summary(&mut offered[i]));
    }
}
