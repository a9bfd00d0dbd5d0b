//! The transmit side of an AF_XDP socket: the TX and completion rings,
//! zero-copy [`XdpTxSlot`]s in UMEM frames, multi-buffer chains, and the
//! `sendto` kicks that make the kernel send.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use super::config::ETH_HLEN;
use super::umem::{State, Umem};
use crate::error::{Error, Result};
use crate::ring::{Consumer, Producer, Reservation};
use crate::source::SinkSlot;
use crate::sys;
use crate::sys::xdp::{self as sx, xdp_desc};

/// Most buffers in one transmitted frame: the kernel builds the skb with
/// one page fragment per buffer after the first (`MAX_SKB_FRAGS`).
const MAX_TX_BUFFERS: usize = 17;

/// What the transmit side counts itself.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TxCounters {
    pub queued: u64,
    pub completed: u64,
    pub completed_bytes: u64,
    pub skipped_completions: u64,
    /// Frames shorter than an Ethernet header, refused at `send` (see
    /// [`XdpTxSlot::send`]).
    pub runts: u64,
}

/// The TX ring (if the socket sends) and the completion ring.
#[derive(Debug)]
pub(crate) struct Transmitter {
    ring: Option<Producer<xdp_desc>>,
    comp: Consumer<u64>,
    zero_copy: bool,
    need_wakeup: bool,
    pub(crate) counters: TxCounters,
    /// AF_XDP TX metadata (see `txmeta.rs`); empty when off.
    pub(crate) meta: super::txmeta::TxMeta,
}

impl Transmitter {
    pub(crate) fn new(
        ring: Option<Producer<xdp_desc>>,
        comp: Consumer<u64>,
        zero_copy: bool,
        need_wakeup: bool,
    ) -> Self {
        Self { ring, comp, zero_copy, need_wakeup, counters: TxCounters::default(), meta: Default::default() }
    }

    /// The TX ring, if the socket sends.
    pub(crate) fn ring(&self) -> Option<&Producer<xdp_desc>> {
        self.ring.as_ref()
    }

    /// The completion ring.
    pub(crate) fn completion_ring(&self) -> &Consumer<u64> {
        &self.comp
    }

    /// Whether the kernel bound in zero-copy mode.
    pub(crate) fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Whether the socket has a TX ring.
    pub(crate) fn has_ring(&self) -> bool {
        self.ring.is_some()
    }

    /// A zero-copy slot of `len` bytes (checked by the caller), collecting
    /// completions and kicking the kernel once if nothing is free.
    pub(crate) fn slot<'a>(
        &'a mut self,
        umem: &'a mut Umem,
        fd: BorrowedFd<'_>,
        interface: &str,
        len: usize,
    ) -> Result<Option<XdpTxSlot<'a>>> {
        for attempt in 0..2 {
            if attempt > 0 || umem.free_frames() == 0 {
                if attempt > 0 {
                    self.flush(umem, fd, interface)?;
                }
                self.complete(umem);
            }
            let tx = self.ring.as_mut().expect("checked by the caller");
            let r = tx.reserve(1);
            if r.len() == 0 {
                tx.cancel(r);
                continue;
            }
            let Some(addr) = umem.take_free() else {
                tx.cancel(r);
                continue;
            };
            // With TX metadata, the frame starts after its metadata area.
            let addr = addr + u64::from(self.meta.len);
            return Ok(Some(XdpTxSlot { tx: self, umem, reservation: Some(r), addr, len: len as u32, options: 0 }));
        }
        Ok(None)
    }

    /// A frame longer than a UMEM frame, as a chain of buffers.
    pub(crate) fn send_chain(
        &mut self,
        umem: &mut Umem,
        fd: BorrowedFd<'_>,
        interface: &str,
        frame: &[u8],
    ) -> Result<bool> {
        let fs = umem.frame_size() as usize;
        let k = frame.len().div_ceil(fs);
        if k > MAX_TX_BUFFERS {
            return Err(Error::FrameTooLarge {
                len: frame.len(),
                limit: fs * MAX_TX_BUFFERS,
                interface: interface.to_owned(),
                why: format!("a multi-buffer frame spans at most {MAX_TX_BUFFERS} UMEM frames of {fs} bytes"),
            });
        }
        for attempt in 0..2 {
            if attempt > 0 {
                self.flush(umem, fd, interface)?;
            }
            self.complete(umem);
            if umem.free_frames() < k {
                continue;
            }
            let tx = self.ring.as_mut().expect("checked by the caller");
            let r = tx.reserve(k as u32);
            if (r.len() as usize) < k {
                tx.cancel(r);
                continue;
            }
            umem.note_rewrite();
            for (i, piece) in frame.chunks(fs).enumerate() {
                let addr = umem.take_free().expect("counted above");
                let len = piece.len() as u32;
                umem.slot_bytes_mut(addr, len).copy_from_slice(piece);
                let end = i + 1 == k;
                tx.write(&r, i as u32, xdp_desc { addr, len, options: if end { 0 } else { sx::XDP_PKT_CONTD } });
                umem.slot_to_tx(addr, len, end);
            }
            tx.submit(r);
            self.counters.queued += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// See [`XdpSocket::flush`](crate::afxdp::XdpSocket::flush).
    pub(crate) fn flush(&mut self, umem: &mut Umem, fd: BorrowedFd<'_>, interface: &str) -> Result<()> {
        let Some(tx) = self.ring.as_mut() else { return Ok(()) };
        tx.refresh();
        if tx.pending() == 0 {
            self.complete(umem);
            return Ok(());
        }
        if self.zero_copy && self.need_wakeup && !tx.needs_wakeup() {
            self.complete(umem);
            return Ok(());
        }
        let rounds = tx.size() / 32 + 2;
        for _ in 0..rounds {
            let before = self.ring.as_mut().map_or(0, |t| {
                t.refresh();
                t.pending()
            });
            sx::send_pending(fd, interface)?;
            self.complete(umem);
            let after = self.ring.as_mut().map_or(0, |t| {
                t.refresh();
                t.pending()
            });
            if after == 0 || after >= before || self.zero_copy {
                break;
            }
        }
        Ok(())
    }

    /// Collect completed transmissions; how many frames came back (a
    /// multi-buffer frame counts once, when its last buffer does).
    pub(crate) fn complete(&mut self, umem: &mut Umem) -> u32 {
        let p = self.comp.peek(self.comp.size());
        let mut done = 0;
        for i in 0..p.len() {
            let addr = self.comp.read(&p, i);
            self.meta.completed(umem, addr);
            match umem.accept_completion(addr) {
                Some((len, end)) => {
                    self.counters.completed_bytes += u64::from(len);
                    done += u32::from(end);
                }
                None => self.counters.skipped_completions += 1,
            }
        }
        self.comp.release(p);
        self.counters.completed += u64::from(done);
        done
    }

    /// Flush and wait until every submitted frame has completed, up to
    /// `timeout`; `Ok(true)` when drained.
    pub(crate) fn wait_drained(
        &mut self,
        umem: &mut Umem,
        fd: BorrowedFd<'_>,
        interface: &str,
        timeout: Duration,
    ) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            self.flush(umem, fd, interface)?;
            if umem.count(State::Tx) == 0 {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            sys::poll([(fd, sys::POLLOUT)], Some(left.min(Duration::from_millis(1))))
                .map_err(|e| Error::from_io("poll(AF_XDP)", e))?;
        }
    }

    /// Whether a frame and a TX ring slot are free, collecting completions
    /// (all that are ready, in one pass) only when no frame is.
    pub(crate) fn room(&mut self, umem: &mut Umem) -> bool {
        if umem.free_frames() == 0 {
            self.complete(umem);
        }
        umem.free_frames() > 0 && self.ring.as_mut().is_some_and(|t| t.free(1) > 0)
    }
}

/// One frame being written for transmit, in UMEM memory (zero-copy).
///
/// Borrows its socket; [`send`](Self::send) submits it, dropping it unsent
/// gives the frame back.
#[derive(Debug)]
pub struct XdpTxSlot<'a> {
    tx: &'a mut Transmitter,
    umem: &'a mut Umem,
    reservation: Option<Reservation>,
    addr: u64,
    len: u32,
    /// Descriptor options (`XDP_TX_METADATA` once a request is written).
    options: u32,
}

impl XdpTxSlot<'_> {
    /// The frame's bytes (the length asked for), to fill in.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.umem.slot_bytes_mut(self.addr, self.len)
    }

    /// Ask the kernel to compute the frame's checksum from byte `start`
    /// and store it at `start + offset` (e.g. 34 and 6 for UDP over IPv4
    /// without options; the checksum field holds the pseudo-header sum),
    /// through AF_XDP TX metadata (`XDP_TXMD_FLAGS_CHECKSUM`). Needs
    /// [`XdpSocketBuilder::tx_metadata`](crate::XdpSocketBuilder::tx_metadata)
    /// and copy mode (see there). Linux 6.8.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming what is missing;
    /// [`Error::InvalidConfig`] for a checksum outside the frame.
    pub fn request_checksum(&mut self, start: u16, offset: u16) -> Result<()> {
        let req = super::txmeta::TxRequest::Checksum { start, offset };
        self.tx.meta.request(self.umem, self.addr, self.len, &mut self.options, self.tx.zero_copy, req)
    }

    /// Ask for the frame's transmit time, reported with `token` by
    /// [`XdpSocket::tx_timestamps`](crate::XdpSocket::tx_timestamps) once
    /// the kernel completes it (`XDP_TXMD_FLAGS_TIMESTAMP`; in copy mode a
    /// software time taken when the device is done with the frame).
    /// Needs [`XdpSocketBuilder::tx_metadata`](crate::XdpSocketBuilder::tx_metadata). Linux 6.8.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming what is missing.
    pub fn request_timestamp(&mut self, token: u64) -> Result<()> {
        let req = super::txmeta::TxRequest::Timestamp { token };
        self.tx.meta.request(self.umem, self.addr, self.len, &mut self.options, self.tx.zero_copy, req)
    }

    /// Ask for the frame to leave at `tai_ns` (`CLOCK_TAI` nanoseconds;
    /// `XDP_TXMD_FLAGS_LAUNCH_TIME`). In copy mode it becomes the skb's
    /// departure time, which a `fq` or `etf` qdisc on the device honours
    /// (others send at once). Needs
    /// [`XdpSocketBuilder::tx_metadata`](crate::XdpSocketBuilder::tx_metadata). Linux 6.15.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming what is missing.
    pub fn request_launch_time(&mut self, tai_ns: u64) -> Result<()> {
        let req = super::txmeta::TxRequest::LaunchTime { tai_ns };
        self.tx.meta.request(self.umem, self.addr, self.len, &mut self.options, self.tx.zero_copy, req)
    }

    /// Shorten the frame to `len` bytes (at most the length asked for).
    ///
    /// # Panics
    /// If `len` is larger than the slot or zero.
    pub fn truncate(&mut self, len: usize) {
        assert!(len > 0 && len <= self.len as usize, "a slot can only shrink, to at least one byte");
        self.len = len as u32;
    }

    /// Submit the frame to the TX ring (the kernel sends it at the next
    /// [`XdpSocket::flush`](crate::afxdp::XdpSocket::flush)).
    ///
    /// A frame shorter than an Ethernet header (14 bytes; an empty one
    /// too) is not submitted: its UMEM frame goes back to the free list and
    /// it counts as [rejected](crate::TxStats::rejected). AF_XDP would send
    /// it (in copy mode the kernel checks no header), and a veth peer would
    /// drop it unseen; AF_PACKET's kernel refuses it (`dev_validate_header()`),
    /// so both paths count it the same.
    pub fn send(mut self) {
        let r = self.reservation.take().expect("a slot holds its reservation until sent");
        let tx = self.tx.ring.as_mut().expect("a slot exists only with a TX ring");
        if (self.len as usize) < ETH_HLEN {
            tx.cancel(r);
            self.tx.meta.cancelled(self.addr);
            self.umem.free(self.addr, State::Slot);
            self.tx.counters.queued += 1;
            self.tx.counters.runts += 1;
            return;
        }
        tx.write(&r, 0, xdp_desc { addr: self.addr, len: self.len, options: self.options });
        self.umem.slot_to_tx(self.addr, self.len, true);
        tx.submit(r);
        self.tx.counters.queued += 1;
    }
}

impl Drop for XdpTxSlot<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reservation.take() {
            if let Some(tx) = self.tx.ring.as_mut() {
                tx.cancel(r);
            }
            self.tx.meta.cancelled(self.addr);
            self.umem.free(self.addr, State::Slot);
        }
    }
}

impl std::ops::Deref for XdpTxSlot<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.umem.slot_bytes(self.addr, self.len)
    }
}

impl std::ops::DerefMut for XdpTxSlot<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }
}

impl SinkSlot for XdpTxSlot<'_> {
    fn send(self) {
        XdpTxSlot::send(self)
    }

    /// The UMEM frame's index in the socket's share of the UMEM.
    fn buffer_index(&self) -> usize {
        self.umem.buffer_of(self.addr)
    }
}
