//! [`Bridge::run_async`]: the bridge's loop, waiting on tokio's reactor.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use ::tokio::io::Interest;
use ::tokio::time::Instant;

use super::tx::until_sent;
use super::{AsyncSink, reactor_error, register};
use crate::bridge::{Bridge, BridgeAction, BridgeDirection, BridgeStats};
use crate::error::Result;
use crate::packet::Packet;

/// How long the final drain of each port's TX ring may take.
const DRAIN: Duration = Duration::from_secs(1);

impl Bridge {
    /// [`run`](Bridge::run) on a tokio runtime: forward frames until
    /// `duration` passes (`None`: until stopped through
    /// [`stop_handle`](Bridge::stop_handle), or cancelled), asking `decide`
    /// about each one, and waiting on the reactor instead of blocking a
    /// thread. Frames are forwarded by the same code as `run`, zero-copy on
    /// the receive side.
    ///
    /// Cancel-safe: every frame taken from one port's receive ring is queued
    /// on the other port's TX ring and kicked before the next `.await`, so
    /// cancelling loses none (frames the kernel kept queued leave at the next
    /// kick). Only the final drain of the TX rings (up to a second each) is
    /// skipped when cancelled.
    ///
    /// # Errors
    /// As [`run`](Bridge::run); [`Error::Io`](crate::Error::Io) from the reactor.
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O and time enabled.
    pub async fn run_async<F>(&mut self, duration: Option<Duration>, mut decide: F) -> Result<BridgeStats>
    where
        F: FnMut(&Packet<'_>, BridgeDirection) -> BridgeAction,
    {
        let deadline = duration.map(|d| Instant::now() + d);
        let result = self.forward(deadline, &mut decide).await;
        for inj in self.injectors() {
            let registration = register(std::os::fd::AsFd::as_fd(inj), Interest::WRITABLE)?;
            let drained = until_sent(&registration, inj, |i| Ok(i.in_flight() == 0));
            let _ = ::tokio::time::timeout(DRAIN, drained).await;
        }
        result.map(|()| self.stats())
    }

    async fn forward<F>(&mut self, deadline: Option<Instant>, decide: &mut F) -> Result<()>
    where
        F: FnMut(&Packet<'_>, BridgeDirection) -> BridgeAction,
    {
        let interest = Interest::READABLE | Interest::ERROR;
        let (a, b) = self.capture_fds();
        let (a, b) = (register(a, interest)?, register(b, interest)?);
        let stop = register(self.stop_fd(), Interest::READABLE)?;
        loop {
            if self.is_stopped() {
                return Ok(());
            }
            if self.step(decide)? > 0 {
                // Busy: let other tasks run between blocks.
                ::tokio::task::yield_now().await;
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            let mut ready_a = pin!(a.ready(interest));
            let mut ready_b = pin!(b.ready(interest));
            let mut stopped = pin!(stop.readable());
            let mut timer = pin!(::tokio::time::sleep_until(deadline.unwrap_or_else(far_future)));
            // Wait for either port, the stop handle or the deadline. Clearing
            // a port's readiness before the next step drains it cannot lose a
            // wake-up: a block retired after the clear sets it again.
            let (a_err, b_err) = std::future::poll_fn(|cx| {
                let mut woke = false;
                let mut errs = (false, false);
                for (ready, err) in [(ready_a.as_mut().poll(cx), &mut errs.0), (ready_b.as_mut().poll(cx), &mut errs.1)]
                {
                    if let Poll::Ready(guard) = ready {
                        let mut guard = guard.map_err(reactor_error)?;
                        *err = guard.ready().is_error();
                        guard.clear_ready();
                        woke = true;
                    }
                }
                woke |= stopped.as_mut().poll(cx).is_ready() || timer.as_mut().poll(cx).is_ready();
                if woke { Poll::Ready(Ok::<_, crate::Error>(errs)) } else { Poll::Pending }
            })
            .await?;
            self.check_ports(a_err, b_err)?;
        }
    }
}

/// A deadline that never comes (about a century away).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 100)
}
