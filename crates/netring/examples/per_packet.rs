//! The per-packet workloads of `benches/per_packet.rs`, run a given number
//! of times, for instruction counts under callgrind:
//!
//! ```sh
//! cargo build --release -p netring --features _bench,pcap --example per_packet
//! for n in 1000 2000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!     target/release/examples/per_packet walk64 $n
//! done
//! ```
//!
//! Instructions per packet = (Ir at 2000 − Ir at 1000) / (1000 × packets per
//! round); the program prints packets per round. Workloads: `walk64`,
//! `walk1500`, `full64`, `full1500`, `touch64`, `touch1500` (one round = one
//! 1 MiB block), `ring`
//! (one round = 64 descriptors), `filter`, `pcap64`, `pcap1500` (one round =
//! one packet).

use std::hint::black_box;

use netring::bench_internals::XdpRingPair;

#[path = "../benches/workloads.rs"]
mod workloads;
use workloads::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_default();
    let rounds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let per_round = match what.as_str() {
        "walk64" | "walk1500" | "full64" | "full1500" | "touch64" | "touch1500" => {
            let len = if what.ends_with("1500") { 1500 } else { 64 };
            let (b, n) = block(len);
            let f = match &what[..4] {
                "walk" => walk,
                "full" => walk_full,
                _ => walk_touch,
            };
            for _ in 0..rounds {
                black_box(f(&b));
            }
            n as u64
        }
        "ring" => {
            let mut r = XdpRingPair::new(2048);
            for _ in 0..rounds {
                black_box(ring_round(&mut r));
            }
            u64::from(RING_BATCH)
        }
        "filter" => {
            let (p, f, m) = filter_input();
            for _ in 0..rounds {
                black_box(filter_one(&p, &f, &m));
            }
            1
        }
        "pcap64" | "pcap1500" => {
            let (mut w, f) = pcap_input(if what == "pcap64" { 64 } else { 1500 });
            for _ in 0..rounds {
                pcap_one(&mut w, &f);
            }
            1
        }
        _ => {
            eprintln!(
                "usage: per_packet walk64|walk1500|full64|full1500|touch64|touch1500|ring|filter|pcap64|pcap1500 ROUNDS"
            );
            std::process::exit(2);
        }
    };
    println!("{what}: {rounds} rounds x {per_round} packets");
}
