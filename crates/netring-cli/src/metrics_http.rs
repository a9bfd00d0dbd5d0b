//! `--metrics-listen ADDR:PORT` (`capture`, `stats`): Prometheus text
//! format, rendered by `metrics-exporter-prometheus` from the counters the
//! library publishes through the `metrics` facade (`netring::metrics`), and
//! served by a small HTTP/1.1 responder on a std listener (one connection at
//! a time, `GET /metrics` or `GET /`, then close) — no async runtime.
//!
//! The listener binds exactly the address given (no default: loopback, or
//! whatever address the operator chose), in netring's own network
//! namespace — not in `--netns`'s, whose interfaces it reports.
//!
//! Per layer:
//! - interface: `netring_interface_rx_{packets,bytes,dropped,missed}_total`,
//!   read by rtnetlink (in `--netns`'s namespace) at each scrape;
//! - ring: `netring_capture_{packets,drops,freezes}_total` (the kernel's
//!   socket counters), `netring_capture_read_packets_total` and
//!   `netring_capture_bytes_total` (what netring counted), published by the
//!   capture loop at most every 100 ms and at its end;
//! - writer: `netring_writer_{bytes,records,files,files_deleted,errors}_total`
//!   and `netring_writer_queue_depth`, likewise.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use netring::metrics::{CaptureMetrics, InterfaceMetrics, WriterMetrics, WriterStats};
use netring::pcap::RotatingWriter;
use netring::{CaptureStats, Error};

use crate::args::NetnsArg;

/// How often a capture loop publishes its counters.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether `--metrics-listen` is serving (loops publish only then).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// `--metrics-listen`
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MetricsArg {
    /// Serve Prometheus metrics (text format) on http://ADDR:PORT/metrics:
    /// interface, ring and file-writer counters. Binds exactly this address,
    /// in netring's own network namespace (127.0.0.1:9187 for local
    /// scraping; port 0 picks a free one, printed at start).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,
}

impl MetricsArg {
    /// Start serving if asked: the interfaces' own counters are read in
    /// `ns` at each scrape.
    ///
    /// # Errors
    /// The address cannot be bound, or a metrics recorder is already installed.
    pub fn start(&self, ns: &NetnsArg, interfaces: &[String]) -> Result<(), Error> {
        let Some(addr) = self.metrics_listen else { return Ok(()) };
        let listener =
            TcpListener::bind(addr).map_err(|source| Error::Io { call: "bind(--metrics-listen)", source })?;
        let bound =
            listener.local_addr().map_err(|source| Error::Io { call: "getsockname(--metrics-listen)", source })?;
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|e| Error::Io {
            call: "install the metrics recorder",
            source: std::io::Error::other(e.to_string()),
        })?;
        let _ = HANDLE.set(handle.clone());
        // `any` is no interface of its own: it has no counters to read.
        let interfaces: Vec<(String, InterfaceMetrics)> =
            interfaces.iter().filter(|i| *i != "any").map(|i| (i.clone(), InterfaceMetrics::new(i))).collect();
        let ns = ns.clone();
        std::thread::Builder::new()
            .name("netring-metrics".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(s) = stream else { continue };
                    let note = refresh_interfaces(&ns, &interfaces);
                    let _ = respond(s, &handle, note.as_deref());
                }
            })
            .map_err(|source| Error::Io { call: "spawn the metrics thread", source })?;
        eprintln!("netring: serving Prometheus metrics on http://{bound}/metrics");
        Ok(())
    }
}

/// Read the interfaces' counters now; a comment line if that failed.
fn refresh_interfaces(ns: &NetnsArg, interfaces: &[(String, InterfaceMetrics)]) -> Option<String> {
    let names: Vec<String> = interfaces.iter().map(|i| i.0.clone()).collect();
    match ns.run(move || names.iter().map(|n| netring::interface::link_info(n)).collect::<Result<Vec<_>, _>>()) {
        Ok(links) => {
            for ((_, m), l) in interfaces.iter().zip(&links) {
                m.record(l);
            }
            None
        }
        Err(e) => Some(format!("# interface counters unavailable: {e}\n")),
    }
}

/// Answer one request and close.
fn respond(mut s: TcpStream, handle: &PrometheusHandle, note: Option<&str>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    let (status, body) = match (words.next(), words.next()) {
        (Some("GET"), Some("/metrics" | "/")) => ("200 OK", format!("{}{}", note.unwrap_or(""), handle.render())),
        (Some("GET"), _) => ("404 Not Found", "netring serves /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "GET /metrics\n".to_owned()),
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    s.flush()
}

/// A capture loop's metrics: its ring, and the file it writes.
#[derive(Debug)]
pub struct Publisher {
    ring: Option<CaptureMetrics>,
    writer: Option<WriterMetrics>,
    last: Option<Instant>,
}

impl Publisher {
    /// Handles for a ring on `interface` (`member` of a fanout group),
    /// and for the file `file`, if serving; `None` otherwise.
    pub fn new(ring: Option<(&str, Option<usize>)>, file: Option<&std::path::Path>) -> Option<Self> {
        enabled().then(|| Self {
            ring: ring.map(|(interface, member)| match member {
                Some(k) => CaptureMetrics::with_member(interface, k),
                None => CaptureMetrics::new(interface),
            }),
            writer: file.map(|f| WriterMetrics::new(&f.display().to_string())),
            last: None,
        })
    }

    /// Whether it is time to publish again (and, if so, from now on it is not).
    pub fn due(&mut self) -> bool {
        let due = self.last.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY);
        if due {
            self.last = Some(Instant::now());
        }
        due
    }

    /// Publish the ring's counters and what was read from it.
    pub fn ring(&self, stats: &CaptureStats, packets: u64, bytes: u64) {
        if let Some(r) = &self.ring {
            r.record_stats(stats);
            r.record_read(packets, bytes);
        }
    }

    /// Publish the writer's counters (`failed`: its last write failed).
    pub fn writer(&self, w: &RotatingWriter, failed: bool) {
        if let Some(m) = &self.writer {
            m.record(&WriterStats {
                bytes: w.bytes(),
                records: w.packets(),
                files: w.files_opened(),
                deleted: w.files_deleted(),
                errors: w.delete_errors() + u64::from(failed),
            });
            // Buffers waiting for a compressing writer thread (0 without one).
            m.set_queue_depth(w.queue_depth());
        }
    }
}
