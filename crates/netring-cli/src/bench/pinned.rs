//! [`Pinned`]: a thread of netring's pinned to one CPU, for the bench's
//! senders and receivers.

use std::time::Duration;

/// A thread of netring's (sender or receiver) pinned to one CPU, running
/// until told to stop.
pub struct Pinned<T> {
    what: &'static str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tid: u32,
    thread: std::thread::JoinHandle<Result<T, String>>,
}

impl<T: Send + 'static> Pinned<T> {
    /// Run `body` on a new thread pinned to `cpu`; `body` gets the stop
    /// flag. Returns once the thread runs (or with its error, if it ended
    /// first).
    pub fn spawn(
        what: &'static str,
        cpu: usize,
        body: impl FnOnce(&std::sync::atomic::AtomicBool) -> Result<T, String> + Send + 'static,
    ) -> Result<Self, String> {
        use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let tid = std::sync::Arc::new(AtomicU32::new(0));
        let (s, t) = (stop.clone(), tid.clone());
        let thread = std::thread::spawn(move || {
            netring::cpu::pin_current_thread(cpu).map_err(|e| e.to_string())?;
            t.store(netring::testkit::current_thread_id(), Ordering::Release);
            body(&s)
        });
        while tid.load(Ordering::Acquire) == 0 {
            if thread.is_finished() {
                return Err(thread.join().map_err(|_| format!("{what} panicked"))?.err().unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(Self { what, stop, tid: tid.load(Ordering::Acquire), thread })
    }

    /// The thread's id (for its CPU time).
    pub fn tid(&self) -> u32 {
        self.tid
    }

    /// Tell the thread to stop and return what it returned.
    pub fn finish(self) -> Result<T, String> {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.thread.join().map_err(|_| format!("{} panicked", self.what))?
    }
}
