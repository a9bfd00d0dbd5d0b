//! Hooks for this repository's benchmarks (`benches/per_packet.rs`,
//! `examples/per_packet.rs`): inputs built in heap memory, and the AF_XDP
//! ring protocol with both halves in user space. Behind the private
//! `_bench` feature; **not part of the API**, no stability promise.

use crate::afpacket::block::fixture::{Frame, craft_block};
use crate::ring::{Consumer, HeapRing, Producer};
use crate::sys::xdp::xdp_desc;

/// A TPACKET_V3 block of `block_size` bytes holding `frames`, laid out as
/// the kernel's `tpacket_rcv` lays them out (walk it with
/// [`BlockPackets::from_block`](crate::BlockPackets::from_block)).
///
/// # Panics
/// If the frames do not fit the block.
pub fn v3_block(block_size: usize, frames: &[&[u8]]) -> Vec<u8> {
    let frames: Vec<Frame<'_>> =
        frames.iter().map(|d| Frame { data: d, wire_len: d.len() as u32, status: 0, pkttype: 0, ts: (1, 2) }).collect();
    craft_block(block_size, &frames, 0)
}

/// An AF_XDP descriptor ring on the heap with a user-space producer (as
/// the kernel fills an RX ring) and the consumer `XdpSocket` uses.
#[derive(Debug)]
pub struct XdpRingPair {
    producer: Producer<xdp_desc>,
    consumer: Consumer<xdp_desc>,
    next_addr: u64,
}

impl XdpRingPair {
    /// A ring of `size` descriptors (a power of two).
    ///
    /// # Panics
    /// If `size` is not a power of two.
    pub fn new(size: u32) -> Self {
        let (producer, consumer) = HeapRing::pair(size).expect("a power-of-two ring size");
        Self { producer, consumer, next_addr: 0 }
    }

    /// Produce up to `n` descriptors of `len` bytes (reserve, write,
    /// submit); returns how many fit.
    pub fn produce(&mut self, n: u32, len: u32) -> u32 {
        let r = self.producer.reserve(n);
        for i in 0..r.len() {
            self.producer.write(&r, i, xdp_desc { addr: self.next_addr, len, options: 0 });
            self.next_addr = (self.next_addr + 2048) & 0x7f_ffff;
        }
        let done = r.len();
        self.producer.submit(r);
        done
    }

    /// Consume up to `n` descriptors as `XdpSocket::next_batch` does (peek,
    /// read each by value, release); returns the sum of their lengths and
    /// addresses, so no read can be optimised away.
    pub fn consume(&mut self, n: u32) -> u64 {
        let p = self.consumer.peek(n);
        let mut sum = 0u64;
        for i in 0..p.len() {
            let d = self.consumer.read(&p, i);
            sum = sum.wrapping_add(d.addr).wrapping_add(u64::from(d.len));
        }
        self.consumer.release(p);
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_round_trips_and_wraps() {
        let mut r = XdpRingPair::new(64);
        let mut total = 0u64;
        for _ in 0..10 {
            assert_eq!(r.produce(48, 60), 48);
            total += r.consume(64);
        }
        assert_eq!(r.consume(64), 0);
        assert!(total >= 480 * 60);
        assert_eq!(r.produce(100, 60), 64, "a full ring takes no more");
    }

    #[test]
    fn crafted_block_walks() {
        let a = [1u8; 60];
        let b = [2u8; 1500];
        let block = v3_block(1 << 16, &[&a, &b, &a]);
        let lens: Vec<usize> = crate::BlockPackets::from_block(&block).map(|p| p.len()).collect();
        assert_eq!(lens, [60, 1500, 60]);
    }
}
