//! [`Bridge`]: forward frames between two interfaces, A ⇄ B, with a
//! per-packet decision.
//!
//! Each port is a [`Capture`] (TPACKET_V3 receive ring, promiscuous,
//! `PACKET_IGNORE_OUTGOING`) paired with an [`Injector`] (TX ring) on the
//! same interface. A frame captured on A is handed to the decision function
//! and, if it says [`BridgeAction::Forward`], copied into B's TX ring; one
//! kick per received block. Because both captures ignore outgoing frames,
//! the bridge never sees what it injected: no echo, no loop.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::StopHandle;
use crate::afpacket::{Capture, Injector};
use crate::error::{Error, Result};
use crate::packet::Packet;
use crate::sys;

/// Which way a frame is crossing the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BridgeDirection {
    /// Captured on port A, to be sent on port B.
    AtoB,
    /// Captured on port B, to be sent on port A.
    BtoA,
}

/// What to do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BridgeAction {
    /// Send it out of the other port.
    Forward,
    /// Drop it.
    Drop,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DirectionStats {
    /// Frames queued on the other port's TX ring.
    pub forwarded: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Frames the decision function dropped.
    pub dropped: u64,
    /// Frames longer than the other port accepts (its MTU + link header).
    pub too_large: u64,
    /// Frames dropped because the other port's TX ring stayed full.
    pub tx_full: u64,
}

/// Counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BridgeStats {
    /// A → B.
    pub a_to_b: DirectionStats,
    /// B → A.
    pub b_to_a: DirectionStats,
}

/// Builder for a [`Bridge`]; [`build`](Self::build) validates once.
#[derive(Debug, Clone)]
#[must_use]
pub struct BridgeBuilder {
    a: Option<String>,
    b: Option<String>,
    block_size: usize,
    block_count: usize,
    retire_timeout: Duration,
    tx_frames: Option<usize>,
    qdisc_bypass: bool,
    promiscuous: bool,
    netns: Option<String>,
}

impl Default for BridgeBuilder {
    fn default() -> Self {
        Self {
            a: None,
            b: None,
            block_size: 1 << 18,
            block_count: 32,
            retire_timeout: Duration::from_millis(1),
            tx_frames: None,
            qdisc_bypass: false,
            promiscuous: true,
            netns: None,
        }
    }
}

impl BridgeBuilder {
    /// Port A's interface (required).
    pub fn a(mut self, interface: impl Into<String>) -> Self {
        self.a = Some(interface.into());
        self
    }

    /// Port B's interface (required).
    pub fn b(mut self, interface: impl Into<String>) -> Self {
        self.b = Some(interface.into());
        self
    }

    /// Receive ring block size on each port. Default 256 KiB.
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block_size = bytes;
        self
    }

    /// Receive ring blocks on each port. Default 32.
    pub fn block_count(mut self, n: usize) -> Self {
        self.block_count = n;
        self
    }

    /// Block retire timeout: the longest a lone frame waits in a receive
    /// block before the bridge sees it. Default 1 ms.
    pub fn retire_timeout(mut self, t: Duration) -> Self {
        self.retire_timeout = t;
        self
    }

    /// TX ring slots on each port (default as [`Injector`]'s).
    pub fn tx_frames(mut self, n: usize) -> Self {
        self.tx_frames = Some(n);
        self
    }

    /// `PACKET_QDISC_BYPASS` on both TX rings. Default off.
    pub fn qdisc_bypass(mut self, on: bool) -> Self {
        self.qdisc_bypass = on;
        self
    }

    /// Promiscuous mode on both ports (a bridge forwards frames for other
    /// hosts, which a NIC filters out otherwise). Default on.
    pub fn promiscuous(mut self, on: bool) -> Self {
        self.promiscuous = on;
        self
    }

    /// Open both ports inside the named network namespace (`/run/netns/NAME`
    /// as `ip netns` names them, or a path such as `/proc/PID/ns/net`); they
    /// stay there wherever it is used. Needs `CAP_SYS_ADMIN`. The interface
    /// names are looked up there.
    pub fn netns(mut self, name: impl Into<String>) -> Self {
        self.netns = Some(name.into());
        self
    }

    fn port(&self, name: &str) -> Result<Port> {
        let cap = Capture::builder()
            .interface(name)
            .block_size(self.block_size)
            .block_count(self.block_count)
            .retire_timeout(self.retire_timeout)
            .promiscuous(self.promiscuous)
            .ignore_outgoing(true)
            .build()?;
        let mut inj = Injector::builder().interface(name).qdisc_bypass(self.qdisc_bypass);
        if let Some(n) = self.tx_frames {
            inj = inj.frame_count(n);
        }
        Ok(Port { cap, inj: inj.build()? })
    }

    /// Open both ports (in the calling thread's network namespace).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a port is missing or both are the same
    /// interface; otherwise as [`CaptureBuilder::build`](crate::CaptureBuilder::build)
    /// and [`InjectorBuilder::build`](crate::InjectorBuilder::build)
    /// (`CAP_NET_RAW`, Linux 4.20 for `PACKET_IGNORE_OUTGOING`).
    pub fn build(mut self) -> Result<Bridge> {
        if let Some(ns) = self.netns.take() {
            return crate::netns::NetNs::open(&ns)?.run(move || self.build())?;
        }
        let a = self.a.clone().ok_or_else(|| Error::config("port a", "<unset>", "is required"))?;
        let b = self.b.clone().ok_or_else(|| Error::config("port b", "<unset>", "is required"))?;
        if a == b {
            return Err(Error::config("port b", &b, "must differ from port a"));
        }
        Ok(Bridge { a: self.port(&a)?, b: self.port(&b)?, stop: StopHandle::new()?, stats: BridgeStats::default() })
    }
}

#[derive(Debug)]
struct Port {
    cap: Capture,
    inj: Injector,
}

/// Two ports, A and B, and frames forwarded between them.
///
/// Needs `CAP_NET_RAW`; Linux 4.20 (`PACKET_IGNORE_OUTGOING`).
///
/// ```no_run
/// use netring::{Bridge, BridgeAction, BridgeDirection};
/// let mut bridge = Bridge::builder().a("eth1").b("eth2").build()?;
/// let stop = bridge.stop_handle(); // e.g. for a Ctrl-C handler
/// let stats = bridge.run(None, |pkt, dir| {
///     // Keep IPv6 out of B.
///     let ipv6 = pkt.data().get(12..14) == Some(&[0x86, 0xdd][..]);
///     if ipv6 && dir == BridgeDirection::AtoB { BridgeAction::Drop } else { BridgeAction::Forward }
/// })?;
/// println!("{stats:?}");
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct Bridge {
    a: Port,
    b: Port,
    stop: StopHandle,
    stats: BridgeStats,
}

/// How long one wait for traffic lasts before the clock is checked again.
const IDLE_WAIT: Duration = Duration::from_millis(100);

impl Bridge {
    /// A builder with default settings.
    pub fn builder() -> BridgeBuilder {
        BridgeBuilder::default()
    }

    /// A handle that ends [`run`](Self::run) from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Counters so far.
    pub fn stats(&self) -> BridgeStats {
        self.stats
    }

    /// The two ports' interface names (A, B).
    pub fn interfaces(&self) -> (&str, &str) {
        (self.a.cap.interface(), self.b.cap.interface())
    }

    /// Forward frames until `duration` passes (`None`: until stopped),
    /// asking `decide` about each one. Returns the counters.
    ///
    /// # Errors
    /// A port went down or away ([`Error::InterfaceDown`],
    /// [`Error::InterfaceGone`]), or a system call failed. Counters stay
    /// available through [`stats`](Self::stats).
    pub fn run<F>(&mut self, duration: Option<Duration>, mut decide: F) -> Result<BridgeStats>
    where
        F: FnMut(&Packet<'_>, BridgeDirection) -> BridgeAction,
    {
        let deadline = duration.map(|d| Instant::now() + d);
        let result = loop {
            if self.stop.is_stopped() {
                break Ok(());
            }
            match self.step(&mut decide) {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => break Err(e),
            }
            let wait = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                Some(l) if l.is_zero() => break Ok(()),
                Some(l) => l.min(IDLE_WAIT),
                None => IDLE_WAIT,
            };
            let polled = sys::poll(
                [
                    (self.a.cap.as_fd(), sys::POLLIN),
                    (self.b.cap.as_fd(), sys::POLLIN),
                    (self.stop.event_fd(), sys::POLLIN),
                ],
                Some(wait),
            );
            match polled {
                Ok([ra, rb, _]) => {
                    if let Err(e) = self.check_ports(ra.error(), rb.error()) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(Error::from_io("poll", e)),
            }
        };
        self.finish();
        result.map(|()| self.stats)
    }

    /// Move every ready block both ways; returns the frames looked at.
    pub(crate) fn step<F>(&mut self, decide: &mut F) -> Result<usize>
    where
        F: FnMut(&Packet<'_>, BridgeDirection) -> BridgeAction,
    {
        let Self { a, b, stats, .. } = self;
        let ab = pump(&mut a.cap, &mut b.inj, BridgeDirection::AtoB, &mut stats.a_to_b, decide)?;
        let ba = pump(&mut b.cap, &mut a.inj, BridgeDirection::BtoA, &mut stats.b_to_a, decide)?;
        Ok(ab + ba)
    }

    /// After a wait reported `POLLERR` on port A and/or B: let the capture
    /// name the problem (down, gone).
    pub(crate) fn check_ports(&mut self, a_error: bool, b_error: bool) -> Result<()> {
        if a_error {
            self.a.cap.check_socket_error()?;
        }
        if b_error {
            self.b.cap.check_socket_error()?;
        }
        Ok(())
    }

    #[cfg(feature = "tokio")]
    /// The two capture sockets (A, B), whose readability means "frames to
    /// forward".
    pub(crate) fn capture_fds(&self) -> (std::os::fd::BorrowedFd<'_>, std::os::fd::BorrowedFd<'_>) {
        (self.a.cap.as_fd(), self.b.cap.as_fd())
    }

    #[cfg(feature = "tokio")]
    /// The stop handle's event descriptor, readable once stopped.
    pub(crate) fn stop_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stop.event_fd()
    }

    #[cfg(feature = "tokio")]
    /// Whether [`StopHandle::stop`] was called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    #[cfg(feature = "tokio")]
    /// Both ports' injectors.
    pub(crate) fn injectors(&mut self) -> [&mut Injector; 2] {
        [&mut self.a.inj, &mut self.b.inj]
    }

    /// Whatever ended a run, what was queued leaves (up to a second each).
    pub(crate) fn finish(&mut self) {
        for inj in [&mut self.a.inj, &mut self.b.inj] {
            let _ = inj.flush().and_then(|()| inj.wait_drained(Some(Duration::from_secs(1))));
        }
    }
}

/// Move every ready block of `from` to `to`; returns the frames looked at.
fn pump<F>(
    from: &mut Capture,
    to: &mut Injector,
    dir: BridgeDirection,
    st: &mut DirectionStats,
    decide: &mut F,
) -> Result<usize>
where
    F: FnMut(&Packet<'_>, BridgeDirection) -> BridgeAction,
{
    let mut seen = 0;
    while let Some(batch) = from.next_batch() {
        for pkt in &batch {
            seen += 1;
            if decide(&pkt, dir) == BridgeAction::Drop {
                st.dropped += 1;
                continue;
            }
            let data = pkt.data();
            let slot = match to.allocate(data.len()) {
                Ok(Some(slot)) => Some(slot),
                Ok(None) => {
                    // Full: hand the ring to the kernel once, then look again.
                    to.flush()?;
                    to.allocate(data.len())?
                }
                Err(Error::FrameTooLarge { .. }) => {
                    st.too_large += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match slot {
                Some(mut slot) => {
                    slot.copy_from_slice(data);
                    slot.send();
                    st.forwarded += 1;
                    st.bytes += data.len() as u64;
                }
                None => st.tx_full += 1,
            }
        }
        drop(batch);
        to.flush()?;
    }
    Ok(seen)
}
