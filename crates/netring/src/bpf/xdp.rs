//! XSKMAP and XDP attachment through BPF links.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::EbpfProgram;
use crate::error::{Error, Result};
use crate::sys::bpf as sys;

/// `XDP_PASS`: the verdict that hands a frame on to the kernel's stack.
pub const XDP_PASS: i32 = 2;

/// A `BPF_MAP_TYPE_XSKMAP`: queue index → AF_XDP socket, the map
/// `bpf_redirect_map` consults.
///
/// Needs `CAP_BPF`. Linux 4.18.
#[derive(Debug)]
pub struct XskMap {
    fd: OwnedFd,
    entries: u32,
}

impl XskMap {
    /// A map with room for queues `0..entries`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero entries; [`Error::PermissionDenied`]
    /// without `CAP_BPF`; [`Error::Io`] if `BPF_MAP_CREATE` fails.
    pub fn new(entries: u32) -> Result<Self> {
        if entries == 0 {
            return Err(Error::config("xskmap entries", 0, "must be at least 1"));
        }
        let attr = sys::MapCreateAttr {
            map_type: sys::BPF_MAP_TYPE_XSKMAP,
            key_size: 4,
            value_size: 4,
            max_entries: entries,
            map_name: sys::object_name("netring_xsks"),
            ..Default::default()
        };
        let fd = sys::map_create(&attr).map_err(|e| Error::from_io("bpf(BPF_MAP_CREATE XSKMAP)", e))?;
        Ok(Self { fd, entries })
    }

    /// Point queue `queue` at the AF_XDP socket `socket` (any bound AF_XDP
    /// socket: an [`XdpSocket`](crate::XdpSocket), or one of another library).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a queue outside the map; [`Error::Io`]
    /// if the kernel refuses (e.g. the socket is not bound).
    pub fn insert(&self, queue: u32, socket: BorrowedFd<'_>) -> Result<()> {
        self.check(queue)?;
        let value = socket.as_raw_fd() as u32;
        sys::map_update(self.fd.as_fd(), &queue.to_ne_bytes(), &value.to_ne_bytes(), sys::BPF_ANY)
            .map_err(|e| Error::from_io("bpf(BPF_MAP_UPDATE_ELEM XSKMAP)", e))
    }

    /// Remove the socket of queue `queue`; frames of that queue then take the
    /// program's fallback action.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); removing an empty entry is not an error.
    pub fn remove(&self, queue: u32) -> Result<()> {
        self.check(queue)?;
        sys::map_delete_if_present(self.fd.as_fd(), &queue.to_ne_bytes())
            .map_err(|e| Error::from_io("bpf(BPF_MAP_DELETE_ELEM XSKMAP)", e))
    }

    /// Number of entries.
    pub fn entries(&self) -> u32 {
        self.entries
    }

    pub(crate) fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn check(&self, queue: u32) -> Result<()> {
        if queue >= self.entries {
            return Err(Error::config("queue", queue, format!("must be below the map's {} entries", self.entries)));
        }
        Ok(())
    }
}

impl AsFd for XskMap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Where XDP runs, as requested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum XdpAttach {
    /// Native if the driver takes it, generic otherwise (the reason native
    /// failed is logged at `info`).
    #[default]
    Auto,
    /// Native (driver) mode only (`XDP_FLAGS_DRV_MODE`).
    Native,
    /// Generic (skb) mode only (`XDP_FLAGS_SKB_MODE`): works on every
    /// device, after the kernel has built the skb.
    Generic,
}

/// Where an attached XDP program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpAttachMode {
    /// In the driver, before an skb exists.
    Native,
    /// In the stack, on the skb (`netif_receive_skb`).
    Generic,
}

impl XdpAttachMode {
    /// `native` or `generic`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Generic => "generic",
        }
    }

    fn flags(self) -> u32 {
        match self {
            Self::Native => sys::XDP_FLAGS_DRV_MODE,
            Self::Generic => sys::XDP_FLAGS_SKB_MODE,
        }
    }
}

impl std::fmt::Display for XdpAttachMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An XDP program attached to an interface as a BPF link
/// (`BPF_LINK_CREATE`, attach type `BPF_XDP`).
///
/// The attachment belongs to the link, not to the process: it goes away
/// when the link's last holder closes it — dropping this value, or the
/// process ending in any way — so no program is ever left behind.
///
/// Needs `CAP_NET_ADMIN` and `CAP_BPF`. Linux 5.9.
#[derive(Debug)]
pub struct XdpLink {
    fd: OwnedFd,
    mode: XdpAttachMode,
    ifindex: u32,
}

/// Names of `IFLA_XDP_ATTACHED` values.
pub(crate) fn attached_mode_name(v: u8) -> &'static str {
    match v {
        1 => "native",
        2 => "generic",
        3 => "offload",
        4 => "several",
        _ => "unknown",
    }
}

impl XdpLink {
    /// Attach `prog` (an XDP program) to `interface`.
    ///
    /// # Errors
    /// [`Error::XdpBusy`] when the interface has an XDP program already;
    /// [`Error::XdpAttach`] naming the mode and a likely cause when the
    /// kernel refuses (with [`XdpAttach::Auto`], only when generic mode fails
    /// too); [`Error::InterfaceNotFound`]; [`Error::PermissionDenied`].
    pub fn attach(prog: &EbpfProgram, interface: &str, how: XdpAttach) -> Result<Self> {
        let ifindex = crate::interface::index(interface)?;
        let try_mode = |mode: XdpAttachMode| -> Result<Self> {
            match sys::link_create(prog.as_fd(), ifindex, sys::BPF_XDP, mode.flags()) {
                Ok(fd) => Ok(Self { fd, mode, ifindex }),
                Err(e) => Err(attach_error(interface, mode, e)),
            }
        };
        match how {
            XdpAttach::Native => try_mode(XdpAttachMode::Native),
            XdpAttach::Generic => try_mode(XdpAttachMode::Generic),
            XdpAttach::Auto => match try_mode(XdpAttachMode::Native) {
                Err(e @ (Error::XdpBusy { .. } | Error::PermissionDenied { .. })) => Err(e),
                Err(e) => {
                    tracing::info!(interface, "native XDP not available ({e}); using generic XDP");
                    try_mode(XdpAttachMode::Generic)
                }
                ok => ok,
            },
        }
    }

    /// Where the program runs.
    pub fn mode(&self) -> XdpAttachMode {
        self.mode
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

impl AsFd for XdpLink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Which XDP attach modes `interface` accepts, found by trying: a program
/// that only returns `XDP_PASS` is attached in each mode and detached at
/// once (traffic passes untouched meanwhile; note that on some NIC drivers
/// attaching native XDP restarts the device's queues, a brief interruption).
///
/// # Errors
/// [`Error::XdpBusy`] if a program is attached already (nothing is
/// probed then); [`Error::PermissionDenied`] without `CAP_BPF` /
/// `CAP_NET_ADMIN`; [`Error::InterfaceNotFound`].
pub fn probe_modes(interface: &str) -> Result<Vec<XdpAttachMode>> {
    let pass = [super::Insn::mov64_imm(super::Reg::R0, XDP_PASS), super::Insn::exit()];
    let prog = EbpfProgram::load(super::ProgramType::Xdp { frags: false }, "netring_probe", &pass)?;
    let mut modes = Vec::new();
    for (how, mode) in [(XdpAttach::Native, XdpAttachMode::Native), (XdpAttach::Generic, XdpAttachMode::Generic)] {
        match XdpLink::attach(&prog, interface, how) {
            Ok(link) => {
                drop(link);
                modes.push(mode);
            }
            Err(e @ (Error::XdpBusy { .. } | Error::PermissionDenied { .. } | Error::InterfaceNotFound { .. })) => {
                return Err(e);
            }
            Err(e) => tracing::debug!(interface, %mode, "XDP probe: {e}"),
        }
    }
    Ok(modes)
}

fn attach_error(interface: &str, mode: XdpAttachMode, e: std::io::Error) -> Error {
    let errno = sys::LinkErrno::of(&e);
    match errno {
        sys::LinkErrno::Busy => {
            let info = crate::interface::link_info(interface).ok();
            Error::XdpBusy {
                interface: interface.to_owned(),
                prog_id: info.as_ref().map_or(0, |i| i.xdp_prog_id),
                mode: attached_mode_name(info.map_or(0, |i| i.xdp_attached)),
            }
        }
        sys::LinkErrno::Denied => Error::from_io("bpf(BPF_LINK_CREATE BPF_XDP)", e),
        _ => {
            let hint = match (mode, errno) {
                (XdpAttachMode::Native, sys::LinkErrno::NoSpace) => {
                    "; native XDP on veth needs this end's RX queue count to be at least the peer's TX queue count \
                     (create the pair with equal counts, e.g. `numtxqueues 1 numrxqueues 1`), or use generic mode"
                }
                (XdpAttachMode::Native, sys::LinkErrno::Range) => {
                    "; the MTU (on veth: the peer's) is too large for native XDP without multi-buffer support \
                     (about 3.5 KB with 4 KiB pages): lower it or use generic mode"
                }
                (XdpAttachMode::Native, sys::LinkErrno::NotSupported) => {
                    "; the driver has no native XDP: use generic mode"
                }
                (_, sys::LinkErrno::Invalid) => "; the kernel may predate XDP BPF links (Linux 5.9)",
                _ => "",
            };
            Error::XdpAttach { interface: interface.to_owned(), mode: mode.as_str(), source: e, hint: hint.into() }
        }
    }
}
