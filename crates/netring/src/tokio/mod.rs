//! tokio adapters (feature `tokio`): [`AsyncCapture`], [`AsyncInjector`],
//! [`AsyncXdpSocket`], a [`futures_core::Stream`] of owned packets, and
//! [`Bridge::run_async`](crate::Bridge::run_async).
//!
//! These adapters hold no protocol logic, only readiness: the socket is
//! registered with tokio's reactor ([`tokio::io::unix::AsyncFd`], epoll in
//! edge-triggered mode), and every ring operation is the synchronous one of
//! the wrapped type, run when the reactor says the socket is ready.
//!
//! # When a socket is ready
//!
//! * **TPACKET_V3 receive** ([`AsyncCapture`]): the kernel wakes the socket
//!   when it *retires* a block (full, or its retire timer fired;
//!   `prb_close_block()` calls `sk_data_ready`), not per packet. So a
//!   lone packet is seen at most one retire timeout late, as with the
//!   blocking API. Readiness is cleared only after a look at the ring found
//!   the next block still kernel-owned; tokio's clear is tied to the event it
//!   was handed, so a block retired between that look and the clear keeps
//!   the socket ready: no wake-up is lost, and an empty ring never spins.
//! * **TX ring** ([`AsyncInjector`]): a frame's slot becomes free when its
//!   skb is freed (`tpacket_destruct_skb()`), which also returns send-buffer
//!   space and wakes writers (`sock_wfree()` → `sk_write_space`). `POLLOUT`
//!   also reports free send-buffer space alone (`datagram_poll()`), so a
//!   wake-up is followed by a look at the ring and, without a free slot, by
//!   clearing readiness until the next wake-up — edge-triggered readiness
//!   makes that free of spinning. A wake-up never comes for frames the kernel
//!   left queued because the device or qdisc was busy (the kick returned
//!   `EAGAIN`/`ENOBUFS`: nothing is in flight to complete), so every wait also
//!   runs a timer, 1 ms doubling to 32 ms while nothing changes, after which
//!   it kicks again.
//! * **AF_XDP** ([`AsyncXdpSocket`]): readable when the RX ring has
//!   descriptors (`xsk_poll()`), woken at each flush of received frames; TX
//!   completions wake writers in copy mode (`sock_wfree()`), but in
//!   zero-copy mode the driver fills the completion ring without a wake-up,
//!   so [`wait_drained`](Async::wait_drained) also relies on the same timer.
//!
//! # Cancel safety
//!
//! | method | cancel-safe | why |
//! |---|---|---|
//! | [`readable`](Async::readable) | yes | it only waits; nothing leaves the ring until [`ReadyGuard::next_batch`] |
//! | [`recv`](Async::recv) | yes | packets move from the ring into the adapter's own queue with no `.await` in between; a cancelled call leaves them for the next one |
//! | [`send`](Async::send) | yes | the frame is queued only after the last `.await`; a cancelled call queued nothing, so retrying sends it exactly once |
//! | [`allocate`](AsyncInjector::allocate) / [`allocate`](AsyncXdpSocket::allocate) | yes | as `send`: the slot is taken after the last `.await` |
//! | [`wait_drained`](Async::wait_drained) | yes | frames stay queued or in flight and still leave; only the waiting stops |
//! | [`Bridge::run_async`](crate::Bridge::run_async) | yes | a frame is taken from one ring and queued (and kicked) on the other without an `.await` in between; nothing is half-forwarded |
//! | [`PacketStream`] | dropping it drops the socket | the stream owns it |
//!
//! The claims for `readable`, `recv`, `send`, `wait_drained` and
//! `run_async` are tested over veth links by cancelling the calls (short
//! timeouts, or dropping them after one poll) while frames flow, then
//! checking that every frame arrived exactly once, in order.
//!
//! # Holding a batch across `.await`
//!
//! [`ReadyGuard`], and so every batch it lends, is deliberately `!Send`: a
//! batch pins ring memory (the kernel cannot refill those blocks or frames),
//! and a task that sleeps on one makes the ring freeze and drop. A future
//! that holds a batch across an `.await` therefore cannot be spawned:
//!
//! ```compile_fail,E0277
//! # async fn f(mut cap: netring::tokio::AsyncCapture) {
//! fn spawn<F: std::future::Future + Send + 'static>(_: F) {}
//! spawn(async move {
//!     let mut ready = cap.readable().await.unwrap();
//!     let batch = ready.next_batch().unwrap();
//!     tokio::task::yield_now().await; // the batch is held across an await
//!     println!("{}", batch.len());
//! });
//! # }
//! ```
//!
//! The pattern that works: handle each batch synchronously (or copy what
//! must outlive it), drop it, and only then await:
//!
//! ```no_run
//! # async fn f(mut cap: netring::tokio::AsyncCapture, tx: tokio::sync::mpsc::Sender<Vec<u8>>) -> netring::Result<()> {
//! fn spawn<F: std::future::Future + Send + 'static>(_: F) {}
//! spawn(async move {
//!     loop {
//!         let mut wanted = Vec::new();
//!         {
//!             let mut ready = cap.readable().await?;
//!             while let Some(batch) = ready.next_batch() {
//!                 for pkt in &batch {
//!                     if pkt.len() > 1000 {
//!                         wanted.push(pkt.data().to_vec()); // copy what must outlive the batch
//!                     }
//!                 }
//!             } // each batch goes back to the kernel here
//!         }
//!         for w in wanted {
//!             let _ = tx.send(w).await; // awaiting is fine now
//!         }
//!     }
//!     #[allow(unreachable_code)]
//!     Ok::<(), netring::Error>(())
//! });
//! # Ok(()) }
//! ```
//!
//! # Runtime
//!
//! A tokio runtime with I/O and time enabled (`Builder::enable_all`, or
//! `#[tokio::main]`); creating an adapter outside one panics, as
//! [`AsyncFd::new`] does.

mod bridge;
mod registration;
mod rx;
mod tx;

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;

use crate::error::{Error, Result};
use crate::packet::OwnedPacket;
use crate::{Capture, Injector, XdpSocket};

pub(crate) use registration::register;
pub use rx::{PacketStream, ReadyGuard};

/// A netring socket registered with tokio's reactor.
///
/// Use it through its aliases: [`AsyncCapture`], [`AsyncInjector`],
/// [`AsyncXdpSocket`]. Receive methods exist when `T` is an
/// [`AsyncSource`], transmit methods when it is an [`AsyncSink`].
#[derive(Debug)]
pub struct Async<T: AsFd> {
    /// A duplicate of `inner`'s descriptor, registered with the reactor.
    registration: AsyncFd<OwnedFd>,
    inner: T,
    /// Packets [`recv`](Async::recv) copied out of a batch and not yet returned.
    queue: VecDeque<OwnedPacket>,
}

/// An AF_PACKET TPACKET_V3 capture driven by tokio.
///
/// ```no_run
/// # async fn f() -> netring::Result<()> {
/// let mut cap = netring::tokio::AsyncCapture::open("eth0")?;
/// loop {
///     let mut ready = cap.readable().await?;
///     while let Some(batch) = ready.next_batch() {
///         for pkt in &batch {
///             println!("{} bytes", pkt.len());
///         }
///     }
/// }
/// # }
/// ```
pub type AsyncCapture = Async<Capture>;

/// An AF_PACKET TX ring driven by tokio: [`send`](Async::send) waits for a
/// free slot instead of failing.
///
/// ```no_run
/// # async fn f() -> netring::Result<()> {
/// let mut inj = netring::tokio::AsyncInjector::open("eth0")?;
/// let mut frame = [0u8; 60];
/// frame[..6].fill(0xff); // broadcast
/// frame[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental EtherType
/// for i in 0..100_000u64 {
///     frame[14..22].copy_from_slice(&i.to_be_bytes());
///     inj.send(&frame).await?; // waits while the ring is full
/// }
/// inj.wait_drained().await?; // every frame released by the kernel
/// # Ok(()) }
/// ```
pub type AsyncInjector = Async<Injector>;

/// An AF_XDP socket driven by tokio: receive as [`AsyncCapture`], send as
/// [`AsyncInjector`].
pub type AsyncXdpSocket = Async<XdpSocket>;

/// An error from tokio's reactor (epoll registration or the driver).
pub(crate) fn reactor_error(e: std::io::Error) -> Error {
    Error::from_io("epoll (tokio reactor)", e)
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Capture {}
    impl Sealed for crate::Injector {}
    impl Sealed for crate::XdpSocket {}
}

impl<T: AsFd> Async<T> {
    /// Register `inner`'s socket with the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Io`] if the reactor refuses the descriptor.
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled.
    pub fn new(inner: T) -> Result<Self> {
        let registration = register(inner.as_fd(), Interest::READABLE | Interest::WRITABLE)?;
        Ok(Self { registration, inner, queue: VecDeque::new() })
    }

    /// The wrapped socket.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped socket, mutably (statistics, filters, non-blocking calls).
    /// Replacing it with another socket is memory-safe but pointless: the
    /// registration keeps watching the socket it was made for.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Deregister and return the socket. Packets [`recv`](Self::recv) had
    /// copied out and not yet returned are dropped.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl Async<Capture> {
    /// Capture every packet on `interface` with default settings, driven by
    /// tokio. Needs `CAP_NET_RAW`.
    ///
    /// # Errors
    /// As [`CaptureBuilder::build`](crate::CaptureBuilder::build).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled.
    pub fn open(interface: &str) -> Result<Self> {
        Self::new(Capture::open(interface)?)
    }
}

impl Async<Injector> {
    /// An injector on `interface` with default settings, driven by tokio.
    /// Needs `CAP_NET_RAW`.
    ///
    /// # Errors
    /// As [`InjectorBuilder::build`](crate::InjectorBuilder::build).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled.
    pub fn open(interface: &str) -> Result<Self> {
        Self::new(Injector::open(interface)?)
    }
}

impl Async<XdpSocket> {
    /// An AF_XDP socket on queue 0 of `interface` with default settings and
    /// the built-in XDP program, driven by tokio. Needs `CAP_NET_RAW`,
    /// `CAP_NET_ADMIN` and `CAP_BPF`.
    ///
    /// # Errors
    /// As [`XdpSocketBuilder::build`](crate::XdpSocketBuilder::build).
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled.
    pub fn open(interface: &str) -> Result<Self> {
        Self::new(XdpSocket::open(interface)?)
    }
}

/// A receive socket the async adapters can drive ([`Capture`],
/// [`XdpSocket`]). Sealed: the adapters rely on each type's readiness rules.
pub trait AsyncSource: crate::PacketSource + AsFd + sealed::Sealed {
    /// `Ok(true)` when a batch is ready; `socket_error`: the reactor saw `POLLERR`.
    #[doc(hidden)]
    fn check_ready(&mut self, socket_error: bool) -> Result<bool>;

    /// Look again after this long even without a wake-up.
    #[doc(hidden)]
    fn recheck_interval(&self) -> Option<std::time::Duration> {
        None
    }
}

impl AsyncSource for Capture {
    fn check_ready(&mut self, socket_error: bool) -> Result<bool> {
        Capture::check_ready(self, socket_error)
    }

    fn recheck_interval(&self) -> Option<std::time::Duration> {
        Capture::recheck_interval(self)
    }
}

impl AsyncSource for XdpSocket {
    fn check_ready(&mut self, socket_error: bool) -> Result<bool> {
        self.check_rx_ready(socket_error)
    }

    /// Always: the kernel raises no event on an AF_XDP socket when its
    /// interface goes down or is deleted.
    fn recheck_interval(&self) -> Option<std::time::Duration> {
        Some(XdpSocket::recheck_interval(self))
    }
}

/// A transmit socket the async adapters can drive ([`Injector`],
/// [`XdpSocket`]). Sealed.
pub trait AsyncSink: AsFd + sealed::Sealed {
    /// Queue a copy of `frame`; `Ok(false)` when there is no room.
    #[doc(hidden)]
    fn queue(&mut self, frame: &[u8]) -> Result<bool>;

    /// Hand what is queued to the kernel.
    #[doc(hidden)]
    fn kick(&mut self) -> Result<()>;

    /// Frames queued or in flight, after collecting completions.
    #[doc(hidden)]
    fn in_flight(&mut self) -> usize;
}

impl AsyncSink for Injector {
    fn queue(&mut self, frame: &[u8]) -> Result<bool> {
        self.send(frame)
    }

    fn kick(&mut self) -> Result<()> {
        self.flush()
    }

    fn in_flight(&mut self) -> usize {
        self.tx_stats().pending as usize
    }
}

impl AsyncSink for XdpSocket {
    fn queue(&mut self, frame: &[u8]) -> Result<bool> {
        self.send(frame)
    }

    fn kick(&mut self) -> Result<()> {
        self.flush()
    }

    fn in_flight(&mut self) -> usize {
        self.complete_tx();
        self.tx_in_flight()
    }
}
