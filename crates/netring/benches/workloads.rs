//! The per-packet workloads, shared by the criterion benchmark
//! (`benches/per_packet.rs`) and the callgrind driver
//! (`examples/per_packet.rs`), so both measure the same code.

use std::hint::black_box;

use netring::BlockPackets;
use netring::bench_internals::{XdpRingPair, v3_block};
use netring::filter::{FilterMeta, Program};
use netring::pcap::PcapWriter;
use netring::testkit::SeqFrames;

/// Bytes per block in the block-walk inputs (the default ring's block).
pub const BLOCK_SIZE: usize = 1 << 20;
/// Descriptors per batch in the ring workload (`XdpSocket`'s default).
pub const RING_BATCH: u32 = 64;

/// A 1 MiB TPACKET_V3 block packed with numbered frames of `len` bytes;
/// returns the block and how many packets it holds.
pub fn block(len: usize) -> (Vec<u8>, usize) {
    let per = (len + 82).next_multiple_of(16); // header, sockaddr_ll, padding, frame: aligned
    let n = (BLOCK_SIZE - 48) / per - 1;
    let frames: Vec<Vec<u8>> = (0..n as u64).map(|s| SeqFrames::default().build(s, len)).collect();
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    (v3_block(BLOCK_SIZE, &refs), n)
}

/// Walk every packet of `block`, reading its length and timestamp: the
/// walker itself (metadata nobody reads is not decoded).
#[inline(never)]
pub fn walk(block: &[u8]) -> u64 {
    let mut sum = 0u64;
    for p in BlockPackets::from_block(black_box(block)) {
        sum = sum.wrapping_add(p.len() as u64).wrapping_add(p.timestamp().as_nanos());
    }
    sum
}

/// Walk every packet of `block` and copy out its whole metadata
/// (`Packet::meta`: timestamp, lengths, status, direction, VLAN, rxhash,
/// link-layer address): the walker with nothing left undecoded.
#[inline(never)]
pub fn walk_full(block: &[u8]) -> u64 {
    let mut sum = 0u64;
    for p in BlockPackets::from_block(black_box(block)) {
        let m = black_box(*p.meta());
        sum = sum.wrapping_add(u64::from(m.original_len));
    }
    sum
}

/// Walk every packet of `block` and read every byte of it (summed as
/// 64-bit words): the walker plus the memory traffic of the payload.
#[inline(never)]
pub fn walk_touch(block: &[u8]) -> u64 {
    let mut sum = 0u64;
    for p in BlockPackets::from_block(black_box(block)) {
        let d = p.data();
        let mut words = d.chunks_exact(8);
        for w in &mut words {
            sum = sum.wrapping_add(u64::from_ne_bytes(w.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            sum = sum.wrapping_add(u64::from(b));
        }
    }
    sum
}

/// One batch through the AF_XDP ring protocol: `RING_BATCH` descriptors
/// produced (reserve, write, submit) and consumed (peek, read, release).
#[inline(never)]
pub fn ring_round(r: &mut XdpRingPair) -> u64 {
    r.produce(RING_BATCH, 60);
    r.consume(RING_BATCH)
}

/// An IPv4/TCP frame (198.18.0.1:40000 > 198.18.0.2:443) of `len` bytes.
pub fn tcp_frame(len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(54)];
    f[..12].copy_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    f[16..18].copy_from_slice(&((len.max(54) - 14) as u16).to_be_bytes());
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&[198, 18, 0, 1]);
    f[30..34].copy_from_slice(&[198, 18, 0, 2]);
    f[34..36].copy_from_slice(&40000u16.to_be_bytes());
    f[36..38].copy_from_slice(&443u16.to_be_bytes());
    f[46] = 0x50;
    f
}

/// The filter expression of the interpreter workload.
pub const FILTER: &str = "tcp dst port 443 and not net 198.19.0.0/16";

/// The compiled [`FILTER`] and its input.
pub fn filter_input() -> (Program, Vec<u8>, FilterMeta) {
    let program = Program::compile(FILTER, 262_144).expect("compiles");
    let frame = tcp_frame(64);
    let meta = FilterMeta::for_capture(&frame, frame.len() as u32);
    (program, frame, meta)
}

/// Run the filter over one packet.
#[inline(never)]
pub fn filter_one(program: &Program, frame: &[u8], meta: &FilterMeta) -> u32 {
    program.run(black_box(frame), meta)
}

/// The pcap writer of the workload: through a `BufWriter` into
/// `io::sink()` (the record encoding alone; `examples/write_path.rs`
/// measures the writers into a file).
pub type Pcap = PcapWriter<std::io::BufWriter<std::io::Sink>>;

/// A pcap writer and a frame of `len` bytes.
pub fn pcap_input(len: usize) -> (Pcap, Vec<u8>) {
    let w = PcapWriter::new(std::io::BufWriter::new(std::io::sink()), 262_144).expect("header");
    (w, SeqFrames::default().build(1, len))
}

/// Write one record (header + data) through the writer.
#[inline(never)]
pub fn pcap_one(w: &mut Pcap, frame: &[u8]) {
    w.write(netring::Timestamp::new(1, 2), frame.len() as u32, black_box(frame)).expect("sink never fails");
}
