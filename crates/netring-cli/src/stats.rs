//! `netring stats`: live packet and bit rates of an interface, with every
//! layer where frames are lost side by side — netring's own ring (kernel
//! drops for a full ring) and the interface's counters (`rx_dropped`,
//! `rx_missed_errors`, read by rtnetlink, so correct inside a namespace).
//!
//! It opens its own ring with a snap length of 1: the kernel copies one byte
//! of each frame (a socket filter returning 0 would drop the frame instead
//! of counting it), so counting costs little even at high rates.
//!
//! `--json` prints one object per interval on stdout:
//!
//! | field | meaning |
//! |---|---|
//! | `interval` | 1, 2, … |
//! | `seconds` | length of the interval (float, wall time) |
//! | `packets`, `bytes` | frames read from the ring in the interval, and their original (wire) lengths |
//! | `pps`, `bps` | `packets` and `bytes × 8` per second |
//! | `drops`, `freezes` | frames the kernel dropped for this ring (full), ring freezes |
//! | `if_rx_packets`, `if_rx_dropped`, `if_rx_missed_errors` | the interface's own counters, change over the interval |
//!
//! `--metrics-listen ADDR:PORT` serves the same counters, cumulative, in
//! Prometheus text format (see `metrics_http`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use netring::interface::{self, LinkInfo};
use netring::{Capture, CaptureStats, Error};

use crate::args::{Json, Until, parse_secs};
use crate::output;

/// Arguments of `netring stats`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |a| a.help("One JSON object per interval on stdout")))]
pub struct Args {
    /// Interface to watch.
    #[arg(short, long)]
    interface: String,
    /// Seconds per line (or per refresh).
    #[arg(long, value_parser = parse_secs, default_value = "1")]
    interval: Duration,
    #[command(flatten)]
    until: Until,
    /// Also count frames for other hosts (promiscuous mode while running).
    #[arg(long)]
    promisc: bool,
    #[command(flatten)]
    json: Json,
    #[command(flatten)]
    metrics: crate::metrics_http::MetricsArg,
}

/// One interval's figures.
#[derive(Debug, Default, Clone, Copy)]
struct Interval {
    seconds: f64,
    packets: u64,
    bytes: u64,
    ring: CaptureStats,
    rx_packets: u64,
    rx_dropped: u64,
    rx_missed: u64,
}

impl Interval {
    fn per_second(&self, n: u64) -> u64 {
        if self.seconds > 0.0 { (n as f64 / self.seconds).round() as u64 } else { 0 }
    }

    fn json(&self, index: u64) -> serde_json::Value {
        serde_json::json!({
            "interval": index,
            "seconds": self.seconds,
            "packets": self.packets,
            "bytes": self.bytes,
            "pps": self.per_second(self.packets),
            "bps": self.per_second(self.bytes * 8),
            "drops": self.ring.drops,
            "freezes": self.ring.freezes,
            "if_rx_packets": self.rx_packets,
            "if_rx_dropped": self.rx_dropped,
            "if_rx_missed_errors": self.rx_missed,
        })
    }

    fn row(&self, label: String) -> Vec<String> {
        vec![
            label,
            output::rate(self.packets, self.seconds),
            bits(self.per_second(self.bytes * 8)),
            self.ring.drops.to_string(),
            self.rx_packets.to_string(),
            self.rx_dropped.to_string(),
            self.rx_missed.to_string(),
        ]
    }

    fn add(&mut self, o: &Interval) {
        self.seconds += o.seconds;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.ring = self.ring + o.ring;
        self.rx_packets += o.rx_packets;
        self.rx_dropped += o.rx_dropped;
        self.rx_missed += o.rx_missed;
    }
}

/// A bit rate with a unit.
fn bits(bps: u64) -> String {
    match bps {
        b if b >= 1_000_000_000 => format!("{:.2} Gbit/s", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.2} Mbit/s", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kbit/s", b as f64 / 1e3),
        b => format!("{b} bit/s"),
    }
}

const HEADER: [&str; 7] = ["", "packets/s", "bits/s", "ring drops", "if rx_packets", "if rx_dropped", "if rx_missed"];

/// Run `netring stats`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    if a.interval.is_zero() {
        return Err(Error::InvalidConfig { name: "--interval", value: "0".into(), rule: "must be positive".into() });
    }
    a.metrics.start(&crate::args::NetnsArg::default(), std::slice::from_ref(&a.interface))?;
    let mut publisher = crate::metrics_http::Publisher::new(Some((&a.interface, None)), None);
    let mut cap = Capture::builder().interface(&a.interface).snaplen(1).promiscuous(a.promisc).build()?;
    let stop = cap.stop_handle();
    let on_signal = stop.clone();
    crate::signals::on_stop("stats", None, move || on_signal.stop())?;
    // The interface's baseline is taken as the ring starts counting, before
    // saying so: a frame arriving after the announcement is in both counts.
    let mut link = interface::link_info(&a.interface)?;
    eprintln!("netring: counting on {} every {:?} (snap length 1)", a.interface, a.interval);

    let started = Instant::now();
    let deadline = a.until.deadline(started);
    let mut cur = Interval::default();
    let mut ring_before = netring::CaptureStats::default();
    let mut total = Interval::default();
    let mut index = 0;
    let mut from = started;
    let mut next = started + a.interval;
    let mut screen = Screen::new(!a.json.json && std::io::stdout().is_terminal());
    loop {
        if let Some(p) = publisher.as_mut()
            && p.due()
        {
            p.ring(&cap.stats()?, total.packets + cur.packets, total.bytes + cur.bytes);
        }
        let end = deadline.map_or(next, |d| d.min(next));
        let mut left = end.saturating_duration_since(Instant::now());
        if publisher.is_some() {
            left = left.min(crate::metrics_http::PUBLISH_EVERY);
        }
        let last = match if left.is_zero() { Ok(None) } else { cap.next_batch_blocking(Some(left)) } {
            Ok(Some(batch)) => {
                for p in &batch {
                    cur.packets += 1;
                    cur.bytes += p.original_len() as u64;
                }
                continue;
            }
            Ok(None) if Instant::now() < end => continue,
            Ok(None) => deadline.is_some_and(|d| d <= next),
            Err(Error::Stopped) => true,
            Err(e) => return Err(e),
        };
        if last {
            // Let the kernel retire the block it is filling, then read it.
            std::thread::sleep(cap.retire_timeout() * 2 + Duration::from_millis(5));
            while let Some(batch) = cap.next_batch() {
                for p in &batch {
                    cur.packets += 1;
                    cur.bytes += p.original_len() as u64;
                }
            }
        }
        let now = Instant::now();
        cur.seconds = now.duration_since(from).as_secs_f64();
        let ring = cap.stats()?;
        cur.ring = ring - ring_before;
        ring_before = ring;
        let l = interface::link_info(&a.interface)?;
        (cur.rx_packets, cur.rx_dropped, cur.rx_missed) = delta(&link, &l);
        link = l;
        index += 1;
        total.add(&cur);
        if a.json.json {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{}", cur.json(index)).and_then(|()| out.flush()).is_err() {
                break;
            }
        } else {
            screen.show(&a.interface, &cur, &total, started.elapsed());
        }
        if let Some(p) = &publisher {
            p.ring(&ring, total.packets, total.bytes);
        }
        if last {
            break;
        }
        cur = Interval::default();
        from = now;
        next += a.interval;
    }
    eprintln!(
        "netring: {} packets ({} bytes) in {:.3} s; ring drops {}; interface rx_packets {}, rx_dropped {}, rx_missed_errors {}",
        total.packets,
        total.bytes,
        started.elapsed().as_secs_f64(),
        total.ring.drops,
        total.rx_packets,
        total.rx_dropped,
        total.rx_missed
    );
    Ok(ExitCode::SUCCESS)
}

/// The interface counters' change from `a` to `b`.
fn delta(a: &LinkInfo, b: &LinkInfo) -> (u64, u64, u64) {
    (
        b.rx_packets.wrapping_sub(a.rx_packets),
        b.rx_dropped.wrapping_sub(a.rx_dropped),
        b.rx_missed_errors.wrapping_sub(a.rx_missed_errors),
    )
}

/// The human display: a table redrawn in place on a terminal, one row per
/// interval otherwise (header once), in fixed-width columns.
#[derive(Debug)]
struct Screen {
    terminal: bool,
    drawn_lines: usize,
    header_done: bool,
}

/// One line of fixed-width columns.
fn line(cells: &[String]) -> String {
    let mut s = format!("{:<12}", cells[0]);
    for (c, w) in cells[1..].iter().zip([12, 16, 12, 15, 15, 14]) {
        s.push_str(&format!("{c:>w$}"));
    }
    s
}

impl Screen {
    fn new(terminal: bool) -> Self {
        Self { terminal, drawn_lines: 0, header_done: false }
    }

    fn show(&mut self, iface: &str, cur: &Interval, total: &Interval, elapsed: Duration) {
        let header = line(&HEADER.map(String::from));
        let mut out = std::io::stdout().lock();
        if self.terminal {
            let text = format!(
                "netring stats on {iface} (Ctrl-C to stop)\n{header}\n{}\n{}\n",
                line(&cur.row(format!("last {:.1} s", cur.seconds))),
                line(&total.row(format!("total {:.0} s", elapsed.as_secs_f64())))
            );
            if self.drawn_lines > 0 {
                let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn_lines);
            }
            self.drawn_lines = text.lines().count();
            let _ = write!(out, "{text}");
        } else {
            if !self.header_done {
                let _ = writeln!(out, "{header}");
                self.header_done = true;
            }
            let _ = writeln!(out, "{}", line(&cur.row(format!("{:.1} s", elapsed.as_secs_f64()))));
        }
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_json_fields() {
        let i = Interval {
            seconds: 0.5,
            packets: 100,
            bytes: 6000,
            ring: CaptureStats { packets: 100, drops: 2, freezes: 1 },
            rx_packets: 102,
            rx_dropped: 3,
            rx_missed: 4,
        };
        let v = i.json(7);
        assert_eq!(v["interval"], 7);
        assert_eq!(v["pps"], 200);
        assert_eq!(v["bps"], 96_000);
        assert_eq!((v["drops"].as_u64(), v["freezes"].as_u64()), (Some(2), Some(1)));
        assert_eq!(v["if_rx_missed_errors"], 4);
        assert!(v["seconds"].is_f64());
        assert_eq!(bits(96_000), "96.0 kbit/s");
        assert_eq!(bits(2_500_000_000), "2.50 Gbit/s");
    }
}
