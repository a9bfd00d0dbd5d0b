//! AF_XDP TX metadata (the kernel's `Documentation/networking/xsk-tx-metadata.rst`):
//! what this kernel accepts, found by trying.
//!
//! A UMEM registered with `tx_metadata_len` keeps a `struct
//! xsk_tx_metadata` before each TX descriptor's address, through which a
//! frame asks for checksum offload, a transmit timestamp written back on
//! completion, and (Linux 6.15) a launch time. In copy mode the kernel
//! serves the checksum and a software timestamp itself; in zero-copy mode
//! the driver must implement them (`ethtool`/netlink `xsk-features`).

use std::os::fd::AsFd;

use super::umem::Umem;
use crate::error::{Error, Result};
use crate::sys::xdp as sx;

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
    let launch_time = crate::bpf::btf::Btf::vmlinux()
        .ok()
        .and_then(|b| b.enum_value("NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO"))
        .is_some();
    Ok(XdpTxMetadataSupport { metadata: refused.is_none(), launch_time: launch_time && refused.is_none(), refused })
}
