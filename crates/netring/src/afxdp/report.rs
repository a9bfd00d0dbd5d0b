//! What a socket reports about per-frame metadata: [`XdpSocket::rx_metadata`],
//! what its XDP program writes for
//! each received frame (apart from `meta.rs`, which the program setup and
//! the batches use, so that neither depends on the socket).

use super::meta::XdpRxMetadata;
use super::socket::XdpSocket;
use crate::packet::Timestamp;

impl XdpSocket {
    /// What the built-in XDP program writes in front of each received
    /// frame: which timestamps, hash and VLAN fields frames can carry, why
    /// richer ones were not available, and how many batches arrived
    /// without the area. All `false` without the built-in program, or
    /// with [`XdpSocketBuilder::rx_metadata`](crate::XdpSocketBuilder::rx_metadata) off.
    pub fn rx_metadata(&self) -> XdpRxMetadata {
        let mut m = self.program.as_ref().map(|p| p.meta.clone()).unwrap_or_default();
        m.batches_without = self.rx.as_ref().map_or(0, |r| r.meta_missing);
        m
    }

    /// Transmit times of frames that asked for one
    /// ([`XdpTxSlot::request_timestamp`](crate::afxdp::XdpTxSlot::request_timestamp)),
    /// as (token, time) in completion order, taken out. Collects
    /// completions first; call after [`flush`](Self::flush) or
    /// [`wait_drained`](Self::wait_drained).
    pub fn tx_timestamps(&mut self) -> Vec<(u64, Timestamp)> {
        self.tx.complete(&mut self.umem);
        std::mem::take(&mut self.tx.meta.stamps)
    }

    /// Whether the UMEM reserves AF_XDP TX metadata
    /// ([`XdpSocketBuilder::tx_metadata`](crate::XdpSocketBuilder::tx_metadata)).
    pub fn tx_metadata(&self) -> bool {
        self.tx.meta.len > 0
    }
}

/// The receive side of the metadata on rings in heap memory, with
/// `ring::sim` playing the kernel and the test playing the XDP program
/// (writing the area into the frames): no privileges.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::StopHandle;
    use crate::afxdp::link::LinkWatch;
    use crate::afxdp::rx::Receiver;
    use crate::afxdp::tx::Transmitter;
    use crate::afxdp::umem::{State, Umem};
    use crate::bpf::{XDP_RX_META_MAGIC, XdpRxMeta, XdpRxMetaFlags, XdpRxMetaPlacement};
    use crate::packet::{Timestamp, TimestampSource};
    use crate::ring::sim::{self, SimKernel};
    use crate::sys::call::fake;
    use crate::sys::xdp::{self as sx, xdp_desc};

    /// A receive socket over a heap UMEM of 8 frames whose program places
    /// the area as `placement`; frame `i` starts with `head(i)` (written
    /// before the frames are given for receive).
    fn socket(
        placement: XdpRxMetaPlacement,
        head: impl Fn(u64) -> Vec<u8>,
    ) -> (XdpSocket, SimKernel<xdp_desc>, SimKernel<u64>) {
        let fd = {
            let _k = fake::install_default();
            sx::socket().unwrap()
        };
        let (rx, rx_k) = sim::consumer::<xdp_desc>(8, 0);
        let (fill, fill_k) = sim::producer::<u64>(8, 0);
        let (comp, _) = sim::consumer::<u64>(8, 0);
        let mut umem = Umem::heap(2048, 8);
        let mut taken = Vec::new();
        while let Some(a) = umem.take_free() {
            let bytes = head(a / 2048);
            umem.slot_bytes_mut(a, bytes.len() as u32).copy_from_slice(&bytes);
            taken.push(a);
        }
        for a in taken {
            umem.free(a, State::Slot);
        }
        let mut receiver = Receiver::new(rx, 8);
        receiver.set_metadata(Some(placement));
        let mut sock = XdpSocket {
            program: None,
            rx: Some(receiver),
            tx: Transmitter::new(None, comp, false, false),
            fill,
            fd,
            umem,
            interface: "sim0".into(),
            ifindex: 7,
            queue: 0,
            need_wakeup: false,
            busy_poll: None,
            multi_buffer: false,
            max_tx_len: 1514,
            batch_size: 8,
            stop: StopHandle::new().unwrap(),
            link: LinkWatch::new(),
        };
        assert_eq!(sock.refill(8), 8);
        (sock, rx_k, fill_k)
    }

    fn meta(i: u64) -> [u8; 32] {
        XdpRxMeta {
            program_time: 1_700_000_000_000_000_000 + i * 1000,
            rx_hash: 0xabc0 + i as u32,
            flags: (XdpRxMetaFlags::PROGRAM_TIME | XdpRxMetaFlags::RX_HASH).bits(),
            magic: XDP_RX_META_MAGIC,
            ..XdpRxMeta::default()
        }
        .to_bytes()
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads CLOCK_TAI, which Miri does not provide")]
    fn a_prefix_is_stepped_over_and_gives_each_frame_its_time_and_hash() {
        let (mut sock, rx_k, fill_k) = socket(XdpRxMetaPlacement::Prefix, |i| {
            let mut b = meta(i).to_vec();
            b.extend(std::iter::repeat_n(i as u8, 60));
            b
        });
        let addrs = fill_k.consume(3);
        let descs: Vec<xdp_desc> = addrs.iter().map(|&addr| xdp_desc { addr, len: 32 + 60, options: 0 }).collect();
        rx_k.produce(&descs);
        let off = crate::sys::xdp::tai_offset_ns() as u64;
        let b = sock.next_batch().expect("three frames");
        let got: Vec<_> =
            b.iter().map(|p| (p.data().to_vec(), p.timestamp(), p.timestamp_source(), p.rxhash())).collect();
        assert_eq!(got.len(), 3);
        for ((data, ts, source, hash), &addr) in got.into_iter().zip(&addrs) {
            let i = addr / 2048;
            assert_eq!(data, vec![i as u8; 60], "the frame without its prefix");
            assert_eq!(source, TimestampSource::XdpProgram);
            assert_eq!(ts, Timestamp::from_nanos(1_700_000_000_000_000_000 + i * 1000 - off));
            assert_eq!(hash, 0xabc0 + i as u32);
        }
        drop(b);
        assert_eq!(sock.rx_metadata().batches_without, 0);
    }

    #[test]
    fn frames_without_the_area_carry_user_time_and_are_counted_per_batch() {
        // The program's area was refused: nothing was written before the data.
        let (mut sock, rx_k, fill_k) = socket(XdpRxMetaPlacement::BeforeData, |_| vec![0; 64]);
        for _ in 0..2 {
            let addrs = fill_k.consume(2);
            // The kernel's headroom: data 256 bytes into the frame.
            let descs: Vec<xdp_desc> = addrs.iter().map(|&a| xdp_desc { addr: a + 256, len: 60, options: 0 }).collect();
            rx_k.produce(&descs);
            let before = Timestamp::now();
            let b = sock.next_batch_blocking(Some(Duration::ZERO)).unwrap().expect("two frames");
            let stamps: Vec<_> = b.iter().map(|p| (p.timestamp(), p.timestamp_source(), p.rxhash())).collect();
            assert_eq!(stamps.len(), 2);
            assert!(stamps.iter().all(|&(t, s, h)| s == TimestampSource::User && t >= before && h == 0), "{stamps:?}");
            assert_eq!(stamps[0].0, stamps[1].0, "one time for the batch");
        }
        assert_eq!(sock.rx_metadata().batches_without, 2);
    }
}
