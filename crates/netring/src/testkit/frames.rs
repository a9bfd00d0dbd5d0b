//! Numbered Ethernet frames for generators, tests and benchmarks.
//!
//! A frame is an Ethernet header, a 64-bit big-endian sequence number, and
//! filler bytes derived from the sequence number: every frame is distinct
//! and a receiver can check it byte for byte from its sequence number alone.
//! The default EtherType is 0x88b5 (IEEE 802 local experimental), which no
//! protocol stack acts on.

/// IEEE 802 local experimental EtherType 1.
pub const EXPERIMENTAL_ETHERTYPE: u16 = 0x88b5;

/// Builds and checks numbered frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqFrames {
    /// Destination MAC.
    pub dst: [u8; 6],
    /// Source MAC.
    pub src: [u8; 6],
    /// EtherType.
    pub ethertype: u16,
}

impl Default for SeqFrames {
    /// `02:00:00:00:00:01 > 02:00:00:00:00:02`, EtherType 0x88b5.
    fn default() -> Self {
        Self { dst: [2, 0, 0, 0, 0, 2], src: [2, 0, 0, 0, 0, 1], ethertype: EXPERIMENTAL_ETHERTYPE }
    }
}

impl SeqFrames {
    /// Smallest frame: Ethernet header + sequence number.
    pub const MIN_LEN: usize = 22;

    /// Fill `buf` (its whole length, at least [`MIN_LEN`](Self::MIN_LEN))
    /// with frame `seq`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`MIN_LEN`](Self::MIN_LEN).
    pub fn fill(&self, seq: u64, buf: &mut [u8]) {
        assert!(buf.len() >= Self::MIN_LEN, "a numbered frame needs {} bytes", Self::MIN_LEN);
        buf[0..6].copy_from_slice(&self.dst);
        buf[6..12].copy_from_slice(&self.src);
        buf[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
        buf[14..22].copy_from_slice(&seq.to_be_bytes());
        fill_pattern(seq, &mut buf[22..]);
    }

    /// Frame `seq` of `len` bytes.
    pub fn build(&self, seq: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len.max(Self::MIN_LEN)];
        self.fill(seq, &mut v);
        v
    }

    /// The sequence number of `data` if it is one of these frames (same
    /// EtherType), whether or not the rest checks out.
    pub fn seq(&self, data: &[u8]) -> Option<u64> {
        (data.len() >= Self::MIN_LEN && data[12..14] == self.ethertype.to_be_bytes())
            .then(|| u64::from_be_bytes(data[14..22].try_into().expect("8 bytes")))
    }

    /// The sequence number of `data` if every byte is exactly what
    /// [`fill`](Self::fill) writes (a truncated capture checks its prefix).
    pub fn verify(&self, data: &[u8]) -> Option<u64> {
        let seq = self.seq(data)?;
        if data[0..6] != self.dst || data[6..12] != self.src {
            return None;
        }
        let mut expect = [0u8; 256]; // a multiple of 8: the pattern continues across chunks
        let mut state = pattern_seed(seq);
        for chunk in data[22..].chunks(expect.len()) {
            let e = &mut expect[..chunk.len()];
            state = pattern_step(state, e);
            if chunk != e {
                return None;
            }
        }
        Some(seq)
    }
}

fn pattern_seed(seq: u64) -> u64 {
    seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1
}

/// xorshift64 output, eight bytes per step, continuing from `state`;
/// returns the new state. Callers continue a pattern only at multiples of 8.
fn pattern_step(mut x: u64, out: &mut [u8]) -> u64 {
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    x
}

pub(super) fn fill_pattern(seq: u64, out: &mut [u8]) {
    pattern_step(pattern_seed(seq), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_verify() {
        let f = SeqFrames::default();
        for len in [22, 60, 300, 1514, 9000] {
            let v = f.build(42, len);
            assert_eq!(v.len(), len);
            assert_eq!(f.verify(&v), Some(42));
            assert_eq!(f.verify(&v[..len.min(100)]), Some(42), "a prefix verifies");
        }
        let mut v = f.build(7, 100);
        v[99] ^= 1;
        assert_eq!(f.verify(&v), None);
        assert_eq!(f.seq(&v), Some(7));
        assert_ne!(f.build(1, 60), f.build(2, 60));
    }

    #[test]
    fn other_ethertypes_are_not_ours() {
        let f = SeqFrames::default();
        let g = SeqFrames { ethertype: 0x88b6, ..f };
        assert_eq!(f.seq(&g.build(1, 60)), None);
        assert_eq!(f.seq(&[0; 10]), None);
    }
}
