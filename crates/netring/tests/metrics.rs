//! The `metrics` feature over a real veth link: what Prometheus renders
//! matches the frames that crossed the link. Needs root.
#![cfg(feature = "metrics")]

mod common;

use std::time::Duration;

use common::{frame, link};
use metrics_exporter_prometheus::PrometheusBuilder;
use netring::metrics::{CaptureMetrics, InjectorMetrics};
use netring::{Capture, Injector};

#[test]
fn capture_and_injector_counters_match_the_frames_sent() {
    let l = link();
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let (cm, im) =
        metrics::with_local_recorder(&recorder, || (CaptureMetrics::new(&l.b.name), InjectorMetrics::new(&l.a.name)));
    let mut cap = l.b.run(|n| Capture::builder().interface(n).block_count(8).build()).unwrap().unwrap();
    let mut inj = l.a.run(Injector::open).unwrap().unwrap();
    for i in 0..300 {
        let f = frame(i, 100);
        assert!(inj.send(&f).unwrap());
        if i % 50 == 49 {
            inj.flush().unwrap();
        }
    }
    inj.flush().unwrap();
    assert!(inj.wait_drained(Some(Duration::from_secs(5))).unwrap());
    im.record(&mut inj);
    let mut seen = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen < 300 && std::time::Instant::now() < deadline {
        if let Some(b) = cap.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
            seen += b.iter().filter(|p| common::seq_of(p.data()).is_some()).count();
            cm.record_batch(&b);
        }
    }
    assert_eq!(seen, 300);
    cm.record(&mut cap).unwrap();
    let text = handle.render();
    let (b, a) = (&l.b.name, &l.a.name);
    for line in [
        format!("netring_capture_packets_total{{interface=\"{b}\"}} 300"),
        format!("netring_capture_drops_total{{interface=\"{b}\"}} 0"),
        format!("netring_capture_ring_blocks{{interface=\"{b}\"}} 8"),
        format!("netring_capture_ring_blocks_used{{interface=\"{b}\"}} 0"),
        format!("netring_capture_read_packets_total{{interface=\"{b}\"}} 300"),
        format!("netring_capture_bytes_total{{interface=\"{b}\"}} 30000"),
        format!("netring_tx_sent_total{{interface=\"{a}\"}} 300"),
        format!("netring_tx_bytes_total{{interface=\"{a}\"}} 30000"),
        format!("netring_tx_pending{{interface=\"{a}\"}} 0"),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
}
