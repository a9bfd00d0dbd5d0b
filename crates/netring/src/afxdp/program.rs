//! The built-in XDP program: one XSKMAP holding the sockets of an
//! interface at their queues, and the redirect program over it (with an
//! optional filter in front, and the per-frame metadata writer), attached
//! by a BPF link.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use super::config::MetaAsk;
use super::meta::XdpRxMetadata;
use crate::Timestamping;
use crate::bpf::{
    EbpfProgram, ProgramType, RxKfuncs, XdpAttach, XdpAttachMode, XdpLink, XdpRxMetaFlags, XdpRxMetaPlacement, XskMap,
    programs,
};
use crate::error::{Error, Result};

/// The kernel refused `bpf_xdp_adjust_meta` to an XDP program once: use
/// [`XdpRxMetaPlacement::Prefix`] from then on.
static ADJUST_META_REFUSED: AtomicBool = AtomicBool::new(false);

/// Load the metadata-writing program: the area before the data where the
/// kernel allows `bpf_xdp_adjust_meta`, else (single-buffer frames only)
/// as a prefix of the frame. Bound to `ifindex` if given.
fn load_meta(
    ty: ProgramType,
    map: &XskMap,
    filter: Option<&crate::filter::Program>,
    kfuncs: &RxKfuncs,
    ifindex: Option<u32>,
) -> Result<(EbpfProgram, XdpRxMetaPlacement)> {
    let load = |placement| {
        let insns = programs::xsk_redirect_meta(map, filter, kfuncs, placement)?;
        match ifindex {
            Some(i) => EbpfProgram::load_device_bound(ty, "netring_xsk", &insns, i),
            None => EbpfProgram::load(ty, "netring_xsk", &insns),
        }
    };
    if !ADJUST_META_REFUSED.load(Ordering::Relaxed) {
        match load(XdpRxMetaPlacement::BeforeData) {
            Err(Error::BpfLoad { log, .. }) if log.contains("cannot use helper bpf_xdp_adjust_meta") => {
                tracing::info!(
                    "this kernel refuses bpf_xdp_adjust_meta to XDP programs: the metadata goes in front of each frame instead"
                );
                ADJUST_META_REFUSED.store(true, Ordering::Relaxed);
            }
            other => return other.map(|p| (p, XdpRxMetaPlacement::BeforeData)),
        }
    }
    if matches!(ty, ProgramType::Xdp { frags: true }) {
        return Err(Error::Unsupported {
            feature: "XDP RX metadata with multi-buffer",
            detail: "the kernel refuses bpf_xdp_adjust_meta, and a prefix cannot be taken off a reassembled frame"
                .into(),
        });
    }
    load(XdpRxMetaPlacement::Prefix).map(|p| (p, XdpRxMetaPlacement::Prefix))
}

/// The fields of `ask`, with the device's time when `ask.timestamping`
/// wants it and the device has a clock to give it, whose receive stamping
/// is then switched on; without a clock the reason is kept in `fallback`
/// (an error with [`Timestamping::HardwareOnly`]).
fn device_clock(iface: &str, ask: MetaAsk, fallback: &mut Vec<String>) -> Result<XdpRxMetaFlags> {
    if ask.timestamping == Timestamping::Software {
        return Ok(ask.fields);
    }
    let Some(why) = crate::afpacket::hardware_unavailable(iface)? else {
        return Ok(ask.fields | XdpRxMetaFlags::DEVICE_TIME);
    };
    if ask.timestamping == Timestamping::HardwareOnly {
        return Err(Error::Unsupported { feature: "hardware time stamps", detail: why });
    }
    tracing::info!(interface = iface, "XDP RX metadata: the program's time, not the device's: {why}");
    fallback.push(format!("no device time: {why}"));
    Ok(ask.fields)
}

/// [`Timestamping::HardwareOnly`] without the device's time is an error.
fn hardware_only(ask: MetaAsk, meta: &XdpRxMetadata) -> Result<()> {
    if ask.timestamping != Timestamping::HardwareOnly || meta.device_time {
        return Ok(());
    }
    let detail = match meta.fallback.is_empty() {
        true => "the device's time needs native XDP and bpf_xdp_metadata_rx_timestamp (Linux 6.3)".to_owned(),
        false => meta.fallback.join("; "),
    };
    Err(Error::Unsupported { feature: "hardware time stamps", detail })
}

/// The built-in program and what it needs, attached while any socket of
/// its interface holds it.
#[derive(Debug)]
pub(super) struct BuiltIn {
    // Dropped first: closing the link detaches the program.
    link: XdpLink,
    _map: XskMap,
    prog: EbpfProgram,
    /// What the program writes in front of each frame.
    pub(super) meta: XdpRxMetadata,
}

/// Errors after which no other program is worth trying.
fn final_error(e: &Error) -> bool {
    matches!(e, Error::XdpBusy { .. } | Error::PermissionDenied { .. } | Error::InterfaceNotFound { .. })
}

impl BuiltIn {
    /// One XSKMAP with each `(queue, socket)` of `members`, the redirect
    /// program over it (with `filter` translated to eBPF in front, if given),
    /// attached to `iface`.
    ///
    /// With `meta`, the program writes an [`XdpRxMeta`](crate::bpf::XdpRxMeta)
    /// area in front of each frame (calling only the kfuncs of the fields
    /// asked for), trying in turn (each step down logged
    /// once, at `info`, and kept in [`XdpRxMetadata::fallback`]):
    /// 1. device-bound with the kernel's XDP metadata kfuncs (native mode
    ///    only: the kernel refuses device-bound programs in generic mode);
    /// 2. the program's own time only, in the requested mode;
    /// 3. no area at all (user-space time), e.g. before Linux 6.1.
    pub(super) fn attach(
        iface: &str,
        members: &[(u32, BorrowedFd<'_>)],
        how: XdpAttach,
        frags: bool,
        filter: Option<&crate::filter::Program>,
        meta: Option<MetaAsk>,
    ) -> Result<Self> {
        let queues = crate::interface::link_info(iface).map(|l| l.rx_queues).unwrap_or(1);
        let top = members.iter().map(|&(q, _)| q + 1).max().unwrap_or(1);
        let map = XskMap::new(queues.max(top))?;
        for &(queue, sock) in members {
            map.insert(queue, sock)?;
        }
        let ty = ProgramType::Xdp { frags };
        let mut fallback: Vec<String> = Vec::new();
        if let Some(ask) = meta {
            let kfuncs = RxKfuncs::running_kernel().only(device_clock(iface, ask, &mut fallback)?);
            if !kfuncs.any() {
                fallback.push("the kernel has no XDP metadata kfuncs (Linux 6.3 with BTF)".into());
            } else if how == XdpAttach::Generic {
                fallback.push("the device's metadata kfuncs need native XDP (generic mode was asked for)".into());
            } else {
                let attached = (|| {
                    let ifindex = crate::interface::index(iface)?;
                    let (prog, placement) = load_meta(ty, &map, filter, &kfuncs, Some(ifindex))?;
                    let link = XdpLink::attach(&prog, iface, XdpAttach::Native)?;
                    Ok::<_, Error>((prog, link, placement))
                })();
                match attached {
                    Ok((prog, link, placement)) => {
                        let meta = XdpRxMetadata::written(placement, Some(&kfuncs), fallback);
                        hardware_only(ask, &meta)?;
                        return Ok(Self::done(iface, members, link, map, prog, meta));
                    }
                    Err(e) if final_error(&e) => return Err(e),
                    Err(e) => fallback.push(format!("device-bound program with metadata kfuncs refused: {e}")),
                }
            }
            tracing::info!(interface = iface, "XDP RX metadata: program time only ({})", fallback.join("; "));
            match load_meta(ty, &map, filter, &RxKfuncs::default(), None) {
                Ok((prog, placement)) => {
                    let meta = XdpRxMetadata::written(placement, None, fallback);
                    hardware_only(ask, &meta)?;
                    let link = XdpLink::attach(&prog, iface, how)?;
                    return Ok(Self::done(iface, members, link, map, prog, meta));
                }
                Err(e) if final_error(&e) => return Err(e),
                Err(e) => {
                    fallback
                        .push(format!("no metadata area: {e} (program time needs bpf_ktime_get_tai_ns, Linux 6.1)"));
                    hardware_only(ask, &XdpRxMetadata::off(fallback.clone()))?;
                    tracing::info!(interface = iface, "XDP RX metadata off: user-space time ({})", fallback.join("; "));
                }
            }
        }
        let insns = match filter {
            Some(f) => programs::xsk_redirect_filtered(&map, f)?,
            None => programs::xsk_redirect(&map),
        };
        let prog = EbpfProgram::load(ty, "netring_xsk", &insns)?;
        let link = XdpLink::attach(&prog, iface, how)?;
        Ok(Self::done(iface, members, link, map, prog, XdpRxMetadata::off(fallback)))
    }

    fn done(
        iface: &str,
        members: &[(u32, BorrowedFd<'_>)],
        link: XdpLink,
        map: XskMap,
        prog: EbpfProgram,
        meta: XdpRxMetadata,
    ) -> Self {
        tracing::debug!(interface = iface, mode = %link.mode(), sockets = members.len(), ?meta, "built-in XDP program attached");
        Self { link, _map: map, prog, meta }
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
