//! The tokio adapters against the blocking API, over a veth pair in private
//! namespaces, contenders interleaved, several repetitions, median and spread.
//!
//! ```sh
//! cargo build --release -p netring --features tokio --example async_bench
//! sudo target/release/examples/async_bench [REPETITIONS]
//! ```
//!
//! Receive: 400,000 64-byte frames flooded from end a (`sendmmsg`, 64 a
//! call, CPU 0); on end b (CPU 1) a `Capture` read with
//! `next_batch_blocking`, an `AsyncCapture` read through the ready guard,
//! and one read with `recv()` (owned copies), each on a current-thread
//! runtime so all of its work is on the measured thread. Reported: frames
//! received per second of the flood and receiver CPU time per frame
//! (`CLOCK_THREAD_CPUTIME_ID`).
//!
//! Transmit: 2,000 1000-byte frames through a 64-slot TX ring onto a link
//! shaped to 16 Mbit/s (tc tbf), so the ring stays full and the sender
//! waits about a second: `allocate_blocking` against `AsyncInjector::send`.
//! Reported: process CPU time as a share of wall time while waiting (a
//! spinning wait would show close to 100 %).
//!
//! Needs root and `tc`. Creates and removes its own namespaces.
use std::time::{Duration, Instant};

use netring::testkit::{SeqFrames, VethLink};
use netring::tokio::{AsyncCapture, AsyncInjector};
use netring::{Capture, Injector, RawSender};

/// Pin the calling thread to `cpu` (best effort: unpinned runs still count).
fn pin(cpu: usize) {
    let _ = netring::cpu::pin_current_thread(cpu);
}

fn process_cpu() -> Duration {
    netring::testkit::process_tree_cpu_time(std::process::id()).unwrap_or_default()
}

fn shape(l: &VethLink, rate: &str) {
    let ok = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            l.a.ns.name(),
            "tc",
            "qdisc",
            "replace",
            "dev",
            &l.a.name,
            "root",
            "tbf",
            "rate",
            rate,
            "burst",
            "16kb",
            "limit",
            "8mb",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

const RX_N: u64 = 400_000;

fn flood(l: &VethLink) -> std::thread::JoinHandle<()> {
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    std::thread::spawn(move || {
        pin(0);
        let g = SeqFrames::default();
        let frames: Vec<Vec<u8>> = (0..64).map(|i| g.build(i, 64)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let mut sent = 0;
        while sent < RX_N {
            sent += tx.send_batch(&refs).unwrap() as u64;
        }
    })
}

fn rx_run(l: &VethLink, mode: &str) -> (u64, Duration, Duration) {
    let cap =
        l.b.run(|n| {
            Capture::builder()
                .interface(n)
                .block_size(1 << 20)
                .block_count(64)
                .retire_timeout(Duration::from_millis(2))
                .build()
        })
        .unwrap()
        .unwrap();
    let mode = mode.to_string();
    let h = std::thread::spawn(move || {
        pin(1);
        let mut cap = cap;
        let mut n = 0u64;
        let start = Instant::now();
        let c0 = netring::testkit::thread_cpu_time();
        let idle = Duration::from_millis(300);
        match mode.as_str() {
            "sync" => {
                while let Some(b) = cap.next_batch_blocking(Some(idle)).unwrap() {
                    n += b.len() as u64;
                }
            }
            "async-guard" | "async-recv" => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    let mut a = AsyncCapture::new(cap).unwrap();
                    loop {
                        if mode == "async-guard" {
                            match tokio::time::timeout(idle, a.readable()).await {
                                Ok(r) => {
                                    let mut r = r.unwrap();
                                    while let Some(b) = r.next_batch() {
                                        n += b.len() as u64;
                                    }
                                }
                                Err(_) => break,
                            }
                        } else {
                            match tokio::time::timeout(idle, a.recv()).await {
                                Ok(p) => {
                                    p.unwrap();
                                    n += 1;
                                }
                                Err(_) => break,
                            }
                        }
                    }
                });
            }
            _ => unreachable!(),
        }
        (n, start.elapsed().saturating_sub(idle), netring::testkit::thread_cpu_time() - c0)
    });
    std::thread::sleep(Duration::from_millis(100));
    flood(l).join().unwrap();
    h.join().unwrap()
}

fn tx_run(l: &VethLink, mode: &str) -> (Duration, Duration) {
    let inj = l.a.run(|n| Injector::builder().interface(n).frame_count(64).build()).unwrap().unwrap();
    let g = SeqFrames::default();
    let frames: Vec<Vec<u8>> = (0..2000).map(|i| g.build(i, 1000)).collect();
    let c0 = process_cpu();
    let t0 = Instant::now();
    if mode == "sync" {
        let mut inj = inj;
        for f in &frames {
            let mut s = inj.allocate_blocking(f.len(), None).unwrap().unwrap();
            s.copy_from_slice(f);
            s.send();
        }
        inj.flush().unwrap();
        inj.wait_drained(None).unwrap();
        assert_eq!(inj.tx_stats().sent, 2000);
    } else {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut inj = AsyncInjector::new(inj).unwrap();
            for f in &frames {
                inj.send(f).await.unwrap();
            }
            inj.wait_drained().await.unwrap();
            assert_eq!(inj.get_mut().tx_stats().sent, 2000);
        });
    }
    (t0.elapsed(), process_cpu() - c0)
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let l = VethLink::new().unwrap();
    println!("# receive: {RX_N} x 64-byte frames flooded (sendmmsg, CPU 0), receiver on CPU 1");
    let mut rx: std::collections::BTreeMap<&str, Vec<(f64, f64)>> = Default::default();
    let mut lost: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    for _ in 0..reps {
        for mode in ["sync", "async-guard", "async-recv"] {
            let (n, wall, cpu) = rx_run(&l, mode);
            assert!(n > 0, "{mode}: nothing received");
            lost.entry(mode).or_default().push(RX_N - n.min(RX_N));
            rx.entry(mode).or_default().push((n as f64 / wall.as_secs_f64() / 1e6, cpu.as_nanos() as f64 / n as f64));
        }
    }
    for (mode, v) in &rx {
        let mut rate: Vec<f64> = v.iter().map(|x| x.0).collect();
        let mut ns: Vec<f64> = v.iter().map(|x| x.1).collect();
        rate.sort_by(f64::total_cmp);
        ns.sort_by(f64::total_cmp);
        println!("{mode:12} frames not received per run: {:?}", lost[mode]);
        println!(
            "{mode:12} Mpps median {:.2} (min {:.2} max {:.2})   receiver CPU ns/pkt median {:.1} (min {:.1} max {:.1})",
            rate[rate.len() / 2],
            rate[0],
            rate[rate.len() - 1],
            ns[ns.len() / 2],
            ns[0],
            ns[ns.len() - 1]
        );
    }
    shape(&l, "16mbit");
    println!("# transmit: 2000 x 1000-byte frames through a 64-slot TX ring, egress shaped to 16 Mbit/s (tbf)");
    let mut tx: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut walls: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for _ in 0..reps {
        for mode in ["sync", "async"] {
            let (wall, cpu) = tx_run(&l, mode);
            tx.entry(mode).or_default().push(cpu.as_secs_f64() / wall.as_secs_f64() * 100.0);
            walls.entry(mode).or_default().push(wall.as_secs_f64());
        }
    }
    for (mode, v) in &tx {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        let mut w = walls[mode].clone();
        w.sort_by(f64::total_cmp);
        println!(
            "{mode:6} CPU/wall median {:.1} % (min {:.1} max {:.1}), wall median {:.2} s",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1],
            w[w.len() / 2]
        );
    }
}
