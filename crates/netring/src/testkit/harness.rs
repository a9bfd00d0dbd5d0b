//! Waiting for frames, pinned threads and tools on `PATH`: the pieces every
//! privileged test repeats.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::{Batch, OwnedPacket, PacketSource};

/// Receive from `src` (any backend) until `want` packets whose bytes pass
/// `keep` have arrived or `limit` has passed; those packets, copied out, in
/// arrival order (fewer than `want` if time ran out).
///
/// # Errors
/// A receive failed.
pub fn collect<S: PacketSource>(
    src: &mut S,
    want: usize,
    limit: Duration,
    keep: impl Fn(&[u8]) -> bool,
) -> Result<Vec<OwnedPacket>> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    while out.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Some(batch) = src.next_batch_blocking(Some(left))? {
            out.extend(batch.packets().filter(|p| keep(p.data())).map(|p| p.to_owned()));
        }
    }
    Ok(out)
}

/// Run `f` on a new thread pinned to CPU `cpu` and return its result.
///
/// # Panics
/// If the thread cannot be pinned (see
/// [`pin_current_thread`](crate::cpu::pin_current_thread)), or `f` panics.
pub fn on_cpu<T: Send>(cpu: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            crate::cpu::pin_current_thread(cpu).unwrap_or_else(|e| panic!("pin to CPU {cpu}: {e}"));
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Whether `tool` is an executable name found in a directory of `PATH`.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// For tests that drive an outside tool: panic naming it unless it is on
/// `PATH`.
///
/// # Panics
/// If `tool` is not on `PATH`.
pub fn require_tool(tool: &str) {
    assert!(on_path(tool), "this test needs `{tool}` on PATH; `.ci/run` installs it (apt-get install …)");
}
