//! Async capture on a tokio runtime: zero-copy batches through the ready
//! guard, until Ctrl-C, then the final statistics.
//!
//! ```sh
//! sudo cargo run -p netring --features tokio --example async_capture -- IFACE
//! ```

use std::time::Instant;

use netring::tokio::AsyncCapture;

#[tokio::main]
async fn main() -> netring::Result<()> {
    let iface = std::env::args().nth(1).unwrap_or_else(|| "eth0".into());
    let mut cap = AsyncCapture::new(netring::Capture::builder().interface(&iface).snaplen(256).build()?)?;
    let started = Instant::now();
    let (mut packets, mut bytes) = (0u64, 0u64);
    eprintln!("capturing on {iface}; Ctrl-C to stop");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            ready = cap.readable() => {
                // Batches are handled synchronously: nothing holds ring
                // memory across an await.
                let mut ready = ready?;
                while let Some(batch) = ready.next_batch() {
                    for pkt in &batch {
                        packets += 1;
                        bytes += pkt.original_len() as u64;
                    }
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let kernel = cap.get_mut().stats()?;
    println!("{packets} packets, {bytes} bytes in {secs:.1} s ({:.0} packets/s)", packets as f64 / secs);
    println!("kernel: {kernel}; malformed blocks: {}", cap.get_ref().malformed_blocks());
    Ok(())
}
