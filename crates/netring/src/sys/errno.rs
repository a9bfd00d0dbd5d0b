//! Error numbers, and the one mapping from an `io::Error` to the crate's
//! [`Error`]: what the backends compare against lives here, so no code
//! above `sys/` names `libc::E*`.

use std::io;

use crate::error::Error;

/// `EPERM`
pub const EPERM: i32 = libc::EPERM;
/// `EACCES`
pub const EACCES: i32 = libc::EACCES;
/// `ENOENT`
pub const ENOENT: i32 = libc::ENOENT;
/// `ENOMEM`
pub const ENOMEM: i32 = libc::ENOMEM;
/// `EINVAL`
pub const EINVAL: i32 = libc::EINVAL;
/// `EMSGSIZE`
pub const EMSGSIZE: i32 = libc::EMSGSIZE;
/// `ENODEV`
pub const ENODEV: i32 = libc::ENODEV;
/// `ENXIO`
pub const ENXIO: i32 = libc::ENXIO;
/// `ENETDOWN`
pub const ENETDOWN: i32 = libc::ENETDOWN;
/// `ENOPROTOOPT`
pub const ENOPROTOOPT: i32 = libc::ENOPROTOOPT;
/// `EOPNOTSUPP`
pub const EOPNOTSUPP: i32 = libc::EOPNOTSUPP;
/// `EAGAIN`
pub const EAGAIN: i32 = libc::EAGAIN;
/// `ENOBUFS`
pub const ENOBUFS: i32 = libc::ENOBUFS;
/// `ETIMEDOUT`
pub const ETIMEDOUT: i32 = libc::ETIMEDOUT;
/// `ENOTSOCK` (what a send on the fake kernel's eventfd gives)
#[cfg(test)]
pub const ENOTSOCK: i32 = libc::ENOTSOCK;
/// `EINTR`
pub const EINTR: i32 = libc::EINTR;

impl Error {
    /// Classify an `io::Error` from `call`: permission errors become
    /// [`Error::PermissionDenied`] naming the capability the call needs.
    pub(crate) fn from_io(call: &'static str, source: io::Error) -> Self {
        match source.raw_os_error() {
            Some(EPERM | EACCES) => Self::PermissionDenied { call, capability: capability_for(call), source },
            _ => Self::Io { call, source },
        }
    }
}

/// Which capability a failing call needs.
fn capability_for(call: &str) -> &'static str {
    if call.starts_with("bpf(") {
        "CAP_BPF (with CAP_NET_ADMIN to attach)"
    } else if call.starts_with("setns") || call.starts_with("unshare") || call.starts_with("mount") {
        // setns(2), unshare(2) and mount(2) of a namespace check CAP_SYS_ADMIN.
        "CAP_SYS_ADMIN"
    } else if call.contains("PACKET_ADD_MEMBERSHIP")
        || call.starts_with("netlink")
        || call.contains("SIOCSIF")
        || call.contains("BUSY_POLL")
    {
        "CAP_NET_ADMIN"
    } else if call.starts_with("setres") || call.starts_with("setgroups") {
        "CAP_SETUID and CAP_SETGID"
    } else if call.contains("SIOCSHWTSTAMP") {
        "CAP_NET_ADMIN"
    } else if call.contains("IPC_LOCK") || call.contains("XDP_UMEM_REG") {
        "CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK"
    } else {
        "CAP_NET_RAW"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_capability() {
        let e = Error::from_io("socket(AF_PACKET)", io::Error::from_raw_os_error(EPERM));
        assert!(matches!(e, Error::PermissionDenied { capability: "CAP_NET_RAW", .. }));
        assert!(e.to_string().contains("CAP_NET_RAW"), "{e}");
        let e = Error::from_io("bpf(BPF_PROG_LOAD)", io::Error::from_raw_os_error(EPERM));
        assert!(e.to_string().contains("CAP_BPF"), "{e}");
        for call in ["setns(CLONE_NEWNET)", "unshare(CLONE_NEWNET)", "mount(MS_BIND)"] {
            let e = Error::from_io(call, io::Error::from_raw_os_error(EPERM));
            assert!(matches!(e, Error::PermissionDenied { capability: "CAP_SYS_ADMIN", .. }), "{call}: {e}");
        }
    }

    #[test]
    fn other_errors_keep_the_call_and_errno() {
        let e = Error::from_io("bind(AF_PACKET)", io::Error::from_raw_os_error(ENODEV));
        assert_eq!(e.raw_os_error(), Some(ENODEV));
        assert!(e.to_string().starts_with("bind(AF_PACKET) failed"), "{e}");
    }
}
