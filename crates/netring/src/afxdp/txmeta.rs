//! AF_XDP TX metadata (the kernel's `Documentation/networking/xsk-tx-metadata.rst`):
//! what this kernel accepts, found by trying.
//!
//! A UMEM registered with `tx_metadata_len` keeps a `struct
//! xsk_tx_metadata` before each TX descriptor's address, through which a
//! frame asks for checksum offload, a transmit timestamp written back on
//! completion, and (Linux 6.15) a launch time. In copy mode the kernel
//! serves the checksum and a software timestamp itself; in zero-copy mode
//! the driver must implement them (`ethtool`/netlink `xsk-features`).

use std::collections::HashMap;
use std::os::fd::AsFd;

use super::umem::Umem;
use crate::error::{Error, Result};
use crate::packet::Timestamp;
use crate::sys::xdp as sx;

/// One request a TX slot can make through its metadata.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TxRequest {
    /// Checksum from `start`, stored at `start + offset`.
    Checksum { start: u16, offset: u16 },
    /// The transmit time, reported with `token`.
    Timestamp { token: u64 },
    /// Send at this `CLOCK_TAI` time (in copy mode, the skb's
    /// `skb_mstamp_ns`, which an `fq` or `etf` qdisc honours).
    LaunchTime { tai_ns: u64 },
}

/// The transmit side's TX metadata state: the area's length (0: off),
/// the frames that asked for a timestamp, and the timestamps collected.
#[derive(Debug, Default)]
pub(crate) struct TxMeta {
    /// `tx_metadata_len` the UMEM was registered with (0: no TX metadata).
    pub(crate) len: u32,
    /// The kernel knows launch times (Linux 6.15).
    pub(crate) launch_time: bool,
    /// Frames (by descriptor address) waiting for a timestamp: their tokens.
    pending: HashMap<u64, u64>,
    /// Collected (token, transmit time), oldest first.
    pub(crate) stamps: Vec<(u64, Timestamp)>,
}

impl TxMeta {
    /// The state of a socket whose UMEM reserves the area.
    pub(crate) fn registered() -> Self {
        Self { len: sx::XSK_TX_METADATA_LEN, launch_time: kernel_knows_launch_time(), ..Self::default() }
    }

    /// Write `req` into the metadata area before the slot at `addr`
    /// (`options` gets `XDP_TX_METADATA`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] where this socket cannot do it.
    pub(crate) fn request(
        &mut self,
        umem: &mut Umem,
        addr: u64,
        len: u32,
        options: &mut u32,
        zero_copy: bool,
        req: TxRequest,
    ) -> Result<()> {
        let unsupported =
            |detail: &str| Err(Error::Unsupported { feature: "AF_XDP TX metadata", detail: detail.into() });
        if self.len == 0 {
            return unsupported(
                "the socket was built without XdpSocketBuilder::tx_metadata(true) (which needs Linux 6.8)",
            );
        }
        if zero_copy {
            return unsupported(
                "in zero-copy mode the driver must implement it (netdev xsk-features), which netring does not probe; \
                 bind in copy mode, where the kernel serves checksum, timestamp and launch time itself",
            );
        }
        let (flag, at, value): (u64, usize, u64) = match req {
            TxRequest::Checksum { start, offset } => {
                if u32::from(start) + u32::from(offset) + 2 > len {
                    return Err(Error::config(
                        "checksum offload",
                        format!("start {start} + offset {offset}"),
                        format!("the 2-byte checksum must lie inside the {len}-byte frame"),
                    ));
                }
                (sx::XDP_TXMD_FLAGS_CHECKSUM, 8, u64::from(start) | u64::from(offset) << 16)
            }
            TxRequest::Timestamp { token } => {
                self.pending.insert(addr, token);
                (sx::XDP_TXMD_FLAGS_TIMESTAMP, 0, 0)
            }
            TxRequest::LaunchTime { tai_ns } => {
                if !self.launch_time {
                    return unsupported("a launch time needs Linux 6.15 (XDP_TXMD_FLAGS_LAUNCH_TIME)");
                }
                (sx::XDP_TXMD_FLAGS_LAUNCH_TIME, 16, tai_ns)
            }
        };
        // struct xsk_tx_metadata: flags (u64), then csum_start (u16) and
        // csum_offset (u16) at 8, launch_time (u64) at 16; on completion
        // tx_timestamp (u64) at 8.
        let area = umem.slot_bytes_mut(addr - u64::from(self.len), sx::XSK_TX_METADATA_LEN);
        if *options & sx::XDP_TX_METADATA == 0 {
            area.fill(0);
        }
        let flags = u64::from_ne_bytes(area[..8].try_into().expect("8 bytes")) | flag;
        area[..8].copy_from_slice(&flags.to_ne_bytes());
        match req {
            TxRequest::Checksum { start, offset } => {
                area[8..10].copy_from_slice(&start.to_ne_bytes());
                area[10..12].copy_from_slice(&offset.to_ne_bytes());
            }
            TxRequest::LaunchTime { .. } => area[at..at + 8].copy_from_slice(&value.to_ne_bytes()),
            TxRequest::Timestamp { .. } => {}
        }
        *options |= sx::XDP_TX_METADATA;
        Ok(())
    }

    /// The slot at `addr` was dropped unsent: forget its request.
    pub(crate) fn cancelled(&mut self, addr: u64) {
        if !self.pending.is_empty() {
            self.pending.remove(&addr);
        }
    }

    /// The kernel completed the frame at `addr` (before it is accepted):
    /// collect its timestamp if it asked for one. The kernel writes
    /// `CLOCK_TAI` in copy mode; it becomes wall-clock time here.
    pub(crate) fn completed(&mut self, umem: &Umem, addr: u64) {
        if self.pending.is_empty() {
            return;
        }
        let Some(token) = self.pending.remove(&addr) else { return };
        let Some(start) = addr.checked_sub(u64::from(self.len)) else { return };
        if let Some(b) = umem.completed_bytes(start + 8, 8) {
            let tai = u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            let wall = super::meta::tai_to_wall(tai, sx::tai_offset_ns());
            self.stamps.push((token, Timestamp::from_nanos(wall)));
        }
    }
}

/// Register `umem` with `sock` reserving TX metadata (with
/// `XDP_UMEM_TX_METADATA_LEN`, then without, as the kernel documentation
/// advises).
///
/// # Errors
/// [`Error::Unsupported`] naming Linux 6.8 when the kernel refuses.
pub(crate) fn register(umem: &Umem, sock: std::os::fd::BorrowedFd<'_>) -> Result<TxMeta> {
    let mut last = None;
    for flags in [sx::XDP_UMEM_TX_METADATA_LEN, 0] {
        match umem.register_tx_metadata(sock, sx::XSK_TX_METADATA_LEN, flags) {
            Ok(()) => return Ok(TxMeta::registered()),
            Err(e @ (Error::PermissionDenied { .. } | Error::MemoryLock { .. })) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Unsupported {
        feature: "AF_XDP TX metadata",
        detail: format!(
            "XDP_UMEM_REG with tx_metadata_len refused ({}): needs Linux 6.8",
            last.map(|e| e.to_string()).unwrap_or_default()
        ),
    })
}

/// What AF_XDP TX metadata this kernel accepts ([`probe_tx_metadata`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct XdpTxMetadataSupport {
    /// A UMEM with `tx_metadata_len` registers (Linux 6.8): checksum
    /// offload and TX timestamps can be asked per frame.
    pub metadata: bool,
    /// The kernel knows the launch-time request (`XDP_TXMD_FLAGS_LAUNCH_TIME`,
    /// Linux 6.15; found in its BTF).
    pub launch_time: bool,
    /// Why `metadata` is false, if it is.
    pub refused: Option<String>,
}

/// Whether this kernel accepts AF_XDP TX metadata: a throwaway AF_XDP
/// socket registers a 4-frame UMEM with `tx_metadata_len` (with
/// `XDP_UMEM_TX_METADATA_LEN`, then without it, as the kernel documentation
/// advises). Binds nothing, touches no interface.
///
/// Needs `CAP_NET_RAW`.
///
/// # Errors
/// [`Error::PermissionDenied`] without `CAP_NET_RAW`; [`Error::MemoryLock`]
/// when 8 KiB cannot be locked.
pub fn probe_tx_metadata() -> Result<XdpTxMetadataSupport> {
    let umem = Umem::new(2048, 4, false)?;
    let mut refused = None;
    for flags in [sx::XDP_UMEM_TX_METADATA_LEN, 0] {
        // A UMEM registers once per socket: a fresh socket per attempt.
        let sock = sx::socket()?;
        match umem.register_tx_metadata(sock.as_fd(), sx::XSK_TX_METADATA_LEN, flags) {
            Ok(()) => {
                refused = None;
                break;
            }
            Err(e @ (Error::PermissionDenied { .. } | Error::MemoryLock { .. })) => return Err(e),
            Err(e) => refused = Some(format!("XDP_UMEM_REG with tx_metadata_len refused ({e}): needs Linux 6.8")),
        }
    }
    let launch_time = kernel_knows_launch_time();
    Ok(XdpTxMetadataSupport { metadata: refused.is_none(), launch_time: launch_time && refused.is_none(), refused })
}

/// The kernel's BTF names the launch-time TX offload (Linux 6.15).
fn kernel_knows_launch_time() -> bool {
    // Under Miri, reading the kernel's BTF would take hours (see
    // `RxKfuncs::running_kernel`).
    if cfg!(miri) {
        return false;
    }
    static KNOWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KNOWN.get_or_init(|| {
        crate::bpf::btf::Btf::vmlinux()
            .ok()
            .and_then(|b| b.enum_value("NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO"))
            .is_some()
    })
}
