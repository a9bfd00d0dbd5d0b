//! One piece of code, two backends: a sender written against
//! [`PacketSink`] and a receiver written against [`PacketSource`], run over
//! AF_PACKET (TX ring + TPACKET_V3) or AF_XDP, chosen at run time.
//!
//! ```sh
//! cargo run --release -p netring --example backends -- --backend xdp [FRAMES]
//! cargo run --release -p netring --example backends -- --backend packet [FRAMES]
//! ```
//!
//! Builds a private veth link (two namespaces, removed at exit), sends
//! FRAMES numbered frames (default 100000) from end a, receives them on end
//! b, checks every byte, and prints what arrived. Needs root.

use std::time::{Duration, Instant};

use netring::testkit::{SeqFrames, VethLink};
use netring::{Batch, Capture, Injector, PacketSink, PacketSource, SinkSlot, XdpMode, XdpSocket};

/// Send `n` numbered frames of `len` bytes through any transmit path.
fn send<S: PacketSink>(sink: &mut S, n: u64, len: usize) -> netring::Result<netring::TxStats> {
    let frames = SeqFrames::default();
    for seq in 0..n {
        let mut slot = sink.allocate_blocking(len, Some(Duration::from_secs(5)))?.expect("room within 5 s");
        frames.fill(seq, &mut slot);
        slot.send();
        if seq % 64 == 63 {
            sink.flush()?;
        }
    }
    sink.flush()?;
    sink.wait_drained(Some(Duration::from_secs(5)))?;
    Ok(sink.tx_stats())
}

/// Receive numbered frames from any receive path until `n` arrived or the
/// link stays quiet for a second; (frames, frames intact and in order).
fn receive<S: PacketSource>(src: &mut S, n: u64) -> netring::Result<(u64, u64)> {
    let frames = SeqFrames::default();
    let (mut got, mut good) = (0, 0);
    while got < n {
        let Some(batch) = src.next_batch_blocking(Some(Duration::from_secs(1)))? else { break };
        for p in batch.packets() {
            if let Some(seq) = frames.seq(p.data()) {
                good += u64::from(frames.verify(p.data()) == Some(seq) && seq == got);
                got += 1;
            }
        }
    }
    Ok((got, good))
}

/// Sender on `a`, receiver on `b`, each on its own thread.
fn run<Src, Snk>(src: Src, mut sink: Snk, n: u64) -> netring::Result<()>
where
    Src: PacketSource + Send + 'static,
    Snk: PacketSink,
{
    let t0 = Instant::now();
    let rx = std::thread::spawn(move || {
        let mut src = src;
        receive(&mut src, n)
    });
    let sent = send(&mut sink, n, 60)?;
    let (got, good) = rx.join().expect("receiver")?;
    let secs = t0.elapsed().as_secs_f64();
    println!("sent: {sent}");
    println!("received {got} of {n} ({good} intact and in order) in {secs:.3} s: {:.0} frames/s", got as f64 / secs);
    Ok(())
}

fn main() -> netring::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend =
        args.iter().position(|a| a == "--backend").and_then(|i| args.get(i + 1)).map_or("packet", String::as_str);
    let n: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let link = VethLink::new()?;
    match backend {
        "packet" => {
            let src = link.b.run(|i| Capture::builder().interface(i).build())??;
            let sink = link.a.run(Injector::open)??;
            run(src, sink, n)
        }
        "xdp" => {
            let src = link.b.run(|i| XdpSocket::builder().interface(i).mode(XdpMode::Rx).build())??;
            let sink = link.a.run(|i| XdpSocket::builder().interface(i).mode(XdpMode::Tx).build())??;
            run(src, sink, n)
        }
        other => {
            eprintln!("--backend {other}: use packet or xdp");
            std::process::exit(2);
        }
    }
}
