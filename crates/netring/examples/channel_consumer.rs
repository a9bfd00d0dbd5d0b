//! A runtime-agnostic consumer: `ChannelCapture` runs the capture on its own
//! thread and feeds a bounded crossbeam channel; two consumer threads share
//! it. With `Backpressure::Drop` a slow consumer costs counted drops in user
//! space instead of ring overflows. Runs for SECONDS, then stops, drains and
//! prints where every packet went.
//!
//! ```sh
//! sudo cargo run -p netring --features channel --example channel_consumer -- IFACE [SECONDS]
//! ```

use std::time::Duration;

use netring::channel::{Backpressure, ChannelCapture};

fn main() -> netring::Result<()> {
    let mut args = std::env::args().skip(1);
    let iface = args.next().unwrap_or_else(|| "eth0".into());
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let cap = ChannelCapture::builder(netring::Capture::builder().interface(&iface).snaplen(128))
        .capacity(8192)
        .backpressure(Backpressure::Drop)
        .build()?;
    let consumers: Vec<_> = (0..2)
        .map(|id| {
            let rx = cap.receiver().clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                for item in rx.iter() {
                    match item {
                        Ok(_pkt) => n += 1,
                        Err(e) => eprintln!("consumer {id}: {e}"),
                    }
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    cap.stop(); // the channel ends once the ring is drained into it
    let got: u64 = consumers.into_iter().map(|c| c.join().expect("consumer")).sum();
    let s = cap.stats();
    println!("consumed {got}; channel: {} delivered, {} dropped (full); kernel: {}", s.delivered, s.dropped, s.kernel);
    Ok(())
}
