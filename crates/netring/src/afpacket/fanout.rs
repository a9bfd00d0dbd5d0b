//! Fanout: spread one interface's packets over a group of AF_PACKET
//! sockets (`PACKET_FANOUT`, packet(7)).

use std::os::fd::{AsFd, BorrowedFd};

use crate::bpf::EbpfProgram;
use crate::error::{Error, Result};
use crate::filter::Program;
use crate::sys::packet as pk;
use crate::sys::tpacket as tp;

/// How the kernel picks the member socket for each packet.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FanoutMode {
    /// By flow hash (`PACKET_FANOUT_HASH`): a flow stays on one member.
    Hash,
    /// Round robin (`PACKET_FANOUT_LB`).
    LoadBalance,
    /// By the CPU that received the packet (`PACKET_FANOUT_CPU`).
    Cpu,
    /// Fill one member, then the next (`PACKET_FANOUT_ROLLOVER`).
    Rollover,
    /// At random (`PACKET_FANOUT_RND`).
    Random,
    /// By the device's recorded RX queue (`PACKET_FANOUT_QM`, Linux 3.14).
    QueueMapping,
    /// A classic BPF program returns the member index (`PACKET_FANOUT_CBPF`,
    /// Linux 4.5).
    Cbpf(Program),
    /// An eBPF socket-filter program returns the member index
    /// (`PACKET_FANOUT_EBPF`, Linux 4.5). The program sees the packet from
    /// its network header (the link-layer header is not pulled back yet).
    Ebpf(EbpfProgram),
}

impl FanoutMode {
    fn kernel_type(&self) -> u16 {
        match self {
            Self::Hash => tp::PACKET_FANOUT_HASH,
            Self::LoadBalance => tp::PACKET_FANOUT_LB,
            Self::Cpu => tp::PACKET_FANOUT_CPU,
            Self::Rollover => tp::PACKET_FANOUT_ROLLOVER,
            Self::Random => tp::PACKET_FANOUT_RND,
            Self::QueueMapping => tp::PACKET_FANOUT_QM,
            Self::Cbpf(_) => tp::PACKET_FANOUT_CBPF,
            Self::Ebpf(_) => tp::PACKET_FANOUT_EBPF,
        }
    }
}

bitflags::bitflags! {
    /// Fanout flags (the high bits of the mode word).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct FanoutFlags: u16 {
        /// When the chosen member is full, try the others
        /// (`PACKET_FANOUT_FLAG_ROLLOVER`).
        const ROLLOVER = tp::PACKET_FANOUT_FLAG_ROLLOVER;
        /// Let the kernel pick an unused group id; the id given must be 0
        /// (`PACKET_FANOUT_FLAG_UNIQUEID`, Linux 4.3).
        const UNIQUE_ID = tp::PACKET_FANOUT_FLAG_UNIQUEID;
        /// Do not fan out outgoing packets
        /// (`PACKET_FANOUT_FLAG_IGNORE_OUTGOING`, Linux 5.12).
        const IGNORE_OUTGOING = tp::PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
        /// Reassemble IP fragments before choosing, so that all fragments of
        /// a datagram go to one member (`PACKET_FANOUT_FLAG_DEFRAG`).
        const DEFRAG = tp::PACKET_FANOUT_FLAG_DEFRAG;
    }
}

/// A fanout group to join: every socket that joins the same `group_id` on
/// the same interface with the same mode shares the interface's packets.
///
/// ```no_run
/// use netring::afpacket::{Fanout, FanoutFlags, FanoutMode};
/// let members: Vec<_> = (0..4)
///     .map(|_| {
///         netring::Capture::builder()
///             .interface("eth0")
///             .fanout(Fanout::new(42, FanoutMode::Hash).flags(FanoutFlags::ROLLOVER))
///             .build()
///     })
///     .collect::<Result<_, _>>()?;
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Fanout {
    /// Group id (0 with [`FanoutFlags::UNIQUE_ID`]).
    pub group_id: u16,
    /// How members are chosen.
    pub mode: FanoutMode,
    /// Flags.
    pub flags: FanoutFlags,
}

impl Fanout {
    /// Group `group_id` in `mode`, no flags.
    pub fn new(group_id: u16, mode: FanoutMode) -> Self {
        Self { group_id, mode, flags: FanoutFlags::empty() }
    }

    /// Set the flags.
    pub fn flags(mut self, flags: FanoutFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The `PACKET_FANOUT` option value: id | (mode | flags) << 16.
    pub(crate) fn option(&self) -> u32 {
        u32::from(self.group_id) | (u32::from(self.mode.kernel_type() | self.flags.bits()) << 16)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.flags.contains(FanoutFlags::UNIQUE_ID) && self.group_id != 0 {
            return Err(Error::config("fanout group_id", self.group_id, "must be 0 with FanoutFlags::UNIQUE_ID"));
        }
        Ok(())
    }

    /// Join the group on a bound socket, then hand the kernel the selector
    /// program, if the mode has one. Returns the group id (the kernel's
    /// choice with [`FanoutFlags::UNIQUE_ID`]).
    pub(crate) fn join(&self, sock: BorrowedFd<'_>) -> Result<u16> {
        pk::join_fanout(sock, self.option(), &format_args!("group {} mode {:?}", self.group_id, self.mode))?;
        match &self.mode {
            FanoutMode::Ebpf(prog) => pk::set_fanout_ebpf(sock, prog.as_fd())?,
            FanoutMode::Cbpf(prog) => pk::set_fanout_cbpf(sock, prog.instructions())?,
            _ => {}
        }
        let got = pk::fanout(sock)?;
        Ok(got as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_word_packs_id_mode_and_flags() {
        let f = Fanout::new(0x1234, FanoutMode::Hash);
        assert_eq!(f.option(), 0x1234);
        let f = Fanout::new(7, FanoutMode::Rollover).flags(FanoutFlags::DEFRAG | FanoutFlags::ROLLOVER);
        assert_eq!(f.option(), 7 | ((3 | 0x8000 | 0x1000) << 16));
        assert_eq!(Fanout::new(1, FanoutMode::QueueMapping).option() >> 16, 5);
        assert!(Fanout::new(1, FanoutMode::Cpu).flags(FanoutFlags::UNIQUE_ID).validate().is_err());
        assert!(Fanout::new(0, FanoutMode::Cpu).flags(FanoutFlags::UNIQUE_ID).validate().is_ok());
    }
}
