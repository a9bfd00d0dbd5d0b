//! The recorder's write path in isolation: packets of a 1 MiB TPACKET_V3
//! block (built in heap memory) written to a file, block after block, by
//! each writer; CPU time of the writing thread (user + kernel) per packet,
//! runs interleaved, medians.
//!
//! ```sh
//! cargo build --release -p netring --features _bench,pcap --example write_path
//! target/release/examples/write_path /dev/shm 5      # a tmpfs; 5 repetitions
//! ```
//!
//! Writers: `batch` (`write_batch`: gather I/O from the block, one
//! `writev` per block, short packets copied), `per-packet` (`write_packet`
//! into the record buffer, then large `write`s: the path before issue 17),
//! `bufwriter` (`PcapWriter` over a 1 MiB `BufWriter`), each for pcap, and
//! `batch` / `per-packet` for pcapng; and `zstd`, `gzip` (`write_batch`
//! into a compressed file): wall time until the file is complete, since
//! another thread compresses (the frames' filler does not compress: a
//! worst case).

use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use netring::pcap::{CaptureWriter, Compression, FileFormat, PcapWriter};
use netring::testkit::thread_cpu_time;
use netring::{BlockPackets, LinkType};

#[path = "../benches/workloads.rs"]
#[allow(dead_code, reason = "shared with the per-packet benchmark")]
mod workloads;

/// Blocks written per run.
const BLOCKS: usize = 400;

fn run(dir: &Path, how: &str, format: FileFormat, block: &[u8]) -> Duration {
    let path = dir.join(format!("write-path-{}.cap", std::process::id()));
    let t0 = thread_cpu_time();
    let wall = std::time::Instant::now();
    match how {
        "bufwriter" => {
            let f = std::fs::File::create(&path).unwrap();
            let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, f), 65535).unwrap();
            for _ in 0..BLOCKS {
                for p in BlockPackets::from_block(block) {
                    w.write_packet(&p).unwrap();
                }
            }
            w.into_inner().unwrap();
        }
        "zstd" | "gzip" => {
            let c = if how == "zstd" { Compression::Zstd } else { Compression::Gzip };
            let mut w = CaptureWriter::create_compressed(&path, format, c, 65535, LinkType::Ethernet, None).unwrap();
            for _ in 0..BLOCKS {
                w.write_batch(BlockPackets::from_block(block)).unwrap();
            }
            w.finish(None).unwrap();
            // Compressed by another thread: the time until the file is complete.
            std::fs::remove_file(&path).unwrap();
            return wall.elapsed();
        }
        _ => {
            let mut w = CaptureWriter::create(&path, format, 65535, None).unwrap();
            for _ in 0..BLOCKS {
                if how == "batch" {
                    w.write_batch(BlockPackets::from_block(block)).unwrap();
                } else {
                    for p in BlockPackets::from_block(block) {
                        w.write_packet(&p).unwrap();
                    }
                }
            }
            w.finish(None).unwrap();
        }
    }
    let t = thread_cpu_time() - t0;
    std::fs::remove_file(&path).unwrap();
    t
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/dev/shm".into());
    let reps: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let writers = [
        ("pcap", "batch", FileFormat::Pcap),
        ("pcap", "per-packet", FileFormat::Pcap),
        ("pcap", "bufwriter", FileFormat::Pcap),
        ("pcapng", "batch", FileFormat::PcapNg),
        ("pcapng", "per-packet", FileFormat::PcapNg),
        ("pcap", "zstd", FileFormat::Pcap),
        ("pcap", "gzip", FileFormat::Pcap),
    ];
    println!("{:<7} {:<11} {:>6} {:>12} {:>14}", "format", "writer", "bytes", "ns/packet", "min..max");
    let sizes: Vec<usize> =
        args.next().map_or(vec![64, 256, 600, 1500, 9000], |s| s.split(',').map(|x| x.parse().unwrap()).collect());
    for len in sizes {
        let (block, n) = workloads::block(len);
        let mut times = vec![Vec::new(); writers.len()];
        for rep in 0..reps {
            for k in 0..writers.len() {
                let i = (k + rep) % writers.len();
                let (_, how, format) = writers[i];
                let t = run(Path::new(&dir), how, format, &block);
                times[i].push(t.as_nanos() as f64 / (BLOCKS * n) as f64);
            }
        }
        for (i, (fmt, how, _)) in writers.iter().enumerate() {
            let mut v = times[i].clone();
            v.sort_by(f64::total_cmp);
            println!("{fmt:<7} {how:<11} {len:>6} {:>12.1} {:>7.1}..{:.1}", v[v.len() / 2], v[0], v[v.len() - 1]);
        }
    }
}
