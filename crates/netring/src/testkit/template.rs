//! [`FrameGen`]: numbered frames written into a [`PacketSink`]'s slots as
//! a template once per buffer, then only the bytes that vary.
//!
//! A sink's buffers keep their bytes between laps (see [`SinkSlot`]), so
//! after a buffer got the template for the current frame length, a frame
//! costs the write of its 8-byte sequence number — with flows, also 12
//! bytes of addresses and ports and two checksums — whatever its length.

use super::flows::{FlowTable, Flows, PAYLOAD_OFFSET, sum16};
use super::frames::{SeqFrames, fill_pattern};
use crate::source::{PacketSink, SinkSlot};

/// What follows a frame's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Payload {
    /// Constant filler: the bytes [`Pattern`](Self::Pattern) writes for
    /// sequence number 0 at the same offsets. Written once per buffer: a
    /// frame costs its sequence number (and flow fields).
    #[default]
    Seq,
    /// Zeros, written once per buffer.
    Zero,
    /// Bytes derived from the sequence number (the [`SeqFrames`] pattern),
    /// so a receiver can check every byte. Every byte of every frame is
    /// computed and written: costlier, the more so the longer the frame.
    Pattern,
}

/// Writes numbered frames into a sink's slots: raw Ethernet frames of
/// [`SeqFrames`] (Ethernet header, 64-bit big-endian sequence number at
/// offset 14, payload), or, with [`Flows`], IPv4/UDP frames whose UDP
/// payload starts with the sequence number, frame `seq` in flow
/// `seq mod count`, checksums valid.
///
/// It keeps, per buffer of the sink, which template the buffer holds, and
/// writes the template again when the frame length changes, when the
/// sink's [`buffer_generation`](PacketSink::buffer_generation) moved, or
/// with [`Payload::Pattern`] (whose every byte varies). No allocation per
/// frame.
///
/// ```no_run
/// use netring::testkit::{FrameGen, Payload, SeqFrames};
/// use netring::{PacketSink, SinkSlot};
///
/// let mut inj = netring::Injector::open("veth0")?;
/// let mut frames = FrameGen::new(&inj, SeqFrames::default(), Payload::Seq, None);
/// for seq in 0..1_000_000u64 {
///     let generation = inj.buffer_generation();
///     let mut slot = inj.allocate_blocking(1514, None)?.expect("no timeout");
///     frames.write(&mut slot, generation, seq);
///     slot.send();
///     if seq % 64 == 63 {
///         inj.flush()?;
///     }
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameGen {
    frames: SeqFrames,
    payload: Payload,
    flows: Option<Flows>,
    table: FlowTable,
    /// The template of the current length.
    template: Vec<u8>,
    /// One's-complement sum of the template's payload after the sequence
    /// number (flows only).
    filler_sum: u32,
    /// The stamp of the template each buffer holds (0: none).
    written: Vec<u64>,
    /// The current template's stamp.
    stamp: u64,
    generation: u64,
}

impl FrameGen {
    /// A writer for `sink`'s buffers: frames from `frames`' addresses
    /// (its EtherType is replaced by IPv4's with `flows`), filled per
    /// `payload`.
    ///
    /// # Panics
    /// If `flows` fails [`Flows::check`].
    pub fn new<S: PacketSink>(sink: &S, frames: SeqFrames, payload: Payload, flows: Option<Flows>) -> Self {
        if let Some(f) = &flows {
            f.check().expect("checked flows");
        }
        Self {
            frames,
            payload,
            flows,
            table: FlowTable::default(),
            template: Vec::new(),
            filler_sum: 0,
            written: vec![0; sink.buffer_count()],
            stamp: 0,
            generation: 0,
        }
    }

    /// Offset of the sequence number in a frame.
    pub fn seq_offset(&self) -> usize {
        if self.flows.is_some() { PAYLOAD_OFFSET } else { SeqFrames::MIN_LEN - 8 }
    }

    /// The smallest frame: headers and the sequence number.
    pub fn min_len(&self) -> usize {
        self.seq_offset() + 8
    }

    /// Build the template for `len`-byte frames and invalidate every buffer.
    fn retemplate(&mut self, len: usize) {
        self.stamp += 1;
        self.template.clear();
        self.template.resize(len, 0);
        let body = self.seq_offset() + 8;
        let t = &mut self.template;
        t[0..6].copy_from_slice(&self.frames.dst);
        t[6..12].copy_from_slice(&self.frames.src);
        match &self.flows {
            None => t[12..14].copy_from_slice(&self.frames.ethertype.to_be_bytes()),
            Some(f) => {
                t[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
                t[14..PAYLOAD_OFFSET].copy_from_slice(&Flows::headers(len));
                f.prepare(len, &mut self.table);
            }
        }
        if self.payload == Payload::Seq {
            fill_pattern(0, &mut t[body..]);
        }
        self.filler_sum = sum16(&t[body..]);
    }

    /// Write frame `seq` into `slot`, whose length is the frame's
    /// (at least [`min_len`](Self::min_len)). `generation` is the sink's
    /// [`buffer_generation`](PacketSink::buffer_generation), read before
    /// the slot was allocated (the slot borrows the sink).
    ///
    /// # Panics
    /// If the slot is shorter than [`min_len`](Self::min_len).
    #[inline]
    pub fn write<K: SinkSlot>(&mut self, slot: &mut K, generation: u64, seq: u64) {
        let len = slot.len();
        assert!(len >= self.min_len(), "a numbered frame needs {} bytes", self.min_len());
        if len != self.template.len() || generation != self.generation {
            self.generation = generation;
            self.retemplate(len);
        }
        let at = self.seq_offset();
        let i = slot.buffer_index();
        let frame: &mut [u8] = slot;
        match self.payload {
            Payload::Pattern => {
                frame[..at].copy_from_slice(&self.template[..at]);
                fill_pattern(seq, &mut frame[at + 8..]);
            }
            Payload::Seq | Payload::Zero => {
                if self.written.get(i) != Some(&self.stamp) {
                    frame.copy_from_slice(&self.template);
                    if let Some(w) = self.written.get_mut(i) {
                        *w = self.stamp;
                    }
                }
            }
        }
        frame[at..at + 8].copy_from_slice(&seq.to_be_bytes());
        if self.flows.is_some() {
            let filler = match self.payload {
                Payload::Pattern => sum16(&frame[at + 8..]),
                _ => self.filler_sum,
            };
            let k = (seq % self.table.len() as u64) as usize;
            self.table.write(k, frame, filler + sum16(&frame[at..at + 8]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;
    use crate::source::TxStats;
    use std::time::Duration;

    /// A sink of `n` heap buffers handed out in turn, which keep their
    /// bytes, and records what was sent.
    struct Laps {
        bufs: Vec<Vec<u8>>,
        next: usize,
        sent: Vec<Vec<u8>>,
        generation: u64,
    }

    struct Slot<'a> {
        sink: &'a mut Laps,
        len: usize,
    }

    impl std::ops::Deref for Slot<'_> {
        type Target = [u8];
        fn deref(&self) -> &[u8] {
            &self.sink.bufs[self.sink.next][..self.len]
        }
    }

    impl std::ops::DerefMut for Slot<'_> {
        fn deref_mut(&mut self) -> &mut [u8] {
            let i = self.sink.next;
            &mut self.sink.bufs[i][..self.len]
        }
    }

    impl SinkSlot for Slot<'_> {
        fn send(self) {
            let i = self.sink.next;
            let f = self.sink.bufs[i][..self.len].to_vec();
            self.sink.sent.push(f);
            self.sink.next = (i + 1) % self.sink.bufs.len();
        }
        fn buffer_index(&self) -> usize {
            self.sink.next
        }
    }

    impl PacketSink for Laps {
        type Slot<'a> = Slot<'a>;
        fn max_frame_len(&self) -> usize {
            2048
        }
        fn allocate(&mut self, len: usize) -> Result<Option<Slot<'_>>> {
            Ok(Some(Slot { sink: self, len }))
        }
        fn allocate_blocking(&mut self, len: usize, _: Option<Duration>) -> Result<Option<Slot<'_>>> {
            self.allocate(len)
        }
        fn flush(&mut self) -> Result<()> {
            Ok(())
        }
        fn wait_drained(&mut self, _: Option<Duration>) -> Result<bool> {
            Ok(true)
        }
        fn tx_stats(&mut self) -> TxStats {
            TxStats::default()
        }
        fn buffer_count(&self) -> usize {
            self.bufs.len()
        }
        fn buffer_generation(&self) -> u64 {
            self.generation
        }
    }

    fn run(sink: &mut Laps, g: &mut FrameGen, seqs: std::ops::Range<u64>, len: usize) {
        for seq in seqs {
            let generation = sink.buffer_generation();
            let mut slot = sink.allocate(len).unwrap().unwrap();
            g.write(&mut slot, generation, seq);
            slot.send();
        }
    }

    /// What frame `seq` of `len` bytes must be, from `SeqFrames` alone.
    fn expected(payload: Payload, seq: u64, len: usize) -> Vec<u8> {
        let f = SeqFrames::default();
        match payload {
            Payload::Pattern => f.build(seq, len),
            Payload::Seq => {
                let mut v = f.build(0, len);
                v[14..22].copy_from_slice(&seq.to_be_bytes());
                v
            }
            Payload::Zero => {
                let mut v = vec![0; len];
                v[..22].copy_from_slice(&f.build(seq, 22));
                v
            }
        }
    }

    #[test]
    fn every_payload_is_exact_over_laps_size_changes_and_rewrites() {
        for payload in [Payload::Seq, Payload::Zero, Payload::Pattern] {
            // Buffers full of junk, as after received frames.
            let mut sink = Laps { bufs: vec![vec![0xee; 2048]; 7], next: 0, sent: Vec::new(), generation: 0 };
            let mut g = FrameGen::new(&sink, SeqFrames::default(), payload, None);
            run(&mut sink, &mut g, 0..50, 1514); // 7 laps and more
            run(&mut sink, &mut g, 50..80, 60); // shorter: the old tail must not leak
            run(&mut sink, &mut g, 80..100, 700); // longer again
            sink.bufs[3].fill(0x11); // the sink rewrote a buffer …
            sink.generation += 1; // … and says so
            run(&mut sink, &mut g, 100..130, 700);
            for (seq, f) in sink.sent.iter().enumerate() {
                let len = match seq {
                    0..50 => 1514,
                    50..80 => 60,
                    _ => 700,
                };
                assert_eq!(f, &expected(payload, seq as u64, len), "{payload:?} frame {seq}");
            }
        }
    }

    #[test]
    fn flows_take_turns_and_carry_valid_checksums() {
        use super::super::flows::fold;
        let flows = Flows { count: 5, ..Flows::default() };
        for payload in [Payload::Seq, Payload::Zero, Payload::Pattern] {
            let mut sink = Laps { bufs: vec![vec![0; 2048]; 3], next: 0, sent: Vec::new(), generation: 0 };
            let mut g = FrameGen::new(&sink, SeqFrames::default(), payload, Some(flows.clone()));
            run(&mut sink, &mut g, 0..20, 100);
            run(&mut sink, &mut g, 20..40, 61);
            for (seq, f) in sink.sent.iter().enumerate() {
                let (s, d, sp, dp) = flows.tuple((seq % 5) as u32);
                assert_eq!(&f[12..14], &[8, 0]);
                assert_eq!((&f[26..30], &f[30..34]), (&s.octets()[..], &d.octets()[..]), "frame {seq}");
                assert_eq!((&f[34..36], &f[36..38]), (&sp.to_be_bytes()[..], &dp.to_be_bytes()[..]));
                assert_eq!(&f[42..50], &(seq as u64).to_be_bytes());
                assert_eq!(fold(sum16(&f[14..34])), 0xffff, "IPv4 checksum of frame {seq}");
                let mut pseudo = f[26..34].to_vec();
                pseudo.extend([0, 17]);
                pseudo.extend(((f.len() - 34) as u16).to_be_bytes());
                assert_eq!(fold(sum16(&pseudo) + sum16(&f[34..])), 0xffff, "UDP checksum of frame {seq}");
            }
        }
    }
}
