//! Pieces the benchmark examples share: CPU pinning, a counting receiver
//! thread, and the median/spread summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netring::{Batch, Packet, PacketSource};

/// Pin the calling thread to `cpu` (best effort: unpinned runs still count).
pub fn pin(cpu: usize) {
    let _ = netring::cpu::pin_current_thread(cpu);
}

/// Which received frames a [`receiver`] counts.
pub type Keep = Box<dyn Fn(&Packet<'_>) -> bool + Send>;

/// Count frames on `src` (pinned to CPU 1) until `stop`, then drain 200 ms;
/// `spin`: poll the ring without sleeping; `keep`: count only the frames it
/// accepts (`None`: all).
pub fn receiver<S: PacketSource + Send + 'static>(
    mut src: S,
    spin: bool,
    keep: Option<Keep>,
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
            let batch = if spin {
                src.next_batch()
            } else {
                src.next_batch_blocking(Some(Duration::from_millis(10))).ok().flatten()
            };
            if let Some(b) = batch {
                n += match &keep {
                    None => b.len() as u64,
                    Some(k) => b.packets().filter(|p| k(p)).count() as u64,
                };
            }
        }
    })
}

/// Flood `frames` (sendmmsg batches) from `tx`, pinned to CPU 0, for
/// `secs`; returns how many the kernel took.
pub fn flood(tx: netring::RawSender, frames: Vec<Vec<u8>>, secs: f64) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        pin(0);
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let (t0, mut n) = (Instant::now(), 0u64);
        while t0.elapsed().as_secs_f64() < secs {
            n += tx.send_batch(&refs).unwrap_or(0) as u64;
        }
        n
    })
}

/// `median X Mpps [min .. max]` of rates in frames per second.
pub fn summary(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!("median {:>7.3} Mpps  [min {:.3} .. max {:.3}]", v[v.len() / 2] / 1e6, v[0] / 1e6, v[v.len() - 1] / 1e6)
}
