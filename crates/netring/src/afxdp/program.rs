//! The built-in XDP program: one XSKMAP holding the sockets of an
//! interface at their queues, and the redirect program over it (with an
//! optional filter in front), attached by a BPF link.

use std::os::fd::BorrowedFd;

use crate::bpf::{EbpfProgram, ProgramType, XdpAttach, XdpAttachMode, XdpLink, XskMap, programs};
use crate::error::Result;

/// The built-in program and what it needs, attached while any socket of
/// its interface holds it.
#[derive(Debug)]
pub(super) struct BuiltIn {
    // Dropped first: closing the link detaches the program.
    link: XdpLink,
    _map: XskMap,
    prog: EbpfProgram,
}

impl BuiltIn {
    /// One XSKMAP with each `(queue, socket)` of `members`, the redirect
    /// program over it (with `filter` translated to eBPF in front, if given),
    /// attached to `iface`.
    pub(super) fn attach(
        iface: &str,
        members: &[(u32, BorrowedFd<'_>)],
        how: XdpAttach,
        frags: bool,
        filter: Option<&crate::filter::Program>,
    ) -> Result<Self> {
        let queues = crate::interface::link_info(iface).map(|l| l.rx_queues).unwrap_or(1);
        let top = members.iter().map(|&(q, _)| q + 1).max().unwrap_or(1);
        let map = XskMap::new(queues.max(top))?;
        for &(queue, sock) in members {
            map.insert(queue, sock)?;
        }
        let insns = match filter {
            Some(f) => programs::xsk_redirect_filtered(&map, f)?,
            None => programs::xsk_redirect(&map),
        };
        let prog = EbpfProgram::load(ProgramType::Xdp { frags }, "netring_xsk", &insns)?;
        let link = XdpLink::attach(&prog, iface, how)?;
        tracing::debug!(interface = iface, mode = %link.mode(), sockets = members.len(), frags, "built-in XDP program attached");
        Ok(Self { link, _map: map, prog })
    }

    /// Where the program runs.
    pub(super) fn mode(&self) -> XdpAttachMode {
        self.link.mode()
    }

    /// The kernel's id of the program.
    pub(super) fn id(&self) -> Option<u32> {
        self.prog.id().ok()
    }
}
