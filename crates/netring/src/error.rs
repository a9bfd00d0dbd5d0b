//! The one error type of the crate.

use std::io;

/// Everything that can go wrong in netring.
///
/// Each variant names what failed: the system call and its `io::Error`, the
/// capability that was missing, the interface that does not exist, or the
/// configuration value and the rule it breaks. Full or empty rings are not
/// errors; they show up as `Option`s and counts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed for a reason not covered by a more specific variant.
    #[error("{call} failed: {source}")]
    Io {
        /// The call that failed, e.g. `setsockopt(PACKET_RX_RING)`.
        call: &'static str,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },

    /// Opening, reading or writing a file failed (a capture file, its
    /// rotation): names the file. A permission error here is the file's
    /// mode or owner, never a missing capability.
    #[error("{op} {}: {}", path.display(), io_text(source))]
    File {
        /// What was done: `create`, `open`, `read`, `write`, `remove`.
        op: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },

    /// The kernel refused the call for lack of privilege.
    #[error(
        "{call}: permission denied: {capability} is required (run as root or grant it, e.g. `setcap cap_net_raw,cap_net_admin+ep`)"
    )]
    PermissionDenied {
        /// The call that failed.
        call: &'static str,
        /// The capability the call needs, e.g. `CAP_NET_RAW`.
        capability: &'static str,
        /// The error the kernel returned (`EPERM` or `EACCES`).
        #[source]
        source: io::Error,
    },

    /// No interface of this name exists in the network namespace of the caller.
    #[error("interface {name:?} not found in this network namespace")]
    InterfaceNotFound {
        /// The name that was looked up.
        name: String,
    },

    /// The interface went down while a socket was bound to it (`ENETDOWN`).
    #[error("interface {name:?} went down")]
    InterfaceDown {
        /// The interface name.
        name: String,
    },

    /// The interface was deleted while a socket was bound to it.
    #[error("interface {name:?} was deleted")]
    InterfaceGone {
        /// The interface name.
        name: String,
    },

    /// A configuration value breaks a rule; nothing was created.
    #[error("invalid {name} = {value}: {rule}")]
    InvalidConfig {
        /// The setting, e.g. `block_size`.
        name: &'static str,
        /// The value that was given.
        value: String,
        /// The rule it breaks, e.g. `must be a power of two`.
        rule: String,
    },

    /// A classic BPF program does not pass validation.
    #[error("invalid BPF program: {reason}")]
    InvalidFilter {
        /// What is wrong, naming the instruction index where there is one.
        reason: String,
    },

    /// A filter expression does not parse or means nothing.
    #[error("filter expression {expression:?}, column {column}: {message}")]
    InvalidExpression {
        /// The expression as given.
        expression: String,
        /// Column of the offending token (1-based, in characters).
        column: usize,
        /// What is wrong.
        message: String,
    },

    /// The running kernel lacks a feature.
    #[error("{feature} is not supported by this kernel ({detail})")]
    Unsupported {
        /// The feature, e.g. `PACKET_IGNORE_OUTGOING`.
        feature: &'static str,
        /// What is needed, e.g. the minimum kernel version.
        detail: String,
    },

    /// [`StopHandle::stop`](crate::StopHandle::stop) was called: the capture
    /// will not block any more.
    #[error("capture stopped")]
    Stopped,

    /// A frame is longer than the interface (or the TX ring slot) accepts;
    /// nothing was queued.
    #[error("frame of {len} bytes is too large for {interface}: at most {limit} bytes ({why})")]
    FrameTooLarge {
        /// The frame length asked for.
        len: usize,
        /// The largest frame accepted.
        limit: usize,
        /// The interface.
        interface: String,
        /// Where the limit comes from, e.g. `MTU 1500 + 14-byte link header`.
        why: String,
    },

    /// A capture file (pcap or pcapng) is truncated or corrupt at `offset`.
    /// Records before it were valid and have been delivered.
    #[error("{path}: {what} at byte offset {offset}")]
    CorruptFile {
        /// The file (or `<memory>`).
        path: String,
        /// Byte offset from the start of the file where the problem starts.
        offset: u64,
        /// What is wrong, e.g. `truncated record: header says 1514 bytes, 200 left`.
        what: String,
    },

    /// The kernel refused to load an eBPF program; `log` is the verifier's
    /// explanation (empty when the kernel gave none).
    #[error("bpf(BPF_PROG_LOAD) of {program} failed: {source}{}", if log.is_empty() { String::new() } else { format!("; verifier log:\n{log}") })]
    BpfLoad {
        /// Which program, e.g. `netring_xsk` (the built-in XDP redirect).
        program: String,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
        /// The verifier log (level 1).
        log: String,
    },

    /// Another XDP program is attached to the interface already.
    #[error(
        "interface {interface:?} already has an XDP program attached (id {prog_id}, {mode} mode): detach it first, or register the socket in that program's XSKMAP (XdpSocketBuilder::builtin_program(false))"
    )]
    XdpBusy {
        /// The interface.
        interface: String,
        /// ID of the program that owns it (`ip link show` / `bpftool prog show id N`).
        prog_id: u32,
        /// `native`, `generic`, `offload` or `several`.
        mode: &'static str,
    },

    /// Attaching an XDP program in the requested mode failed.
    #[error("attaching XDP to {interface:?} in {mode} mode failed: {source}{hint}")]
    XdpAttach {
        /// The interface.
        interface: String,
        /// `native` or `generic`.
        mode: &'static str,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
        /// What usually causes this error, starting with `; `, or empty.
        hint: String,
    },

    /// Registering an AF_XDP UMEM failed because the memory cannot be locked.
    #[error(
        "setsockopt(XDP_UMEM_REG) of {bytes} bytes failed: {source}: UMEM pages are pinned and charged to RLIMIT_MEMLOCK (soft limit {}) unless the process has CAP_IPC_LOCK; raise the limit (`ulimit -l`, systemd LimitMEMLOCK=) or grant CAP_IPC_LOCK",
        limit.map_or_else(|| "unlimited".to_string(), |l| format!("{l} bytes"))
    )]
    MemoryLock {
        /// Size of the UMEM.
        bytes: u64,
        /// The soft `RLIMIT_MEMLOCK` at the time, `None` if unlimited.
        limit: Option<u64>,
        /// The error the kernel returned (`ENOBUFS`, `ENOMEM` or `EPERM`).
        #[source]
        source: io::Error,
    },

    /// Another AF_XDP socket is bound to this queue already.
    #[error(
        "queue {queue} of {interface:?} already has an AF_XDP socket bound (EBUSY): one socket per queue unless they share a UMEM"
    )]
    QueueBusy {
        /// The interface.
        interface: String,
        /// The queue id.
        queue: u32,
    },

    /// AF_XDP receive would take traffic away from the host stack on an
    /// interface that is in use.
    #[error(
        "refusing AF_XDP on {interface:?}: {reason}. An AF_XDP socket takes every frame of its queue away from the kernel's network stack, so this host would stop seeing that traffic; pass --xdp-takeover if that is what you want"
    )]
    TakeoverRefused {
        /// The interface.
        interface: String,
        /// What makes it look in use (addresses, a default route).
        reason: String,
    },

    /// A thread netring runs for the caller (the capture thread of a
    /// `ChannelCapture`) ended abnormally.
    #[error("the capture thread ended: {reason}")]
    CaptureThread {
        /// What happened.
        reason: String,
    },
}

/// An `io::Error` as a clause: `permission denied (os error 13)`.
fn io_text(e: &io::Error) -> String {
    let s = e.to_string();
    let mut c = s.chars();
    match c.next() {
        Some(first) if c.clone().next().is_some_and(char::is_lowercase) => first.to_lowercase().chain(c).collect(),
        _ => s,
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    // `from_io`, the errno mapping, lives in `sys::errno`.

    /// An [`Error::InvalidConfig`].
    pub(crate) fn config(name: &'static str, value: impl std::fmt::Display, rule: impl Into<String>) -> Self {
        Self::InvalidConfig { name, value: value.to_string(), rule: rule.into() }
    }

    /// An [`Error::File`].
    pub(crate) fn file(op: &'static str, path: impl Into<std::path::PathBuf>, source: io::Error) -> Self {
        Self::File { op, path: path.into(), source }
    }

    /// The OS error number, if this error carries one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Io { source, .. } | Self::PermissionDenied { source, .. } | Self::File { source, .. } => {
                source.raw_os_error()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_value_and_rule() {
        let e = Error::config("block_size", 3000, "must be a power of two");
        assert_eq!(e.to_string(), "invalid block_size = 3000: must be a power of two");
    }
}
