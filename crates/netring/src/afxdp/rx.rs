//! The receive side of an AF_XDP socket: the RX ring and the frames of the
//! batch being lent out, with multi-buffer reassembly.

use super::umem::{State, Umem};
use crate::bpf::{XdpRxMeta, XdpRxMetaPlacement};
use crate::ring::{Consumer, Producer};
use crate::sys::xdp::{self as sx, xdp_desc};

/// One frame of a batch: in the UMEM at `addr`, or (multi-buffer) copied
/// to `reassembly[copied..]`, `addr` then naming its first buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxFrame {
    pub addr: u64,
    pub len: u32,
    pub copied: Option<usize>,
}

/// The RX ring of a socket and the frames of its current batch.
#[derive(Debug)]
pub(crate) struct Receiver {
    ring: Consumer<xdp_desc>,
    /// Frames of the current batch that passed validation.
    valid: Vec<RxFrame>,
    /// Multi-buffer frames of the current batch, copied whole.
    reassembly: Vec<u8>,
    /// Descriptors read in one multi-buffer batch (kept for its capacity).
    descs: Vec<xdp_desc>,
    /// Frames handed out in batches.
    pub(crate) received: u64,
    /// Descriptors refused (a chain counts once).
    pub(crate) skipped: u64,
    /// Where the program writes an [`XdpRxMeta`] area for each frame.
    meta: Option<XdpRxMetaPlacement>,
    /// `CLOCK_TAI − CLOCK_REALTIME` at the current batch (with `meta`).
    pub(crate) tai_offset: i64,
    /// Batches whose first frame had no metadata area although `meta`.
    pub(crate) meta_missing: u64,
}

impl Receiver {
    pub(crate) fn new(ring: Consumer<xdp_desc>, batch_size: u32) -> Self {
        Self {
            ring,
            valid: Vec::with_capacity(batch_size as usize),
            reassembly: Vec::new(),
            descs: Vec::new(),
            received: 0,
            skipped: 0,
            meta: None,
            tai_offset: 0,
            meta_missing: 0,
        }
    }

    /// Where the program writes an [`XdpRxMeta`] area for each frame, if it does.
    pub(crate) fn set_metadata(&mut self, placement: Option<XdpRxMetaPlacement>) {
        self.meta = placement;
    }

    /// Whether frames carry an [`XdpRxMeta`] area (right before their data,
    /// once a prefix is stepped over).
    pub(crate) fn metadata(&self) -> bool {
        self.meta.is_some()
    }

    /// The RX ring.
    pub(crate) fn ring(&self) -> &Consumer<xdp_desc> {
        &self.ring
    }

    /// Frames ready on the RX ring (looking for at least `n`).
    pub(crate) fn available(&mut self, n: u32) -> u32 {
        self.ring.available(n)
    }

    /// The frames of the current batch.
    pub(crate) fn frames(&self) -> &[RxFrame] {
        &self.valid
    }

    /// The bytes of the current batch's reassembled multi-buffer frames.
    pub(crate) fn reassembly(&self) -> &[u8] {
        &self.reassembly
    }

    /// Take up to `max` descriptors off the RX ring into the current batch.
    /// Each is checked against the UMEM before it is believed (refused ones
    /// are counted in `skipped`). `false` when the ring was empty.
    pub(crate) fn take(&mut self, max: u32, multi_buffer: bool, umem: &mut Umem, fill: &mut Producer<u64>) -> bool {
        let rx = &mut self.ring;
        let p = rx.peek(max);
        if p.len() == 0 {
            rx.release(p);
            return false;
        }
        self.valid.clear();
        if multi_buffer {
            let mut descs = std::mem::take(&mut self.descs);
            descs.clear();
            descs.extend((0..p.len()).map(|i| rx.read(&p, i)));
            rx.release(p);
            // The kernel publishes a frame's buffers together: finish a chain
            // the batch size cut.
            while descs.last().is_some_and(|d| d.options & sx::XDP_PKT_CONTD != 0) {
                let q = rx.peek(1);
                if q.len() == 1 {
                    descs.push(rx.read(&q, 0));
                }
                let more = q.len() == 1;
                rx.release(q);
                if !more {
                    break;
                }
            }
            self.accept_chains(&descs, umem, fill);
            self.descs = descs;
        } else {
            let prefix = self.meta == Some(XdpRxMetaPlacement::Prefix);
            let meta_len = XdpRxMeta::LEN as u32;
            for i in 0..p.len() {
                let d = rx.read(&p, i);
                if umem.accept_rx(&d) {
                    // The program grew every frame it delivered by the area:
                    // the frame proper starts after it (see `frame_meta`).
                    let (addr, len) = if prefix && d.len >= meta_len {
                        (d.addr + u64::from(meta_len), d.len - meta_len)
                    } else {
                        (d.addr, d.len)
                    };
                    self.valid.push(RxFrame { addr, len, copied: None });
                } else {
                    self.skipped += 1;
                }
            }
            // The descriptors are copied out; the frames are ours by the frame
            // table until the batch hands them back.
            rx.release(p);
        }
        self.received += self.valid.len() as u64;
        if self.meta.is_some() {
            self.check_metadata(umem);
        }
        true
    }

    /// Per batch: the TAI offset for converting the program's stamps, and
    /// whether the first frame carries its metadata area (a driver or
    /// attach mode that refuses `bpf_xdp_adjust_meta` refuses it for every
    /// frame; warned once per socket).
    fn check_metadata(&mut self, umem: &Umem) {
        self.tai_offset = crate::sys::xdp::tai_offset_ns();
        let Some(first) = self.valid.iter().find(|f| f.copied.is_none()) else { return };
        if frame_meta(umem, first).is_none() {
            if self.meta_missing == 0 {
                tracing::warn!(
                    "AF_XDP frames arrive without the XDP program's metadata area (the driver or attach mode \
                     refuses bpf_xdp_adjust_meta): their timestamps are user space's"
                );
            }
            self.meta_missing += 1;
        }
    }

    /// Multi-buffer receive: single-buffer frames stay in the UMEM; the
    /// buffers of a longer frame are copied, in order, into `reassembly` and
    /// go straight back to the fill ring. A chain with a refused buffer, or
    /// cut off, is dropped whole and counted once.
    fn accept_chains(&mut self, descs: &[xdp_desc], umem: &mut Umem, fill: &mut Producer<u64>) {
        self.reassembly.clear();
        // The frame being assembled: its first buffer and where it starts.
        let mut chain: Option<(u64, usize)> = None;
        // The frame being skipped (one of its buffers was refused).
        let mut broken = false;
        for d in descs {
            let more = d.options & sx::XDP_PKT_CONTD != 0;
            let ok = umem.accept_rx(d);
            if chain.is_none() && !broken && !more {
                if ok {
                    self.valid.push(RxFrame { addr: d.addr, len: d.len, copied: None });
                } else {
                    self.skipped += 1;
                }
                continue;
            }
            if ok {
                if !broken {
                    chain.get_or_insert((d.addr, self.reassembly.len()));
                    self.reassembly.extend_from_slice(umem.rx_bytes(d.addr, d.len));
                }
                give_back(umem, fill, d.addr);
            } else if !broken {
                broken = true;
                self.skipped += 1;
                if let Some((_, start)) = chain.take() {
                    self.reassembly.truncate(start);
                }
            }
            if !more {
                if let Some((addr, start)) = chain.take() {
                    let len = (self.reassembly.len() - start) as u32;
                    self.valid.push(RxFrame { addr, len, copied: Some(start) });
                }
                broken = false;
            }
        }
        if let Some((_, start)) = chain {
            // Cut off: the kernel never publishes part of a frame.
            self.reassembly.truncate(start);
            self.skipped += 1;
        }
    }

    /// The current batch's frames back on the fill ring (when the batch
    /// drops).
    pub(crate) fn return_frames(&mut self, umem: &mut Umem, fill: &mut Producer<u64>) {
        let n = self.valid.iter().filter(|f| f.copied.is_none()).count() as u32;
        let r = fill.reserve(n);
        let mut i = 0;
        for f in self.valid.iter().filter(|f| f.copied.is_none()) {
            if i < r.len() {
                let base = umem.rx_to_fill(f.addr);
                fill.write(&r, i, base);
                i += 1;
            } else {
                umem.free(f.addr, State::Rx);
            }
        }
        fill.submit(r);
        self.valid.clear();
    }
}

/// The [`XdpRxMeta`] area in the 32 bytes before frame `f`, if the program
/// wrote one (a reassembled multi-buffer frame has none: its first buffer
/// is back with the kernel).
#[inline]
pub(crate) fn frame_meta(umem: &Umem, f: &RxFrame) -> Option<XdpRxMeta> {
    if f.copied.is_some() {
        return None;
    }
    let start = f.addr.checked_sub(XdpRxMeta::LEN as u64)?;
    if start < umem.frame_base(f.addr) {
        return None;
    }
    XdpRxMeta::parse(umem.rx_bytes(start, XdpRxMeta::LEN as u32))
}

/// One received frame straight back to the fill ring.
fn give_back(umem: &mut Umem, fill: &mut Producer<u64>, addr: u64) {
    let r = fill.reserve(1);
    if r.len() == 1 {
        let base = umem.rx_to_fill(addr);
        fill.write(&r, 0, base);
    } else {
        umem.free(addr, State::Rx);
    }
    fill.submit(r);
}
