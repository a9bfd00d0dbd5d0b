//! [`StopHandle`]: wake and end a blocked receive loop from another thread,
//! for every backend (AF_PACKET, AF_XDP, the bridge, the tokio and channel
//! adapters).

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Result;
use crate::sys::EventFd;

#[derive(Debug)]
struct StopShared {
    stopped: AtomicBool,
    event: EventFd,
}

/// Wakes and ends a thread blocked in
/// [`Capture::next_batch_blocking`](crate::Capture::next_batch_blocking) from any thread (a signal handler
/// thread, for instance). Cheap to clone.
#[derive(Debug, Clone)]
pub struct StopHandle {
    shared: Arc<StopShared>,
}

impl StopHandle {
    /// Stop the capture: a blocked `next_batch_blocking` returns
    /// [`Error::Stopped`](crate::Error::Stopped) at once, and so does every later call. Batches
    /// already retired can still be drained with [`Capture::next_batch`](crate::Capture::next_batch).
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.event.signal();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
    }

    /// A fresh handle, not stopped (for other backends' blocking waits).
    pub(crate) fn new() -> Result<Self> {
        Ok(Self { shared: Arc::new(StopShared { stopped: AtomicBool::new(false), event: EventFd::new()? }) })
    }

    /// The descriptor that becomes readable on [`stop`](Self::stop), for `poll`.
    pub(crate) fn event_fd(&self) -> BorrowedFd<'_> {
        self.shared.event.as_fd()
    }
}
