//! eBPF without a toolchain: an instruction encoder and assembler of our
//! own ([`Insn`], [`Asm`]), a loader over the `bpf(2)` system call
//! ([`EbpfProgram`]), the AF_XDP socket map ([`XskMap`]) and XDP attachment
//! as a BPF link ([`XdpLink`]).
//!
//! The same loader serves three uses: the built-in XDP program behind
//! [`XdpSocket`](crate::XdpSocket) ([`programs::xsk_redirect`]), eBPF socket
//! filters ([`CaptureBuilder::ebpf_filter`](crate::CaptureBuilder::ebpf_filter))
//! and eBPF fanout programs ([`FanoutMode::Ebpf`](crate::afpacket::FanoutMode::Ebpf)).
//! Programs loaded elsewhere (aya, libbpf) come in through
//! [`EbpfProgram::from_fd`]. Kernel functions (kfuncs) are found by name
//! in the kernel's BTF with the small reader in [`btf`].
//!
//! Needs `CAP_BPF` (or `CAP_SYS_ADMIN`) to load programs and create maps,
//! and `CAP_NET_ADMIN` to attach XDP. BPF links need Linux 5.9 for XDP.

mod array;
pub mod btf;
mod cbpf;
mod insn;
mod probe;
pub mod programs;
mod rxmeta;
mod tcx;
mod xdp;

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

pub use array::ArrayMap;
pub use insn::{Asm, EbpfLabel, Insn, Reg, helper, op};
pub use probe::{KfuncSupport, probe_rx_kfuncs};
pub use rxmeta::{RxKfuncs, XDP_RX_META_MAGIC, XdpRxMeta, XdpRxMetaFlags, XdpRxMetaPlacement};
pub use tcx::TcxLink;
pub use xdp::{XdpAttach, XdpAttachMode, XdpLink, XskMap, probe_modes};

use crate::error::{Error, Result};
use crate::sys::bpf as sys;

/// The license the built-in programs declare: compatible with the GPL, so
/// that every helper is callable, and with this crate's MIT/Apache terms.
pub const LICENSE: &CStr = c"Dual MIT/GPL";

/// What kind of program to load (`enum bpf_prog_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProgramType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: a socket filter (`SO_ATTACH_BPF`) or a
    /// fanout selector (`PACKET_FANOUT_DATA`). The context is the `__sk_buff`;
    /// the return value is the number of bytes to keep (filter) or the
    /// member socket (fanout).
    SocketFilter,
    /// `BPF_PROG_TYPE_XDP` for `BPF_XDP` links; `frags` declares multi-buffer
    /// support (`BPF_F_XDP_HAS_FRAGS`, Linux 5.18), which lets native XDP
    /// attach to devices with a large MTU.
    Xdp {
        /// The program handles frames split over several buffers.
        frags: bool,
    },
    /// `BPF_PROG_TYPE_SCHED_CLS`: a tc classifier, attached with
    /// [`TcxLink`] (the context is the `__sk_buff`; the return value a
    /// `TCX_*` verdict: 0 pass, 2 drop, -1 next program).
    SchedCls,
}

/// A loaded eBPF program. Cloning is cheap and shares the kernel object,
/// which lives while any clone, attachment or link holds it.
#[derive(Debug, Clone)]
pub struct EbpfProgram {
    fd: Arc<OwnedFd>,
    name: String,
}

impl EbpfProgram {
    /// Verify and load `insns` as a program of type `ty` named `name` (up to
    /// 15 characters of `[A-Za-z0-9_.]`; others are dropped).
    ///
    /// # Errors
    /// [`Error::BpfLoad`] with the verifier's log when the kernel refuses
    /// the program; [`Error::PermissionDenied`] without `CAP_BPF`.
    pub fn load(ty: ProgramType, name: &str, insns: &[Insn]) -> Result<Self> {
        Self::load_on(ty, name, insns, 0)
    }

    /// [`load`](Self::load) an XDP program bound to the device with index
    /// `ifindex` (`prog_ifindex` with `BPF_F_XDP_DEV_BOUND_ONLY`, Linux
    /// 6.3): its XDP metadata kfunc calls resolve to that driver's
    /// implementations (a driver without one gets the kernel's default,
    /// which fails with `EOPNOTSUPP`). Such a program attaches to that
    /// device only, and only in native mode.
    ///
    /// # Errors
    /// As [`load`](Self::load); [`Error::InvalidConfig`] for a socket filter.
    pub fn load_device_bound(ty: ProgramType, name: &str, insns: &[Insn], ifindex: u32) -> Result<Self> {
        if !matches!(ty, ProgramType::Xdp { .. }) || ifindex == 0 {
            return Err(Error::config("device-bound program", name, "must be an XDP program on a device"));
        }
        Self::load_on(ty, name, insns, ifindex)
    }

    fn load_on(ty: ProgramType, name: &str, insns: &[Insn], ifindex: u32) -> Result<Self> {
        let (prog_type, expected_attach_type, prog_flags) = match ty {
            ProgramType::SocketFilter => (sys::BPF_PROG_TYPE_SOCKET_FILTER, 0, 0),
            ProgramType::SchedCls => (sys::BPF_PROG_TYPE_SCHED_CLS, 0, 0),
            ProgramType::Xdp { frags } => {
                (sys::BPF_PROG_TYPE_XDP, sys::BPF_XDP, if frags { sys::BPF_F_XDP_HAS_FRAGS } else { 0 })
            }
        };
        let encoded: Vec<u64> = insns.iter().map(|i| i.encode()).collect();
        let load = sys::ProgLoad {
            prog_type,
            expected_attach_type,
            license: LICENSE,
            name: sys::object_name(name),
            prog_flags: prog_flags | if ifindex != 0 { sys::BPF_F_XDP_DEV_BOUND_ONLY } else { 0 },
            prog_ifindex: ifindex,
        };
        match sys::prog_load(&load, &encoded) {
            Ok(fd) => Ok(Self { fd: Arc::new(fd), name: name.to_owned() }),
            Err((e, _)) if sys::load_denied(&e) => Err(Error::from_io("bpf(BPF_PROG_LOAD)", e)),
            Err((source, log)) => Err(Error::BpfLoad { program: name.to_owned(), source, log }),
        }
    }

    /// Adopt a program loaded elsewhere (aya, libbpf, a pinned object).
    pub fn from_fd(fd: OwnedFd) -> Self {
        Self { fd: Arc::new(fd), name: String::new() }
    }

    /// The kernel's id of the program (as `bpftool prog show` and
    /// `ip link show` print it).
    ///
    /// # Errors
    /// `bpf(BPF_OBJ_GET_INFO_BY_FD)` failed.
    pub fn id(&self) -> Result<u32> {
        sys::object_id(self.fd.as_fd()).map_err(|e| Error::from_io("bpf(BPF_OBJ_GET_INFO_BY_FD)", e))
    }

    /// The name given at loading (empty for adopted programs).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl AsFd for EbpfProgram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
