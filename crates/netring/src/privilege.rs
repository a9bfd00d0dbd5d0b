//! Dropping privileges once the sockets are open, as tcpdump's `-Z`.
//!
//! An AF_PACKET or AF_XDP socket keeps working after the process gives up
//! the capabilities it needed to open it: `CAP_NET_RAW` is checked at
//! `socket(2)`, not per packet. So a recorder can open its sockets as root
//! (or with file capabilities, `setcap cap_net_raw,cap_net_admin+ep
//! netring`), then switch to an unprivileged user with no capabilities
//! before it touches any packet or file.
//!
//! ```no_run
//! let mut cap = netring::Capture::open("eth0")?;
//! let user = netring::privilege::drop_to("nobody")?;
//! assert_eq!(netring::privilege::effective_capabilities(), Some(0));
//! // `cap` still captures; files are created as `user`.
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! Call it before starting other threads: the user switch applies to every
//! thread of the process (glibc's `setresuid` does it for all), but clearing
//! capabilities with `capset` applies only to the calling thread, and a
//! process that keeps its uid (file capabilities) only loses them there.

use crate::error::{Error, Result};
use crate::sys::cred;

pub use crate::sys::cred::User;

/// Switch to `user` (a name from the passwd database, or a numeric uid):
/// supplementary groups dropped (only the user's primary group kept), gid
/// then uid set (real, effective and saved), every capability cleared
/// (effective, permitted, inheritable, ambient). Then checks
/// `/proc/thread-self/status` and fails unless no capability is left.
///
/// Needs `CAP_SETUID` and `CAP_SETGID` (root has them).
///
/// # Errors
/// [`Error::InvalidConfig`] for an unknown user; [`Error::PermissionDenied`]
/// naming `CAP_SETUID and CAP_SETGID`; [`Error::Io`] if capabilities
/// remain afterwards.
pub fn drop_to(user: &str) -> Result<User> {
    let u = cred::lookup_user(user)?;
    cred::switch_user(&u)?;
    verify_dropped()?;
    tracing::debug!(user = %u.name, uid = u.uid, gid = u.gid, "privileges dropped");
    Ok(u)
}

/// Clear every capability of the calling thread without changing user
/// (for a process that runs with file capabilities and has nobody to
/// switch to). Needs nothing.
///
/// # Errors
/// `capset` failed or capabilities remain afterwards.
pub fn drop_capabilities() -> Result<()> {
    cred::clear_capabilities()?;
    verify_dropped()
}

fn verify_dropped() -> Result<()> {
    match effective_capabilities() {
        Some(0) | None => Ok(()),
        Some(mask) => Err(Error::from_io(
            "capset",
            std::io::Error::other(format!("capabilities remain after dropping them: CapEff {mask:#x}")),
        )),
    }
}

/// The calling thread's effective capability mask (`CapEff` in
/// `/proc/thread-self/status`), if it can be read.
pub fn effective_capabilities() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}
