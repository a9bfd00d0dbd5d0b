//! CPU placement for pinned capture threads: pin a thread (or another
//! task, such as a kernel NAPI thread) to one CPU.
//!
//! ```no_run
//! netring::cpu::pin_current_thread(1)?; // this thread runs on CPU 1 only
//! // … receive …
//! # Ok::<(), netring::Error>(())
//! ```

use crate::error::Result;
use crate::sys::sched;

/// Restrict the calling thread to CPU `cpu` (`sched_setaffinity(2)`).
/// Needs no privilege.
///
/// # Errors
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when `cpu` is not
/// online or not in the process's allowed set (cgroup cpuset).
pub fn pin_current_thread(cpu: usize) -> Result<()> {
    sched::set_affinity(0, cpu)
}

/// Restrict task `tid` (a thread or process id, e.g. a kernel
/// `napi/DEV-ID` thread) to CPU `cpu`. Needs `CAP_SYS_NICE` for tasks of
/// other users.
///
/// # Errors
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a CPU that is
/// not online or a task that does not exist; [`Error::Io`](crate::Error::Io)
/// otherwise (e.g. `EPERM`).
pub fn pin_task(tid: u32, cpu: usize) -> Result<()> {
    sched::set_affinity(tid, cpu)
}
