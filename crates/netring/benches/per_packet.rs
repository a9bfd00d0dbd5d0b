//! Per-packet cost of netring's hot paths, without privileges or a network:
//!
//! ```sh
//! cargo bench -p netring --features _bench,pcap --bench per_packet
//! ```
//!
//! * `block_walk/{meta,full_meta,touch}/{64,1500}`: walking a TPACKET_V3
//!   block built in heap memory (1 MiB, packed with frames), reading length
//!   and timestamp, copying out all metadata, or reading every payload byte
//!   too; throughput is per packet.
//! * `xdp_ring/*`: the AF_XDP ring protocol, batches of 64 descriptors:
//!   produce + consume (both halves are netring's code), and consume alone
//!   (peek, read, release; the produce step is left out of the timing).
//! * `filter/interp`: the classic BPF interpreter over one IPv4/TCP packet.
//! * `pcap/write/{64,1500}`: one pcap record through a `BufWriter` into `io::sink()`.
//!
//! Results are in docs/PERFORMANCE.md; `examples/per_packet.rs` runs the
//! same workloads under callgrind for instructions per packet.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netring::bench_internals::XdpRingPair;

mod workloads;
use workloads::*;

fn block_walk(c: &mut Criterion) {
    let mut g = c.benchmark_group("block_walk");
    for len in [64usize, 1500] {
        let (b, n) = block(len);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("meta/{len}"), |x| x.iter(|| walk(&b)));
        g.bench_function(format!("full_meta/{len}"), |x| x.iter(|| walk_full(&b)));
        g.bench_function(format!("touch/{len}"), |x| x.iter(|| walk_touch(&b)));
    }
    g.finish();
}

fn xdp_ring(c: &mut Criterion) {
    let mut g = c.benchmark_group("xdp_ring");
    g.throughput(Throughput::Elements(u64::from(RING_BATCH)));
    let mut r = XdpRingPair::new(2048);
    g.bench_function("produce_consume", |x| x.iter(|| ring_round(&mut r)));
    let mut r = XdpRingPair::new(2048);
    g.bench_function("consume", |x| {
        x.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                r.produce(RING_BATCH, 60);
                let t = Instant::now();
                black_box(r.consume(RING_BATCH));
                spent += t.elapsed();
            }
            spent
        })
    });
    g.finish();
}

fn filter(c: &mut Criterion) {
    let (program, frame, meta) = filter_input();
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(1));
    g.bench_function("interp", |x| x.iter(|| filter_one(&program, &frame, &meta)));
    g.finish();
}

fn pcap(c: &mut Criterion) {
    let mut g = c.benchmark_group("pcap");
    g.throughput(Throughput::Elements(1));
    for len in [64usize, 1500] {
        let (mut w, f) = pcap_input(len);
        g.bench_function(format!("write/{len}"), |x| x.iter(|| pcap_one(&mut w, &f)));
    }
    g.finish();
}

criterion_group!(benches, block_walk, xdp_ring, filter, pcap);
criterion_main!(benches);
