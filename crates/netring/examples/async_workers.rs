//! Capture → tokio mpsc → N worker tasks: one task receives owned packets
//! (`recv`, a `Send` future) and spreads them over workers by flow (the
//! frame's first 14 bytes hashed: same MAC pair and EtherType, same worker,
//! so per-flow order holds). Ctrl-C stops it; each worker prints its count.
//!
//! ```sh
//! sudo cargo run -p netring --features tokio --example async_workers -- IFACE [WORKERS]
//! ```

use std::hash::{Hash, Hasher};

use netring::OwnedPacket;
use netring::tokio::AsyncCapture;
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> netring::Result<()> {
    let mut args = std::env::args().skip(1);
    let iface = args.next().unwrap_or_else(|| "eth0".into());
    let workers: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(4).max(1);
    let mut cap = AsyncCapture::open(&iface)?;

    let mut senders = Vec::new();
    let mut handles = Vec::new();
    for id in 0..workers {
        let (tx, mut rx) = mpsc::channel::<OwnedPacket>(1024);
        senders.push(tx);
        handles.push(tokio::spawn(async move {
            let (mut n, mut bytes) = (0u64, 0u64);
            while let Some(pkt) = rx.recv().await {
                n += 1;
                bytes += pkt.original_len() as u64;
            }
            println!("worker {id}: {n} packets, {bytes} bytes");
        }));
    }

    let dispatcher = tokio::spawn(async move {
        loop {
            let pkt = tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                pkt = cap.recv() => pkt?,
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            pkt.data().get(..14).unwrap_or(pkt.data()).hash(&mut h);
            let worker = (h.finish() % senders.len() as u64) as usize;
            // Backpressure: a slow worker slows the dispatcher; the ring then
            // fills and the kernel counts the drops.
            if senders[worker].send(pkt).await.is_err() {
                break;
            }
        }
        println!("kernel: {}", cap.get_mut().stats()?);
        Ok::<(), netring::Error>(())
    });
    dispatcher.await.expect("dispatcher task")?;
    for h in handles {
        h.await.expect("worker task");
    }
    Ok(())
}
