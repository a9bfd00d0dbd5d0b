//! Async injection with backpressure: `send().await` waits while the TX
//! ring is full (woken by completions, with a timer for frames the kernel
//! left queued), `wait_drained().await` until the kernel released every
//! frame.
//!
//! ```sh
//! sudo cargo run -p netring --features tokio --example async_inject -- IFACE [COUNT] [SIZE]
//! ```

use std::time::Instant;

use netring::testkit::SeqFrames;
use netring::tokio::AsyncInjector;

#[tokio::main]
async fn main() -> netring::Result<()> {
    let mut args = std::env::args().skip(1);
    let iface = args.next().unwrap_or_else(|| "eth0".into());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let size: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(60);
    // A small ring, so the backpressure shows.
    let mut inj = AsyncInjector::new(netring::Injector::builder().interface(&iface).frame_count(256).build()?)?;
    let frames = SeqFrames::default();
    let mut buf = vec![0u8; size.max(SeqFrames::MIN_LEN)];
    let started = Instant::now();
    for seq in 0..count {
        frames.fill(seq, &mut buf);
        inj.send(&buf).await?;
        if seq % 64 == 63 {
            inj.flush()?;
        }
    }
    inj.wait_drained().await?;
    let secs = started.elapsed().as_secs_f64();
    let s = inj.get_mut().tx_stats();
    println!("{s} in {secs:.2} s ({:.0} frames/s)", s.sent as f64 / secs);
    Ok(())
}
