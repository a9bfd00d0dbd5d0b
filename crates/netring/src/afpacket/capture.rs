//! [`Capture`]: an AF_PACKET socket receiving through a TPACKET_V3 ring
//! (set up by [`CaptureBuilder`](super::CaptureBuilder)).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::batch::PacketBatch;
use super::block::VlanScratch;
use super::ring::RxRing;
use super::timestamp::TimestampInfo;
use crate::bpf::EbpfProgram;
use crate::error::{Error, Result};
use crate::filter::Program;
use crate::packet::LinkType;
use crate::source::PacketSource;
use crate::stats::{CaptureStats, StatsCounter};
use crate::stop::StopHandle;
use crate::sys::{self, errno, iface, packet as pk};

/// Largest snap length accepted, as libpcap (`MAXIMUM_SNAPLEN`).
pub const MAX_SNAPLEN: u32 = 262_144;

/// The interface name that means every interface of the namespace (as
/// libpcap's `any`).
pub const ANY_INTERFACE: &str = "any";

/// The program to attach: the user's filter with accept lengths capped at
/// the snap length, or a bare `ret #snaplen`, or nothing.
pub(super) fn effective_filter(user: Option<&Program>, snaplen: Option<u32>) -> Result<Option<Program>> {
    Ok(match (user, snaplen) {
        (Some(p), Some(s)) => Some(p.with_snaplen(s)?),
        (Some(p), None) => Some(p.clone()),
        (None, Some(s)) => Some(Program::accept(s)),
        (None, None) => None,
    })
}

/// An AF_PACKET socket receiving through a TPACKET_V3 ring.
///
/// Packets arrive in blocks; [`next_batch`](Self::next_batch) lends out one
/// retired block at a time as a [`PacketBatch`], zero-copy, and dropping the
/// batch hands the block back to the kernel.
///
/// Needs `CAP_NET_RAW` (and `CAP_NET_ADMIN` for nothing here). Linux 3.2+
/// for TPACKET_V3.
///
/// ```no_run
/// use std::time::Duration;
/// let mut cap = netring::Capture::open("eth0")?;
/// while let Some(batch) = cap.next_batch_blocking(Some(Duration::from_secs(1)))? {
///     for pkt in &batch {
///         println!("{} {} bytes", pkt.timestamp(), pkt.len());
///     }
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct Capture {
    // `ring` drops (unmaps) before `fd` closes: fields drop in order.
    pub(super) ring: RxRing,
    pub(super) fd: OwnedFd,
    pub(super) interface: String,
    pub(super) ifindex: u32,
    pub(super) stop: StopHandle,
    pub(super) stats: StatsCounter,
    pub(super) snaplen: Option<u32>,
    /// The interface went down; the kernel will not report its deletion
    /// (it only reports while the hook is registered), so watch for it.
    pub(super) down: bool,
    pub(super) gone: bool,
    pub(super) retire_timeout: Duration,
    /// After a filter change: blocks queued under the old filter, to be
    /// re-checked in user space with the new one (as libpcap does).
    pub(super) recheck: Option<Recheck>,
    pub(super) fanout_group: Option<u16>,
    pub(super) link_type: LinkType,
    pub(super) timestamps: TimestampInfo,
    /// With VLAN re-insertion: the current block's tagged frames, rebuilt.
    pub(super) vlan: Option<Box<VlanScratch>>,
}

#[derive(Debug)]
pub(super) struct Recheck {
    pub(super) program: Program,
    pub(super) blocks: usize,
}

/// While the interface is down, how often to check whether it was deleted.
const GONE_CHECK: Duration = Duration::from_millis(100);

impl Capture {
    /// The next retired block, if there is one. Never blocks, never makes a
    /// system call.
    #[inline]
    pub fn next_batch(&mut self) -> Option<PacketBatch<'_>> {
        let token = self.ring.take()?;
        let recheck = self.recheck_next_block();
        let program = if recheck { self.recheck.as_ref().map(|r| &r.program) } else { None };
        let vlan = match &mut self.vlan {
            Some(v) => {
                v.fill(self.ring.bytes(&token), self.snaplen);
                Some(&**v)
            }
            None => None,
        };
        Some(PacketBatch::new(&mut self.ring, token, program, vlan))
    }

    /// Whether the block just taken was filled (at least partly) under a
    /// filter that has since been replaced.
    #[inline]
    pub(super) fn recheck_next_block(&mut self) -> bool {
        // The program stays (a block being walked may still need it) until
        // the next filter change.
        match &mut self.recheck {
            Some(r) if r.blocks > 0 => {
                r.blocks -= 1;
                true
            }
            _ => false,
        }
    }

    /// The next retired block, waiting up to `timeout` (`None`: no limit).
    /// Returns `Ok(None)` when the time runs out.
    ///
    /// # Errors
    /// [`Error::Stopped`] once [`StopHandle::stop`] was called;
    /// [`Error::InterfaceDown`] when the interface goes down (the capture
    /// resumes if it comes back up, and later calls wait as usual);
    /// [`Error::InterfaceGone`] when it is deleted (and on every later
    /// call). Deleting an interface that is up takes it down first, so a
    /// reader may see `InterfaceDown` and then, on its next call (within
    /// 100 ms), `InterfaceGone`. [`Error::Io`] if `poll` fails.
    pub fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<PacketBatch<'_>>> {
        if !self.wait_ready(timeout)? {
            return Ok(None);
        }
        Ok(self.next_batch())
    }

    /// Wait until a block is ready (`true`) or `timeout` passes (`false`).
    pub(super) fn wait_ready(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.check_ready(false)? {
                return Ok(true);
            }
            if self.stop.is_stopped() {
                return Err(Error::Stopped);
            }
            let mut left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => Some(left),
                    None => return Ok(false),
                },
                None => None,
            };
            if let Some(r) = self.recheck_interval() {
                left = Some(left.map_or(r, |l| l.min(r)));
            }
            let [sock, _] = sys::poll([(self.fd.as_fd(), sys::POLLIN), (self.stop.event_fd(), sys::POLLIN)], left)
                .map_err(|e| Error::from_io("poll", e))?;
            if sock.error() {
                self.check_socket_error()?;
            }
        }
    }

    /// One look at the ring without waiting, for every kind of wait (this
    /// blocking one, the async adapters): `Ok(true)` when a block is ready;
    /// `Ok(false)` to keep waiting. `socket_error`: the wait reported
    /// `POLLERR`, so the pending socket error is read and turned into an
    /// [`Error`].
    pub(crate) fn check_ready(&mut self, socket_error: bool) -> Result<bool> {
        if self.ring.ready() {
            self.down = false;
            return Ok(true);
        }
        if self.down && sys::packet_bound_ifindex(self.fd.as_fd()).is_some_and(|i| i < 0) {
            self.gone = true;
        }
        if self.gone {
            return Err(Error::InterfaceGone { name: self.interface.clone() });
        }
        if socket_error {
            self.check_socket_error()?;
        }
        Ok(false)
    }

    /// How often a wait must look again without any wake-up: while the
    /// interface is down, the kernel reports nothing when it is deleted.
    pub(crate) fn recheck_interval(&self) -> Option<Duration> {
        self.down.then_some(GONE_CHECK)
    }

    /// Turn a pending socket error into the matching [`Error`].
    pub(crate) fn check_socket_error(&mut self) -> Result<()> {
        let Some(err) = sys::take_socket_error(self.fd.as_fd()) else {
            return Ok(());
        };
        if err.raw_os_error() == Some(errno::ENETDOWN) {
            // After NETDEV_UNREGISTER the kernel sets the socket's ifindex to -1.
            if sys::packet_bound_ifindex(self.fd.as_fd()).is_some_and(|i| i < 0) {
                self.gone = true;
                return Err(Error::InterfaceGone { name: self.interface.clone() });
            }
            self.down = true;
            return Err(Error::InterfaceDown { name: self.interface.clone() });
        }
        Err(Error::from_io("poll(AF_PACKET)", err))
    }

    /// A handle that stops blocking waits from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Cumulative statistics since the capture was opened. The kernel's
    /// read-and-reset counters are folded into 64-bit totals, so reading
    /// never resets what the caller sees; the change over an interval is the
    /// difference of two readings (`later - earlier`, [`CaptureStats`]
    /// implements `Sub`).
    ///
    /// # Errors
    /// `getsockopt(PACKET_STATISTICS)` failed.
    pub fn stats(&mut self) -> Result<CaptureStats> {
        let s = pk::statistics(self.fd.as_fd())?;
        self.stats.add_reading(s.tp_packets, s.tp_drops, s.tp_freeze_q_cnt);
        Ok(self.stats.total())
    }

    /// Blocks whose contents did not parse and were skipped (should stay 0).
    pub fn malformed_blocks(&self) -> u64 {
        self.ring.malformed()
    }

    /// Blocks now held by user space or waiting to be read, out of
    /// [`block_count`](Self::block_count).
    pub fn ring_occupancy(&self) -> usize {
        self.ring.user_blocks()
    }

    /// Replace the kernel filter on the live socket, atomically. The snap
    /// length still applies. On a capture on every interface the program,
    /// written for Ethernet frames, is rewritten for the cooked socket
    /// ([`Program::for_cooked`]).
    ///
    /// Once this returns, every packet handed out matches `program`: frames
    /// the kernel queued in the ring under the old filter (the blocks user
    /// space holds, and the one being filled) are re-checked with `program`
    /// in user space as they are read, as libpcap does for TPACKET_V3.
    ///
    /// # Errors
    /// `setsockopt(SO_ATTACH_FILTER)` failed or capping the program at the
    /// snap length made it invalid.
    pub fn set_bpf(&mut self, program: &Program) -> Result<()> {
        let cooked;
        let program = if self.link_type == LinkType::LinuxSll2 {
            cooked = program.for_cooked()?;
            &cooked
        } else {
            program
        };
        let p = effective_filter(Some(program), self.snaplen)?.expect("a program");
        pk::attach_filter(self.fd.as_fd(), p.instructions())?;
        // Blocks are read in order; the user-owned ones come next, then the
        // one the kernel is filling.
        let blocks = (self.ring.user_blocks() + 1).min(self.ring.block_count());
        self.recheck = Some(Recheck { program: p, blocks });
        Ok(())
    }

    /// Replace the kernel filter with a tcpdump filter expression, compiled
    /// for a live AF_PACKET socket (see [`crate::filter::expr`]); as
    /// [`set_bpf`](Self::set_bpf), every packet handed out afterwards matches
    /// it, queued ones included.
    ///
    /// ```no_run
    /// # let mut cap = netring::Capture::open("eth0")?;
    /// cap.set_filter("tcp port 443 or udp port 53")?;
    /// # Ok::<(), netring::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidExpression`] (with the column) or
    /// [`Error::InvalidFilter`] if it does not compile; nothing changes then.
    /// As [`set_bpf`](Self::set_bpf) otherwise.
    pub fn set_filter(&mut self, expression: &str) -> Result<()> {
        // `ip broadcast`: the interface's netmask, asked on the socket
        // itself (so in its namespace, wherever this thread is), as
        // libpcap's `pcap_lookupnet()`; 0.0.0.0 without one.
        let netmask = if crate::filter::needs_netmask(expression) && self.interface != ANY_INTERFACE {
            sys::iface::netmask_on(self.fd.as_fd(), &self.interface).unwrap_or(0)
        } else {
            0
        };
        let netmask = std::net::Ipv4Addr::from(netmask);
        let options =
            crate::filter::expr::Options::default().target(crate::filter::expr::Target::LiveAfPacket).netmask(netmask);
        let p = crate::filter::expr::compile_opts(expression, self.snaplen.unwrap_or(MAX_SNAPLEN), options)?;
        self.set_bpf(&p)
    }

    /// Remove the user filter: every packet passes again (still truncated to
    /// the snap length, if one is set).
    ///
    /// # Errors
    /// The kernel refused the change.
    pub fn clear_filter(&mut self) -> Result<()> {
        self.recheck = None;
        match self.snaplen {
            Some(s) => pk::attach_filter(self.fd.as_fd(), Program::accept(s).instructions()),
            None => pk::detach_filter(self.fd.as_fd()),
        }
    }

    /// Replace the socket filter with an eBPF program on the live socket
    /// (`SO_ATTACH_BPF`). A snap length set at build time no longer applies:
    /// the program's return value is the capture length.
    ///
    /// # Errors
    /// The kernel refused the program (it must be a socket filter).
    pub fn set_ebpf_filter(&mut self, program: &EbpfProgram) -> Result<()> {
        pk::attach_ebpf_filter(self.fd.as_fd(), program.as_fd(), program.name())?;
        self.snaplen = None;
        Ok(())
    }

    /// The fanout group this capture joined (the kernel's choice with
    /// [`FanoutFlags::UNIQUE_ID`](super::FanoutFlags::UNIQUE_ID)).
    pub fn fanout_group(&self) -> Option<u16> {
        self.fanout_group
    }

    /// The interface name ([`ANY_INTERFACE`] for every interface).
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index (0 for every interface).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// What the packets' bytes start with: [`LinkType::Ethernet`] (the
    /// link-layer header, as received), or [`LinkType::LinuxSll2`] for a
    /// capture on every interface, whose packets start at the network
    /// header and whose link layer is in the metadata (protocol, hardware
    /// type, source address, direction), as libpcap's cooked mode.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The clock asked for and the one set up (with the reason for a
    /// fallback from hardware to software stamps).
    pub fn timestamping(&self) -> &TimestampInfo {
        &self.timestamps
    }

    /// Whether tagged frames get their VLAN tag back
    /// ([`CaptureBuilder::reinsert_vlan`](super::CaptureBuilder::reinsert_vlan)).
    pub fn reinserts_vlan(&self) -> bool {
        self.vlan.is_some()
    }

    /// The name of interface `ifindex` in this capture's network namespace
    /// (`SIOCGIFNAME` on the capture's own socket, so the answer is right
    /// whichever namespace the calling thread is in).
    ///
    /// # Errors
    /// [`Error::InterfaceNotFound`] if no interface has that index (any more).
    pub fn interface_name(&self, ifindex: u32) -> Result<String> {
        iface::name_on(self.fd.as_fd(), ifindex)
    }

    /// The snap length, if one is set.
    pub fn snaplen(&self) -> Option<u32> {
        self.snaplen
    }

    /// Block size in bytes.
    pub fn block_size(&self) -> usize {
        self.ring.block_size()
    }

    /// Number of blocks.
    pub fn block_count(&self) -> usize {
        self.ring.block_count()
    }

    /// The block retire timeout.
    pub fn retire_timeout(&self) -> Duration {
        self.retire_timeout
    }
}

impl AsFd for Capture {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl PacketSource for Capture {
    type Batch<'a> = PacketBatch<'a>;

    fn next_batch(&mut self) -> Option<PacketBatch<'_>> {
        Capture::next_batch(self)
    }

    fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<PacketBatch<'_>>> {
        Capture::next_batch_blocking(self, timeout)
    }

    fn stats(&mut self) -> Result<CaptureStats> {
        Capture::stats(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_filters() {
        assert_eq!(effective_filter(None, None).unwrap(), None);
        assert_eq!(effective_filter(None, Some(64)).unwrap(), Some(Program::accept(64)));
        let user = Program::accept(MAX_SNAPLEN);
        assert_eq!(effective_filter(Some(&user), None).unwrap(), Some(user.clone()));
        assert_eq!(effective_filter(Some(&user), Some(100)).unwrap(), Some(Program::accept(100)));
    }
}
