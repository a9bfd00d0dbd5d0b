//! Interpreter cost per packet, ours and libpcap's program side by side:
//!
//! ```sh
//! cargo run --release -p netring --example filter_bench
//! ```
//!
//! Runs each program over the whole packet corpus of the filter tests
//! (crafted + generated frames), 7 repetitions interleaved, and prints the
//! median and the spread (min..max) in nanoseconds per packet.

#[path = "../tests/common/filter_corpus.rs"]
#[expect(dead_code, reason = "the corpus module serves the tests too")]
mod filter_corpus;

use std::hint::black_box;
use std::time::Instant;

use filter_corpus::{Reference, packets, references};
use netring::filter::{FilterMeta, Instruction, expr, interp};

const EXPRESSIONS: &[&str] = &[
    "ip",
    "tcp",
    "host 198.18.0.1",
    "tcp port 80",
    "port 80 or port 443",
    "tcp dst port 443 and not net 198.19.0.0/16",
    "ether src 02:00:00:00:00:01 and ip6 net 2001:2::/48",
    "portrange 80-90",
    "vlan and tcp port 80",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0",
    "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
    "ip[0] + ip[1] = 0x45",
];
const REPS: usize = 7;
const ROUNDS: usize = 40;

fn time(p: &[Instruction], frames: &[(Vec<u8>, FilterMeta)]) -> f64 {
    let t0 = Instant::now();
    let mut accepted = 0u64;
    for _ in 0..ROUNDS {
        for (data, meta) in frames {
            accepted += u64::from(interp::run(black_box(p), black_box(data), meta) != 0);
        }
    }
    black_box(accepted);
    t0.elapsed().as_nanos() as f64 / (ROUNDS * frames.len()) as f64
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!("{:6.1} ns ({:.1}..{:.1})", v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let frames: Vec<(Vec<u8>, FilterMeta)> = packets(5000)
        .into_iter()
        .map(|f| {
            let m = FilterMeta::for_capture(&f.data, f.wire_len);
            (f.data, m)
        })
        .collect();
    let refs = references();
    println!("{} frames x {ROUNDS} rounds, {REPS} repetitions; ns/packet median (min..max)", frames.len());
    println!("{:<52} {:>5} {:>28} {:>5} {:>28}", "expression", "ours", "", "pcap", "");
    for e in EXPRESSIONS {
        let ours = expr::compile(e, 262_144).expect("compiles");
        let theirs = match refs.get(*e) {
            Some(Reference::Program(p)) => p.clone(),
            _ => panic!("{e:?} has no libpcap reference in tests/data/filter/reference.txt"),
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..REPS {
            a.push(time(ours.instructions(), &frames));
            b.push(time(&theirs, &frames));
        }
        println!("{e:<52} {:>5} {:>28} {:>5} {:>28}", ours.len(), summary(a), theirs.len(), summary(b));
    }
}
