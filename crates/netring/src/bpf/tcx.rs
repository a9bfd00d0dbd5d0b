//! tc programs attached through BPF links (tcx, Linux 6.6).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::EbpfProgram;
use crate::error::{Error, Result};
use crate::sys::bpf as sys;

/// A [`SchedCls`](super::ProgramType::SchedCls) program attached to an
/// interface's ingress or egress as a tcx BPF link (`BPF_LINK_CREATE`,
/// `BPF_TCX_INGRESS` / `BPF_TCX_EGRESS`). Detached when dropped.
///
/// Needs `CAP_NET_ADMIN` and `CAP_BPF`. Linux 6.6.
#[derive(Debug)]
pub struct TcxLink {
    fd: OwnedFd,
}

impl TcxLink {
    /// Attach `prog` to `interface`'s egress (`egress`) or ingress.
    ///
    /// # Errors
    /// [`Error::InterfaceNotFound`]; [`Error::PermissionDenied`];
    /// [`Error::Unsupported`] where the kernel lacks tcx links.
    pub fn attach(prog: &EbpfProgram, interface: &str, egress: bool) -> Result<Self> {
        let ifindex = crate::interface::index(interface)?;
        let ty = if egress { sys::BPF_TCX_EGRESS } else { sys::BPF_TCX_INGRESS };
        match sys::link_create(prog.as_fd(), ifindex, ty, 0) {
            Ok(fd) => Ok(Self { fd }),
            Err(e) if sys::LinkErrno::of(&e) == sys::LinkErrno::Denied => {
                Err(Error::from_io("bpf(BPF_LINK_CREATE BPF_TCX)", e))
            }
            Err(e) => Err(Error::Unsupported {
                feature: "tcx BPF links",
                detail: format!("attaching to {interface:?} failed ({e}): needs Linux 6.6 with CONFIG_NET_XGRESS"),
            }),
        }
    }
}

impl AsFd for TcxLink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
