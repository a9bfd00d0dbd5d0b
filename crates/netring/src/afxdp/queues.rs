//! [`XdpQueueSet`]: the sockets of several queues read as one source.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use super::batch::{XdpBatch, XdpStats};
use super::config::XdpMode;
use super::link::LINK_CHECK;
use super::socket::XdpSocket;
use crate::StopHandle;
use crate::error::{Error, Result};
use crate::source::PacketSource;
use crate::stats::CaptureStats;
use crate::sys;

/// AF_XDP sockets on several queues (typically every queue of an
/// interface, over one shared UMEM), read from one thread as one
/// [`PacketSource`]: each call hands out the next ready socket's batch, in
/// turn, so no queue starves.
///
/// For a thread per queue instead, take the sockets apart with
/// [`into_sockets`](Self::into_sockets) (each [`XdpSocket`] is `Send`).
///
/// ```no_run
/// use netring::{Batch, PacketSource, afxdp::XdpQueueSet};
/// let mut all = XdpQueueSet::open("eth1")?;      // every RX queue, one UMEM, one XDP program
/// while let Some(batch) = all.next_batch_blocking(None)? {
///     println!("{} frames", batch.len());
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct XdpQueueSet {
    socks: Vec<XdpSocket>,
    /// The socket to look at first next time.
    next: usize,
    stop: StopHandle,
    revents: Vec<sys::Revents>,
}

impl XdpQueueSet {
    /// Receive on every RX queue of `interface`: [`XdpMode::Rx`] sockets
    /// from [`XdpSocketBuilder::build_all_queues`](super::XdpSocketBuilder::build_all_queues)
    /// with default settings. Takes every queue's traffic away from the
    /// host stack (see the [module docs](crate::afxdp)).
    ///
    /// # Errors
    /// As [`XdpSocketBuilder::build_shared`](super::XdpSocketBuilder::build_shared).
    pub fn open(interface: &str) -> Result<Self> {
        Self::new(XdpSocket::builder().interface(interface).mode(XdpMode::Rx).build_all_queues()?)
    }

    /// Read `sockets` as one source (sockets without an RX ring are kept but
    /// never read).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an empty list; [`Error::Io`] if the stop
    /// eventfd cannot be created.
    pub fn new(sockets: Vec<XdpSocket>) -> Result<Self> {
        if sockets.is_empty() {
            return Err(Error::config("sockets", "none", "give at least one socket"));
        }
        Ok(Self { revents: Vec::with_capacity(sockets.len() + 1), socks: sockets, next: 0, stop: StopHandle::new()? })
    }

    /// The sockets, in the order given.
    pub fn sockets(&self) -> &[XdpSocket] {
        &self.socks
    }

    /// The sockets, mutably (to send, refill, read statistics).
    pub fn sockets_mut(&mut self) -> &mut [XdpSocket] {
        &mut self.socks
    }

    /// The sockets, to move each to a thread of its own.
    pub fn into_sockets(self) -> Vec<XdpSocket> {
        self.socks
    }

    /// A handle that ends [`next_batch_blocking`](Self::next_batch_blocking)
    /// from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The next ready batch of any socket, trying them in turn; never blocks.
    pub fn next_batch(&mut self) -> Option<XdpBatch<'_>> {
        let ready = self.ready_index()?;
        self.next = (ready + 1) % self.socks.len();
        self.socks[ready].next_batch()
    }

    /// The next batch of any socket, waiting up to `timeout` (`None`: no
    /// limit) in one `poll(2)` over all of them; `Ok(None)` when the time
    /// runs out. While nothing arrives, each socket's interface is looked
    /// at every 100 ms, as [`XdpSocket::next_batch_blocking`] does.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`StopHandle::stop`];
    /// [`Error::InterfaceDown`] (once per interface) and
    /// [`Error::InterfaceGone`] (on every later call too) as
    /// [`XdpSocket::next_batch_blocking`], naming the interface;
    /// [`Error::Io`] if `poll` fails.
    pub fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<XdpBatch<'_>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.stop.is_stopped() {
                return Err(Error::Stopped);
            }
            if let Some(i) = self.checked_ready_index()? {
                self.next = (i + 1) % self.socks.len();
                return Ok(self.socks[i].next_batch());
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(l) => l.min(LINK_CHECK),
                    None => return Ok(None),
                },
                None => LINK_CHECK,
            };
            let mut fds: Vec<(BorrowedFd<'_>, i16)> = self.socks.iter().map(|s| (s.as_fd(), sys::POLLIN)).collect();
            fds.push((self.stop.event_fd(), sys::POLLIN));
            sys::poll_many(&fds, Some(left), &mut self.revents).map_err(|e| Error::from_io("poll(AF_XDP)", e))?;
            for (i, r) in self.revents[..self.socks.len()].iter().enumerate() {
                if r.error() {
                    self.socks[i].check_socket_error()?;
                }
            }
        }
    }

    /// Index of a socket with frames ready (waking the others as needed).
    fn ready_index(&mut self) -> Option<usize> {
        let n = self.socks.len();
        (0..n).map(|k| (self.next + k) % n).find(|&i| self.socks[i].rx_ready())
    }

    /// As [`ready_index`](Self::ready_index), looking at each receiving
    /// socket's interface when that is due. An interface that went down or
    /// away is reported once for all its sockets.
    fn checked_ready_index(&mut self) -> Result<Option<usize>> {
        let n = self.socks.len();
        for i in (0..n).map(|k| (self.next + k) % n) {
            if self.socks[i].rx.is_none() {
                continue;
            }
            match self.socks[i].check_rx_ready(false) {
                Ok(true) => return Ok(Some(i)),
                Ok(false) => {}
                Err(e) => {
                    let iface = self.socks[i].interface.clone();
                    for s in self.socks.iter_mut().filter(|s| s.interface == iface) {
                        s.learn_link(&e);
                    }
                    return Err(e);
                }
            }
        }
        Ok(None)
    }

    /// The counters of every socket, summed.
    ///
    /// # Errors
    /// `getsockopt(XDP_STATISTICS)` failed on one of them.
    pub fn xdp_stats(&self) -> Result<XdpStats> {
        let mut t = XdpStats::default();
        for s in &self.socks {
            t += s.xdp_stats()?;
        }
        Ok(t)
    }

    /// Receive counters summed over every socket, the same on every
    /// backend (this is [`PacketSource::stats`]).
    ///
    /// # Errors
    /// `getsockopt(XDP_STATISTICS)` failed on one of the sockets.
    pub fn stats(&mut self) -> Result<CaptureStats> {
        let s = self.xdp_stats()?;
        Ok(CaptureStats { packets: s.received, drops: s.drops(), freezes: 0 })
    }
}

impl PacketSource for XdpQueueSet {
    type Batch<'a> = XdpBatch<'a>;

    fn next_batch(&mut self) -> Option<XdpBatch<'_>> {
        XdpQueueSet::next_batch(self)
    }

    fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<XdpBatch<'_>>> {
        XdpQueueSet::next_batch_blocking(self, timeout)
    }

    /// Sums over the sockets, as [`XdpSocket`]'s `stats`.
    fn stats(&mut self) -> Result<CaptureStats> {
        XdpQueueSet::stats(self)
    }
}
