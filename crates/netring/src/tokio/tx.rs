//! Transmitting: `send` waits for room, `wait_drained` for completion.

use std::os::fd::OwnedFd;
use std::time::Duration;

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;

use super::{Async, AsyncSink, reactor_error};
use crate::error::Result;
use crate::{Injector, TxSlot, XdpSocket};

/// First wait before kicking again when nothing woke the socket.
const MIN_BACKOFF: Duration = Duration::from_millis(1);
/// Longest such wait.
const MAX_BACKOFF: Duration = Duration::from_millis(32);

/// Run `done` until it says so, kicking the kernel and waiting for it in
/// between: for a wake-up (a completion frees a slot and send-buffer space)
/// or, since a wake-up never comes for frames the kernel left queued, for a
/// timer that doubles while nothing changes.
pub(crate) async fn until_sent<T: AsyncSink>(
    registration: &AsyncFd<OwnedFd>,
    inner: &mut T,
    mut done: impl FnMut(&mut T) -> Result<bool>,
) -> Result<()> {
    if done(inner)? {
        return Ok(());
    }
    let mut backoff = MIN_BACKOFF;
    loop {
        inner.kick()?;
        if done(inner)? {
            return Ok(());
        }
        let ready = registration.ready(Interest::WRITABLE | Interest::ERROR);
        match ::tokio::time::timeout(backoff, ready).await {
            Err(_elapsed) => backoff = (backoff * 2).min(MAX_BACKOFF),
            Ok(guard) => {
                let mut guard = guard.map_err(reactor_error)?;
                if done(inner)? {
                    return Ok(());
                }
                // POLLOUT for send-buffer space, or a slot we have not seen
                // free yet: wait for the next wake-up (a kick still comes
                // first, and reports a downed interface).
                guard.clear_ready();
                backoff = MIN_BACKOFF;
            }
        }
    }
}

impl<T: AsyncSink> Async<T> {
    /// Queue a copy of `frame`, waiting while the ring is full (kicking the
    /// kernel so that it frees slots). The frame leaves at the next kick:
    /// call [`flush`](Self::flush) after a burst (a full ring is kicked
    /// anyway). Cancel-safe: a cancelled call queued nothing.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`](crate::Error::FrameTooLarge);
    /// [`Error::InterfaceDown`](crate::Error::InterfaceDown) /
    /// [`Error::InterfaceGone`](crate::Error::InterfaceGone) from a kick;
    /// [`Error::Io`](crate::Error::Io).
    pub async fn send(&mut self, frame: &[u8]) -> Result<()> {
        until_sent(&self.registration, &mut self.inner, |s| s.queue(frame)).await
    }

    /// Ask the kernel to transmit what is queued; never waits.
    ///
    /// # Errors
    /// As the wrapped socket's `flush`.
    pub fn flush(&mut self) -> Result<()> {
        self.inner.kick()
    }

    /// Kick the kernel and wait until every queued frame has been sent and
    /// given back: for the TX ring, every slot released by
    /// `tpacket_destruct_skb()`; for AF_XDP, every frame returned on the
    /// completion ring. Bound it with [`tokio::time::timeout`]. Cancel-safe:
    /// the frames still leave.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub async fn wait_drained(&mut self) -> Result<()> {
        until_sent(&self.registration, &mut self.inner, |s| Ok(s.in_flight() == 0)).await
    }
}

impl Async<Injector> {
    /// A TX ring slot for a frame of `len` bytes, written in place
    /// (zero-copy), waiting while the ring is full. Cancel-safe.
    ///
    /// # Errors
    /// As [`send`](Async::send).
    pub async fn allocate(&mut self, len: usize) -> Result<TxSlot<'_>> {
        until_sent(&self.registration, &mut self.inner, |i| Ok(i.allocate(len)?.is_some())).await?;
        Ok(self.inner.allocate(len)?.expect("a free slot was just seen, and nothing ran since"))
    }
}

impl Async<XdpSocket> {
    /// A UMEM frame and TX descriptor for a frame of `len` bytes, written in
    /// place (zero-copy), waiting while none is free. Cancel-safe.
    ///
    /// # Errors
    /// As [`XdpSocket::allocate`].
    pub async fn allocate(&mut self, len: usize) -> Result<crate::afxdp::XdpTxSlot<'_>> {
        until_sent(&self.registration, &mut self.inner, |s| Ok(s.allocate(len)?.is_some())).await?;
        Ok(self.inner.allocate(len)?.expect("a free frame was just seen, and nothing ran since"))
    }
}
