//! CPU-time accounting for benchmarks: how much CPU a thread or a process
//! tree used.
//!
//! ```no_run
//! let t0 = netring::testkit::thread_cpu_time();
//! // … receive …
//! println!("{:?} of CPU", netring::testkit::thread_cpu_time() - t0);
//! ```

use std::time::Duration;

use crate::sys::sched;

/// The calling thread's id, as `/proc/self/task/TID` names it.
pub fn current_thread_id() -> u32 {
    sched::gettid()
}

/// CPU time (user + system) the calling thread has used so far
/// (`CLOCK_THREAD_CPUTIME_ID`, nanosecond resolution).
pub fn thread_cpu_time() -> Duration {
    sched::thread_cpu_time()
}

/// CPU time used so far by process `pid` (all its threads) and every live
/// descendant of it. Read from the scheduler's own nanosecond counter
/// (`/proc/PID/task/TID/schedstat`, field 1: time on a CPU), falling back
/// to `utime + stime` of `/proc/PID/stat` (clock-tick resolution) where
/// schedstat is compiled out. `None` if `pid` does not exist.
pub fn process_tree_cpu_time(pid: u32) -> Option<Duration> {
    let tree = process_tree(pid);
    if tree.is_empty() {
        return None;
    }
    Some(tree.iter().map(|&p| process_cpu_time(p)).sum())
}

/// Process `pid` and its live descendants (through
/// `/proc/PID/task/*/children`), `pid` first; empty if `pid` does not exist.
pub fn process_tree(pid: u32) -> Vec<u32> {
    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Vec::new();
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < 4096 {
        let more = children(out[i]);
        out.extend(more);
        i += 1;
    }
    out
}

/// CPU time used so far by thread `tid` of this process
/// (`/proc/self/task/TID/schedstat`, nanoseconds; `stat` as a fallback),
/// so one thread can watch another's. `None` if no such thread exists.
pub fn thread_cpu_time_of(tid: u32) -> Option<Duration> {
    task_cpu_time(&format!("/proc/self/task/{tid}"))
}

/// One task's CPU time from its `/proc` directory.
fn task_cpu_time(dir: &str) -> Option<Duration> {
    if let Some(ns) = std::fs::read_to_string(format!("{dir}/schedstat"))
        .ok()
        .and_then(|s| s.split_ascii_whitespace().next()?.parse::<u64>().ok())
    {
        return Some(Duration::from_nanos(ns));
    }
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    Some(ticks_to_duration(parse_stat_ticks(&stat)?))
}

/// Every thread of process `pid`, summed.
fn process_cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    tasks.flatten().filter_map(|t| task_cpu_time(&t.path().to_string_lossy())).sum()
}

fn ticks_to_duration(ticks: u64) -> Duration {
    let hz = sched::clock_ticks_per_second().max(1);
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000 / hz))
}

/// Fields 14 and 15 of `/proc/PID/stat` (`utime`, `stime`, in clock
/// ticks); the command name (field 2) may hold spaces and parentheses, so
/// fields are counted after its last `)`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Child processes of every thread of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| s.split_ascii_whitespace().filter_map(|c| c.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_awkward_name() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0 99 1000 50";
        assert_eq!(parse_stat_ticks(line), Some(22));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc")]
    fn this_process_uses_cpu() {
        let t0 = thread_cpu_time();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(thread_cpu_time() > t0, "{x}");
        assert!(process_tree_cpu_time(std::process::id()).is_some_and(|t| t > Duration::ZERO));
        assert_eq!(process_tree(std::process::id())[0], std::process::id());
        assert!(process_tree_cpu_time(u32::MAX).is_none());
        assert!(thread_cpu_time_of(current_thread_id()).is_some());
        assert!(thread_cpu_time_of(u32::MAX).is_none());
    }
}
