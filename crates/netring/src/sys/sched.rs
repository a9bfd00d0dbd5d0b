//! CPU affinity and CPU-time clocks: `sched_setaffinity(2)`,
//! `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, `sysconf(_SC_CLK_TCK)`.

use std::mem::size_of;
#[cfg(any(test, feature = "testkit"))]
use std::time::Duration;

use super::cvt;
use crate::error::{Error, Result};

/// Restrict task `tid` (0: the calling thread) to the single CPU `cpu`.
pub fn set_affinity(tid: u32, cpu: usize) -> Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(Error::config("cpu", cpu, format!("must be below {}", libc::CPU_SETSIZE)));
    }
    // SAFETY: cpu_set_t is a plain bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu < CPU_SETSIZE` (checked above), so the bit lies inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel only reads it.
    cvt(unsafe { libc::sched_setaffinity(tid as libc::pid_t, size_of::<libc::cpu_set_t>(), &set) }).map(drop).map_err(
        |e| match e.raw_os_error() {
            Some(libc::EINVAL) => Error::config("cpu", cpu, "is not online or not allowed for this task"),
            Some(libc::ESRCH) => Error::config("task", tid, "does not exist"),
            _ => Error::from_io("sched_setaffinity", e),
        },
    )
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(any(test, feature = "testkit"))]
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let ret = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if ret != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Clock ticks per second of the times in `/proc/PID/stat` (`USER_HZ`).
#[cfg(any(test, feature = "testkit"))]
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 { v as u64 } else { 100 }
}

/// The calling thread's id (`gettid(2)`).
#[cfg(any(test, feature = "testkit"))]
pub fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() as u32 }
}
