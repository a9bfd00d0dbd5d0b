//! The largest frame a transmit socket takes, why, and the error beyond it
//! (shared by [`Injector`](super::Injector) and [`RawSender`](super::RawSender)).

use crate::error::{Error, Result};
use crate::sys::{iface, tpacket as tp};

/// The MTU of `interface` and the length of its link-layer header: 14 bytes
/// on Ethernet and loopback (`ARPHRD_ETHER`, `ARPHRD_LOOPBACK`), none
/// elsewhere.
pub(super) fn link_of(interface: &str) -> Result<(u32, usize)> {
    let mtu = iface::mtu(interface)?;
    let link_header = match iface::hwaddr(interface)?.0 {
        1 | 772 => tp::ETH_HLEN,
        _ => 0,
    };
    Ok((mtu, link_header))
}

/// The largest frame accepted and where that limit comes from.
#[derive(Debug, Clone)]
pub(super) struct FrameLimit {
    pub(super) max: usize,
    why: String,
}

impl FrameLimit {
    /// MTU + link header.
    pub(super) fn link(mtu: u32, link_header: usize) -> Self {
        Self { max: mtu as usize + link_header, why: format!("MTU {mtu} + {link_header}-byte link header") }
    }

    /// What a TX ring slot of `frame_size` bytes holds after its header.
    pub(super) fn slot(frame_size: usize, holds: usize) -> Self {
        Self { max: holds, why: format!("a {frame_size}-byte TX ring slot holds {holds} after its header") }
    }

    /// [`Error::FrameTooLarge`] if `len` is over the limit.
    pub(super) fn check(&self, len: usize, interface: &str) -> Result<()> {
        if len > self.max {
            return Err(Error::FrameTooLarge {
                len,
                limit: self.max,
                interface: interface.to_owned(),
                why: self.why.clone(),
            });
        }
        Ok(())
    }
}
