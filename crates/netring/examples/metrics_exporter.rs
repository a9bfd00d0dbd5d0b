//! Capture metrics for Prometheus: netring's counters and gauges through the
//! `metrics` facade, rendered by `metrics-exporter-prometheus` and served on
//! 127.0.0.1 only (a minimal HTTP responder on a std listener).
//!
//! ```sh
//! sudo cargo run -p netring --features metrics --example metrics_exporter -- IFACE [PORT]
//! curl -s http://127.0.0.1:9187/metrics | grep netring_
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use netring::metrics::CaptureMetrics;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iface = args.next().unwrap_or_else(|| "eth0".into());
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(9187);

    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;

    let listener = TcpListener::bind(("127.0.0.1", port))?;
    eprintln!("serving http://127.0.0.1:{port}/metrics");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = [0u8; 1024];
            let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = s.read(&mut req);
            let body = handle.render();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });

    let mut cap = netring::Capture::open(&iface)?;
    let m = CaptureMetrics::new(&iface);
    loop {
        if let Some(batch) = cap.next_batch_blocking(Some(Duration::from_millis(500)))? {
            m.record_batch(&batch);
        }
        m.record(&mut cap)?;
    }
}
