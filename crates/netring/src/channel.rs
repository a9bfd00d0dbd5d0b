//! [`ChannelCapture`] (feature `channel`): a capture thread feeding a bounded
//! crossbeam channel, for consumers on any runtime (or none).
//!
//! The thread owns a [`Capture`], copies each packet out of the ring into an
//! [`OwnedPacket`] and sends it. When the channel is full, the
//! [`Backpressure`] policy decides: [`Block`](Backpressure::Block) waits
//! (the ring then fills and the kernel drops, counted in
//! [`CaptureStats::drops`]); [`Drop`](Backpressure::Drop) drops the packet
//! and counts it in [`ChannelStats::dropped`]. Either way every loss is
//! counted in exactly one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::StopHandle;
use crate::afpacket::{Capture, CaptureBuilder};
use crate::error::{Error, Result};
use crate::packet::OwnedPacket;
use crate::stats::CaptureStats;

/// What the capture thread does when the channel is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backpressure {
    /// Wait for room. The ring fills behind the waiting thread and the kernel
    /// drops what does not fit ([`CaptureStats::drops`]). The default: the
    /// kernel's own, exact loss counter.
    #[default]
    Block,
    /// Drop the packet and count it ([`ChannelStats::dropped`]); the ring
    /// keeps draining at full speed.
    Drop,
}

/// Counters of a [`ChannelCapture`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ChannelStats {
    /// Packets put into the channel.
    pub delivered: u64,
    /// Packets dropped because the channel was full ([`Backpressure::Drop`]).
    pub dropped: u64,
    /// The kernel's counters for the socket (packets into the ring, drops for
    /// a full ring, freezes): refreshed every 100 ms while the thread runs,
    /// and exact once the channel has ended.
    pub kernel: CaptureStats,
}

/// How often the capture thread refreshes the kernel's counters.
const STATS_EVERY: Duration = Duration::from_millis(100);

/// Builder for a [`ChannelCapture`]; [`build`](Self::build) validates once.
#[derive(Debug, Clone)]
#[must_use]
pub struct ChannelCaptureBuilder {
    capture: CaptureBuilder,
    capacity: usize,
    backpressure: Backpressure,
}

impl ChannelCaptureBuilder {
    /// Packets the channel holds (≥ 1). Default 4096.
    pub fn capacity(mut self, packets: usize) -> Self {
        self.capacity = packets;
        self
    }

    /// What to do when the channel is full. Default [`Backpressure::Block`].
    pub fn backpressure(mut self, policy: Backpressure) -> Self {
        self.backpressure = policy;
        self
    }

    /// Open the capture (on the calling thread, so in its network
    /// namespace) and start the thread that feeds the channel.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a capacity of 0; otherwise as
    /// [`CaptureBuilder::build`]; [`Error::Io`] if the thread cannot start.
    pub fn build(self) -> Result<ChannelCapture> {
        if self.capacity == 0 {
            return Err(Error::config("capacity", 0, "must be at least 1"));
        }
        let cap = self.capture.build()?;
        let stop = cap.stop_handle();
        let (tx, rx) = crossbeam_channel::bounded(self.capacity);
        let shared = Arc::new(Shared::default());
        let worker = Worker { tx, policy: self.backpressure, shared: Arc::clone(&shared), stats_at: Instant::now() };
        let thread = std::thread::Builder::new()
            .name(format!("netring-{}", cap.interface()))
            .spawn(move || worker.run(cap))
            .map_err(|e| Error::from_io("spawn capture thread", e))?;
        Ok(ChannelCapture { rx, stop, thread: Some(thread), shared })
    }
}

#[derive(Debug, Default)]
struct Shared {
    delivered: AtomicU64,
    dropped: AtomicU64,
    kernel: Mutex<CaptureStats>,
}

/// A [`Capture`] on its own thread, feeding a bounded channel of owned
/// packets.
///
/// Each item is `Ok(packet)` or the error that stopped (or, for
/// [`Error::InterfaceDown`], interrupted) the capture: the channel never ends
/// silently. [`recv`](Self::recv) returns `None` once the thread has ended and
/// every item was taken: after [`stop`](Self::stop), or after an error other
/// than `InterfaceDown`. Errors are delivered even under
/// [`Backpressure::Drop`].
///
/// ```no_run
/// use netring::channel::{Backpressure, ChannelCapture};
/// let cap = ChannelCapture::builder(netring::Capture::builder().interface("eth0").snaplen(128))
///     .capacity(10_000)
///     .backpressure(Backpressure::Drop)
///     .build()?;
/// while let Some(item) = cap.recv() {
///     let pkt = item?;
///     println!("{} bytes", pkt.data().len());
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct ChannelCapture {
    rx: Receiver<Result<OwnedPacket>>,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl ChannelCapture {
    /// Capture every packet on `interface` with default settings.
    ///
    /// # Errors
    /// As [`ChannelCaptureBuilder::build`].
    pub fn open(interface: &str) -> Result<Self> {
        Self::builder(Capture::builder().interface(interface)).build()
    }

    /// A builder around a fully configured [`CaptureBuilder`].
    pub fn builder(capture: CaptureBuilder) -> ChannelCaptureBuilder {
        ChannelCaptureBuilder { capture, capacity: 4096, backpressure: Backpressure::default() }
    }

    /// The next item, waiting for one; `None` when the capture has ended and
    /// the channel is empty.
    pub fn recv(&self) -> Option<Result<OwnedPacket>> {
        self.rx.recv().ok()
    }

    /// The channel's receiving end, for `select!`, timeouts, iteration or
    /// another thread (clones share the items).
    pub fn receiver(&self) -> &Receiver<Result<OwnedPacket>> {
        &self.rx
    }

    /// Stop capturing, and drain: the thread waits for the kernel to retire
    /// the block it was filling (up to twice the retire timeout), sends
    /// every packet already in the ring, then ends the channel. Keep calling
    /// [`recv`](Self::recv) until `None` to get them.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// Counters so far (exact once [`recv`](Self::recv) has returned `None`).
    pub fn stats(&self) -> ChannelStats {
        ChannelStats {
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            kernel: *self.shared.kernel.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

impl Drop for ChannelCapture {
    fn drop(&mut self) {
        self.stop.stop();
        // Unblock a thread waiting on a full channel: its send fails once
        // every receiver is gone.
        let (_, dead) = crossbeam_channel::bounded(0);
        drop(std::mem::replace(&mut self.rx, dead));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The capture thread's side.
struct Worker {
    tx: Sender<Result<OwnedPacket>>,
    policy: Backpressure,
    shared: Arc<Shared>,
    stats_at: Instant,
}

impl Worker {
    fn run(mut self, mut cap: Capture) {
        // A panic below must not end the channel silently (the notice's
        // sender goes away with it otherwise).
        let _notice = PanicNotice(self.tx.clone());
        let end = self.capture(&mut cap);
        self.refresh(&mut cap, true);
        if let Err(e) = end {
            let _ = self.tx.send(Err(e));
        }
    }

    /// Feed the channel until stopped (`Ok`) or an error ends the capture;
    /// `Ok` too when the consumer is gone.
    fn capture(&mut self, cap: &mut Capture) -> Result<()> {
        loop {
            let failed = match cap.next_batch_blocking(Some(STATS_EVERY)) {
                Ok(Some(batch)) => {
                    for pkt in &batch {
                        if !self.deliver(pkt.to_owned()) {
                            return Ok(());
                        }
                    }
                    None
                }
                Ok(None) => None,
                Err(e) => Some(e),
            };
            match failed {
                None => {}
                Some(Error::Stopped) => return self.drain(cap),
                Some(e @ Error::InterfaceDown { .. }) => {
                    // Reported, not the end: the capture resumes if it comes up.
                    let consumer_gone = self.tx.send(Err(e)).is_err();
                    if consumer_gone {
                        return Ok(());
                    }
                }
                Some(e) => return Err(e),
            }
            self.refresh(cap, false);
        }
    }

    /// After a stop: let the kernel retire the block it is filling, then
    /// send everything in the ring.
    fn drain(&mut self, cap: &mut Capture) -> Result<()> {
        std::thread::sleep((cap.retire_timeout() * 2 + Duration::from_millis(5)).min(Duration::from_secs(1)));
        while let Some(batch) = cap.next_batch() {
            for pkt in &batch {
                if !self.deliver(pkt.to_owned()) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Send one packet under the policy; `false` when the consumer is gone.
    fn deliver(&mut self, pkt: OwnedPacket) -> bool {
        let sent = match self.policy {
            Backpressure::Block => self.tx.send(Ok(pkt)).is_ok(),
            Backpressure::Drop => match self.tx.try_send(Ok(pkt)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(TrySendError::Disconnected(_)) => false,
            },
        };
        if sent {
            self.shared.delivered.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Publish the kernel's counters, at most every [`STATS_EVERY`] unless `now`.
    fn refresh(&mut self, cap: &mut Capture, now: bool) {
        if !now && self.stats_at.elapsed() < STATS_EVERY {
            return;
        }
        self.stats_at = Instant::now();
        if let Ok(s) = cap.stats() {
            *self.shared.kernel.lock().unwrap_or_else(|p| p.into_inner()) = s;
        }
    }
}

/// Sends [`Error::CaptureThread`] if dropped while unwinding.
struct PanicNotice(Sender<Result<OwnedPacket>>);

impl Drop for PanicNotice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Err(Error::CaptureThread { reason: "it panicked".into() }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_zero_is_refused_before_anything_opens() {
        let e = ChannelCapture::builder(Capture::builder().interface("lo")).capacity(0).build().unwrap_err();
        assert_eq!(e.to_string(), "invalid capacity = 0: must be at least 1");
    }

    #[test]
    fn a_panicking_thread_is_reported_not_silent() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let t = std::thread::spawn(move || {
            let _notice = PanicNotice(tx);
            panic!("boom");
        });
        assert!(t.join().is_err());
        assert!(matches!(rx.recv(), Ok(Err(Error::CaptureThread { .. }))));
        assert!(rx.recv().is_err(), "then the channel ends");
    }
}
