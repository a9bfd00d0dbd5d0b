//! Receiving: [`ReadyGuard`] (zero-copy batches), `recv`, [`PacketStream`].

use std::future::Future;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::Interest;
use ::tokio::io::unix::{AsyncFd, AsyncFdReadyGuard};

use super::{Async, AsyncSource, reactor_error};
use crate::error::{Error, Result};
use crate::packet::OwnedPacket;
use crate::source::Batch;

/// Wait until `inner` has a batch ready: the reactor's word, checked against
/// the ring. Readiness is cleared only after the ring was seen empty.
async fn until_ready<'a, T: AsyncSource>(
    registration: &'a AsyncFd<OwnedFd>,
    inner: &mut T,
) -> Result<AsyncFdReadyGuard<'a, OwnedFd>> {
    loop {
        let ready = registration.ready(Interest::READABLE | Interest::ERROR);
        let guard = match inner.recheck_interval() {
            None => ready.await,
            Some(every) => match ::tokio::time::timeout(every, ready).await {
                Ok(guard) => guard,
                Err(_elapsed) => {
                    // Nothing woke us: look anyway (an interface deleted
                    // while down is reported by nobody).
                    inner.check_ready(false)?;
                    continue;
                }
            },
        };
        let mut guard = guard.map_err(reactor_error)?;
        if inner.check_ready(guard.ready().is_error())? {
            return Ok(guard);
        }
        // Seen empty after this event: wait for the next one. A block the
        // kernel retired since the guard was made keeps the socket ready.
        guard.clear_ready();
    }
}

impl<T: AsyncSource> Async<T> {
    /// Wait until at least one batch is ready, and lend the ring out through
    /// the returned guard. Cancel-safe: nothing is taken from the ring until
    /// [`ReadyGuard::next_batch`].
    ///
    /// # Errors
    /// [`Error::InterfaceDown`] (the next call waits again, and the capture
    /// resumes if the interface comes back), [`Error::InterfaceGone`] (on
    /// every later call too), [`Error::Io`] from the reactor.
    pub async fn readable(&mut self) -> Result<ReadyGuard<'_, T>> {
        let guard = until_ready(&self.registration, &mut self.inner).await?;
        Ok(ReadyGuard { guard, inner: &mut self.inner, _not_send: PhantomData })
    }

    /// The next packet, copied out of the ring (the block or frames go back
    /// to the kernel as soon as the batch holding it is copied). The future
    /// is `Send`. Cancel-safe: packets copied out wait in the adapter for the
    /// next call.
    ///
    /// # Errors
    /// As [`readable`](Self::readable).
    pub async fn recv(&mut self) -> Result<OwnedPacket> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Ok(p);
            }
            // Readiness stays set: the ring is not empty.
            let _ready = until_ready(&self.registration, &mut self.inner).await?;
            if let Some(batch) = self.inner.next_batch() {
                self.queue.extend(batch.packets().map(|p| p.to_owned()));
            }
        }
    }

    /// Packets copied out by [`recv`](Self::recv) and not yet returned.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// A [`futures_core::Stream`] of owned packets (as [`recv`](Self::recv)).
    ///
    /// An [`Error::InterfaceDown`] is yielded and the stream goes on (the
    /// capture resumes if the interface comes back); any other error is
    /// yielded once and ends the stream.
    pub fn into_stream(self) -> PacketStream<T>
    where
        T: Send + 'static,
    {
        PacketStream { state: State::Idle(Box::new(self)) }
    }
}

/// The ring of a ready socket, lent out by [`Async::readable`].
///
/// `!Send`, so a task that holds it (or a batch from it) across an `.await`
/// cannot be spawned on a multi-threaded runtime; see the
/// [module docs](super#holding-a-batch-across-await).
#[derive(Debug)]
pub struct ReadyGuard<'a, T: AsyncSource> {
    guard: AsyncFdReadyGuard<'a, OwnedFd>,
    inner: &'a mut T,
    _not_send: PhantomData<*const ()>,
}

impl<T: AsyncSource> ReadyGuard<'_, T> {
    /// The next batch, zero-copy (as the wrapped socket's own
    /// `next_batch`); dropping it hands the memory back to the kernel.
    /// `None` once the ring is empty, which also clears the socket's
    /// readiness so the next [`Async::readable`] waits for the kernel.
    pub fn next_batch(&mut self) -> Option<T::Batch<'_>> {
        if let Some(batch) = self.inner.next_batch() {
            return Some(batch);
        }
        self.guard.clear_ready();
        None
    }

    /// The wrapped socket (statistics, ring occupancy).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner
    }
}

type Waiting<T> = Pin<Box<dyn Future<Output = (Box<Async<T>>, Result<OwnedPacket>)> + Send>>;

enum State<T: AsyncSource> {
    Idle(Box<Async<T>>),
    Waiting(Waiting<T>),
    Done,
}

/// Owned packets as a [`futures_core::Stream`], from
/// [`Async::into_stream`]. Each item is what [`Async::recv`] returns.
///
/// ```no_run
/// use futures_util::StreamExt;
/// # async fn f() -> netring::Result<()> {
/// let mut packets = netring::tokio::AsyncCapture::open("eth0")?.into_stream();
/// while let Some(pkt) = packets.next().await {
///     println!("{} bytes", pkt?.data().len());
/// }
/// # Ok(()) }
/// ```
pub struct PacketStream<T: AsyncSource> {
    state: State<T>,
}

impl<T: AsyncSource> std::fmt::Debug for PacketStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::Waiting(_) => "waiting",
            State::Done => "done",
        };
        f.debug_struct("PacketStream").field("state", &state).finish()
    }
}

impl<T: AsyncSource + Send + 'static> futures_core::Stream for PacketStream<T> {
    type Item = Result<OwnedPacket>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Idle(mut inner) => {
                    if let Some(p) = inner.queue.pop_front() {
                        this.state = State::Idle(inner);
                        return Poll::Ready(Some(Ok(p)));
                    }
                    this.state = State::Waiting(Box::pin(async move {
                        let got = inner.recv().await;
                        (inner, got)
                    }));
                }
                State::Waiting(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Waiting(fut);
                        return Poll::Pending;
                    }
                    Poll::Ready((inner, got)) => {
                        if matches!(got, Ok(_) | Err(Error::InterfaceDown { .. })) {
                            this.state = State::Idle(inner);
                        }
                        return Poll::Ready(Some(got));
                    }
                },
                State::Done => return Poll::Ready(None),
            }
        }
    }
}
