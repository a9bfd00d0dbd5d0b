//! Counters and gauges through the [`metrics`] facade (feature `metrics`),
//! for whatever exporter the application installed (Prometheus, StatsD, …).
//!
//! Nothing is recorded on the packet path: each `*Metrics` type registers
//! its handles once, and `record` publishes a snapshot of the socket's own
//! 64-bit counters (counters are set with `absolute`, so recording as often
//! or as rarely as you like gives the same totals). Call it from a timer or
//! between batches.
//!
//! # Names
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `netring_capture_packets_total` | counter | `interface` | packets the kernel put into the ring ([`CaptureStats::packets`]) |
//! | `netring_capture_drops_total` | counter | `interface` | packets the kernel dropped because the ring was full |
//! | `netring_capture_freezes_total` | counter | `interface` | times the ring froze (every block held by user space) |
//! | `netring_capture_bytes_total` | counter | `interface` | wire bytes of the packets passed to [`CaptureMetrics::record_batch`] |
//! | `netring_capture_read_packets_total` | counter | `interface` | packets passed to [`CaptureMetrics::record_batch`] |
//! | `netring_capture_ring_blocks_used` | gauge | `interface` | blocks held by user space or waiting to be read ([`Capture::ring_occupancy`]) |
//! | `netring_capture_ring_blocks` | gauge | `interface` | blocks in the ring |
//! | `netring_tx_queued_total` | counter | `interface` | frames queued on the TX ring |
//! | `netring_tx_sent_total` | counter | `interface` | frames the kernel released as sent |
//! | `netring_tx_bytes_total` | counter | `interface` | their bytes |
//! | `netring_tx_rejected_total` | counter | `interface` | frames the kernel refused |
//! | `netring_tx_pending` | gauge | `interface` | frames queued and not yet released (TX ring occupancy) |
//! | `netring_tx_ring_slots` | gauge | `interface` | slots in the TX ring |
//! | `netring_xdp_rx_packets_total` | counter | `interface`, `queue` | frames received ([`XdpStats::received`]) |
//! | `netring_xdp_rx_drops_total` | counter | `interface`, `queue` | `rx_dropped + rx_ring_full` |
//! | `netring_xdp_rx_ring_full_total` | counter | `interface`, `queue` | of those, for a full RX ring |
//! | `netring_xdp_fill_ring_empty_total` | counter | `interface`, `queue` | times the kernel found the fill ring empty |
//! | `netring_xdp_tx_completed_total` | counter | `interface`, `queue` | transmitted frames completed |
//! | `netring_xdp_invalid_descs_total` | counter | `interface`, `queue` | RX and TX descriptors the kernel found invalid |
//! | `netring_xdp_skipped_descs_total` | counter | `interface`, `queue` | descriptors netring refused to trust |
//! | `netring_xdp_tx_in_flight` | gauge | `interface`, `queue` | frames submitted and not completed |
//! | `netring_xdp_free_frames` | gauge | `interface`, `queue` | UMEM frames free for sending |
//! | `netring_bridge_forwarded_total` | counter | `direction` (`a_to_b`, `b_to_a`), `a`, `b` | frames queued on the far port |
//! | `netring_bridge_bytes_total` | counter | same | their bytes |
//! | `netring_bridge_dropped_total` | counter | same | frames the decision function dropped |
//! | `netring_bridge_too_large_total` | counter | same | frames too long for the far port |
//! | `netring_bridge_tx_full_total` | counter | same | frames lost to a full far TX ring |
//! | `netring_interface_rx_packets_total` | counter | `interface` | the interface's own `rx_packets` ([`LinkInfo`]) |
//! | `netring_interface_rx_bytes_total` | counter | `interface` | its `rx_bytes` |
//! | `netring_interface_rx_dropped_total` | counter | `interface` | its `rx_dropped` (the stack dropped them: no buffer, unknown protocol …) |
//! | `netring_interface_rx_missed_total` | counter | `interface` | its `rx_missed_errors` (the device's FIFO overflowed) |
//! | `netring_writer_bytes_total` | counter | `file` | bytes written to capture files, headers included |
//! | `netring_writer_records_total` | counter | `file` | records (packets) written |
//! | `netring_writer_files_total` | counter | `file` | files opened (rotation) |
//! | `netring_writer_files_deleted_total` | counter | `file` | files retention deleted |
//! | `netring_writer_errors_total` | counter | `file` | write errors and files retention failed to delete |
//! | `netring_writer_queue_depth` | gauge | `file` | buffers (up to ~1.5 MiB each) waiting for the compressing writer thread; 0 without one |
//!
//! [`CaptureMetrics::with_member`] adds a `member` label (a fanout thread's
//! number) so several rings on one interface stay apart.
//!
//! ```no_run
//! let mut cap = netring::Capture::open("eth0")?;
//! let metrics = netring::metrics::CaptureMetrics::new("eth0");
//! loop {
//!     if let Some(batch) = cap.next_batch_blocking(Some(std::time::Duration::from_secs(1)))? {
//!         metrics.record_batch(&batch);
//!     }
//!     metrics.record(&mut cap)?;
//! }
//! # Ok::<(), netring::Error>(())
//! ```

use metrics::{Counter, Gauge};

use crate::bridge::{BridgeStats, DirectionStats};
use crate::error::Result;
use crate::interface::LinkInfo;
use crate::source::TxStats;
use crate::stats::CaptureStats;
use crate::{Bridge, Capture, Injector, PacketBatch, XdpSocket, XdpStats};

type Labels = [(&'static str, String)];

fn counter(name: &'static str, labels: &Labels) -> Counter {
    metrics::counter!(name, labels)
}

fn gauge(name: &'static str, labels: &Labels) -> Gauge {
    metrics::gauge!(name, labels)
}

/// Metrics of one [`Capture`] (label `interface`).
#[derive(Debug)]
pub struct CaptureMetrics {
    packets: Counter,
    drops: Counter,
    freezes: Counter,
    bytes: Counter,
    read: Counter,
    used: Gauge,
    blocks: Gauge,
}

impl CaptureMetrics {
    /// Register the handles with the current recorder.
    pub fn new(interface: &str) -> Self {
        Self::labelled(&[("interface", interface.to_owned())])
    }

    /// Register the handles of member `member` of a fanout group on
    /// `interface` (labels `interface`, `member`).
    pub fn with_member(interface: &str, member: usize) -> Self {
        Self::labelled(&[("interface", interface.to_owned()), ("member", member.to_string())])
    }

    fn labelled(l: &Labels) -> Self {
        Self {
            packets: counter("netring_capture_packets_total", l),
            drops: counter("netring_capture_drops_total", l),
            freezes: counter("netring_capture_freezes_total", l),
            bytes: counter("netring_capture_bytes_total", l),
            read: counter("netring_capture_read_packets_total", l),
            used: gauge("netring_capture_ring_blocks_used", l),
            blocks: gauge("netring_capture_ring_blocks", l),
        }
    }

    /// Publish what the application counted as read, as totals (instead of
    /// [`record_batch`](Self::record_batch) per batch; use one or the other).
    pub fn record_read(&self, packets: u64, bytes: u64) {
        self.read.absolute(packets);
        self.bytes.absolute(bytes);
    }

    /// Publish the capture's cumulative counters and ring occupancy.
    ///
    /// # Errors
    /// `getsockopt(PACKET_STATISTICS)` failed.
    pub fn record(&self, cap: &mut Capture) -> Result<()> {
        self.record_stats(&cap.stats()?);
        self.used.set(cap.ring_occupancy() as f64);
        self.blocks.set(cap.block_count() as f64);
        Ok(())
    }

    /// Publish counters read elsewhere (e.g. `channel::ChannelStats::kernel`, feature `channel`).
    pub fn record_stats(&self, s: &CaptureStats) {
        self.packets.absolute(s.packets);
        self.drops.absolute(s.drops);
        self.freezes.absolute(s.freezes);
    }

    /// Count a batch that was read: its packets and their wire bytes.
    pub fn record_batch(&self, batch: &PacketBatch<'_>) {
        let (n, bytes) = batch.iter().fold((0u64, 0u64), |(n, b), p| (n + 1, b + p.original_len() as u64));
        self.read.increment(n);
        self.bytes.increment(bytes);
    }
}

/// The counters of an interface itself (label `interface`), below any
/// socket: what the device and the stack received and lost.
#[derive(Debug)]
pub struct InterfaceMetrics {
    packets: Counter,
    bytes: Counter,
    dropped: Counter,
    missed: Counter,
}

impl InterfaceMetrics {
    /// Register the handles with the current recorder.
    pub fn new(interface: &str) -> Self {
        let l = [("interface", interface.to_owned())];
        Self {
            packets: counter("netring_interface_rx_packets_total", &l),
            bytes: counter("netring_interface_rx_bytes_total", &l),
            dropped: counter("netring_interface_rx_dropped_total", &l),
            missed: counter("netring_interface_rx_missed_total", &l),
        }
    }

    /// Publish the counters of [`link_info`](crate::interface::link_info)
    /// (read in the interface's namespace).
    pub fn record(&self, l: &LinkInfo) {
        self.packets.absolute(l.rx_packets);
        self.bytes.absolute(l.rx_bytes);
        self.dropped.absolute(l.rx_dropped);
        self.missed.absolute(l.rx_missed_errors);
    }
}

/// What a capture file writer has done, cumulative (see [`WriterMetrics`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Bytes written, headers included.
    pub bytes: u64,
    /// Records (packets) written.
    pub records: u64,
    /// Files opened.
    pub files: u64,
    /// Files deleted by retention.
    pub deleted: u64,
    /// Write errors, and files retention failed to delete.
    pub errors: u64,
}

/// Metrics of a capture file writer (label `file`: the path or pattern it
/// writes). A writer with a thread of its own (compression) publishes its
/// queue with [`set_queue_depth`](Self::set_queue_depth).
#[derive(Debug, Clone)]
pub struct WriterMetrics {
    bytes: Counter,
    records: Counter,
    files: Counter,
    deleted: Counter,
    errors: Counter,
    queue: Gauge,
}

impl WriterMetrics {
    /// Register the handles with the current recorder.
    pub fn new(file: &str) -> Self {
        let l = [("file", file.to_owned())];
        Self {
            bytes: counter("netring_writer_bytes_total", &l),
            records: counter("netring_writer_records_total", &l),
            files: counter("netring_writer_files_total", &l),
            deleted: counter("netring_writer_files_deleted_total", &l),
            errors: counter("netring_writer_errors_total", &l),
            queue: gauge("netring_writer_queue_depth", &l),
        }
    }

    /// Publish the writer's cumulative counters.
    pub fn record(&self, s: &WriterStats) {
        self.bytes.absolute(s.bytes);
        self.records.absolute(s.records);
        self.files.absolute(s.files);
        self.deleted.absolute(s.deleted);
        self.errors.absolute(s.errors);
    }

    /// Publish what waits for the writer thread (bytes or records; 0 for a
    /// writer without a thread).
    pub fn set_queue_depth(&self, depth: u64) {
        self.queue.set(depth as f64);
    }
}

/// Metrics of one [`Injector`] (label `interface`).
#[derive(Debug)]
pub struct InjectorMetrics {
    queued: Counter,
    sent: Counter,
    bytes: Counter,
    rejected: Counter,
    pending: Gauge,
    slots: Gauge,
}

impl InjectorMetrics {
    /// Register the handles with the current recorder.
    pub fn new(interface: &str) -> Self {
        let l = [("interface", interface.to_owned())];
        Self {
            queued: counter("netring_tx_queued_total", &l),
            sent: counter("netring_tx_sent_total", &l),
            bytes: counter("netring_tx_bytes_total", &l),
            rejected: counter("netring_tx_rejected_total", &l),
            pending: gauge("netring_tx_pending", &l),
            slots: gauge("netring_tx_ring_slots", &l),
        }
    }

    /// Publish the injector's counters (collecting completions first).
    pub fn record(&self, inj: &mut Injector) {
        self.record_stats(&inj.tx_stats());
        self.slots.set(inj.frame_count() as f64);
    }

    /// Publish counters read elsewhere.
    pub fn record_stats(&self, s: &TxStats) {
        self.queued.absolute(s.queued);
        self.sent.absolute(s.sent);
        self.bytes.absolute(s.bytes);
        self.rejected.absolute(s.rejected);
        self.pending.set(s.pending as f64);
    }
}

/// Metrics of one [`XdpSocket`] (labels `interface`, `queue`).
#[derive(Debug)]
pub struct XdpMetrics {
    received: Counter,
    drops: Counter,
    ring_full: Counter,
    fill_empty: Counter,
    completed: Counter,
    invalid: Counter,
    skipped: Counter,
    in_flight: Gauge,
    free: Gauge,
}

impl XdpMetrics {
    /// Register the handles with the current recorder.
    pub fn new(interface: &str, queue: u32) -> Self {
        let l = [("interface", interface.to_owned()), ("queue", queue.to_string())];
        Self {
            received: counter("netring_xdp_rx_packets_total", &l),
            drops: counter("netring_xdp_rx_drops_total", &l),
            ring_full: counter("netring_xdp_rx_ring_full_total", &l),
            fill_empty: counter("netring_xdp_fill_ring_empty_total", &l),
            completed: counter("netring_xdp_tx_completed_total", &l),
            invalid: counter("netring_xdp_invalid_descs_total", &l),
            skipped: counter("netring_xdp_skipped_descs_total", &l),
            in_flight: gauge("netring_xdp_tx_in_flight", &l),
            free: gauge("netring_xdp_free_frames", &l),
        }
    }

    /// Publish the socket's counters (`XDP_STATISTICS` and its own).
    ///
    /// # Errors
    /// `getsockopt(XDP_STATISTICS)` failed.
    pub fn record(&self, sock: &XdpSocket) -> Result<()> {
        self.record_stats(&sock.xdp_stats()?);
        self.in_flight.set(sock.tx_in_flight() as f64);
        self.free.set(sock.free_frames() as f64);
        Ok(())
    }

    /// Publish counters read elsewhere.
    pub fn record_stats(&self, s: &XdpStats) {
        self.received.absolute(s.received);
        self.drops.absolute(s.drops());
        self.ring_full.absolute(s.rx_ring_full);
        self.fill_empty.absolute(s.rx_fill_ring_empty_descs);
        self.completed.absolute(s.completed);
        self.invalid.absolute(s.rx_invalid_descs + s.tx_invalid_descs);
        self.skipped.absolute(s.skipped_descs);
    }
}

/// The counters of one bridge direction.
#[derive(Debug)]
struct DirectionMetrics {
    forwarded: Counter,
    bytes: Counter,
    dropped: Counter,
    too_large: Counter,
    tx_full: Counter,
}

impl DirectionMetrics {
    fn new(direction: &'static str, a: &str, b: &str) -> Self {
        let l = [("direction", direction.to_owned()), ("a", a.to_owned()), ("b", b.to_owned())];
        Self {
            forwarded: counter("netring_bridge_forwarded_total", &l),
            bytes: counter("netring_bridge_bytes_total", &l),
            dropped: counter("netring_bridge_dropped_total", &l),
            too_large: counter("netring_bridge_too_large_total", &l),
            tx_full: counter("netring_bridge_tx_full_total", &l),
        }
    }

    fn record(&self, d: &DirectionStats) {
        self.forwarded.absolute(d.forwarded);
        self.bytes.absolute(d.bytes);
        self.dropped.absolute(d.dropped);
        self.too_large.absolute(d.too_large);
        self.tx_full.absolute(d.tx_full);
    }
}

/// Metrics of a [`Bridge`] (labels `direction`, `a`, `b`).
#[derive(Debug)]
pub struct BridgeMetrics {
    a_to_b: DirectionMetrics,
    b_to_a: DirectionMetrics,
}

impl BridgeMetrics {
    /// Register the handles for the bridge's two ports.
    pub fn new(bridge: &Bridge) -> Self {
        let (a, b) = bridge.interfaces();
        Self { a_to_b: DirectionMetrics::new("a_to_b", a, b), b_to_a: DirectionMetrics::new("b_to_a", a, b) }
    }

    /// Publish the bridge's counters ([`Bridge::stats`], or what `run` returned).
    pub fn record(&self, s: &BridgeStats) {
        self.a_to_b.record(&s.a_to_b);
        self.b_to_a.record(&s.b_to_a);
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn names_labels_and_values_as_prometheus_renders_them() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let (cap, inj, xdp) = metrics::with_local_recorder(&recorder, || {
            (CaptureMetrics::new("eth9"), InjectorMetrics::new("eth9"), XdpMetrics::new("eth9", 3))
        });
        cap.record_stats(&CaptureStats { packets: 1000, drops: 7, freezes: 2 });
        cap.record_stats(&CaptureStats { packets: 1500, drops: 7, freezes: 2 });
        inj.record_stats(&TxStats { queued: 10, sent: 9, bytes: 540, rejected: 1, pending: 0 });
        xdp.record_stats(&XdpStats { received: 42, rx_dropped: 1, rx_ring_full: 2, ..Default::default() });
        let (iface, writer, member) = metrics::with_local_recorder(&recorder, || {
            (InterfaceMetrics::new("eth9"), WriterMetrics::new("/cap/a.pcap"), CaptureMetrics::with_member("eth9", 2))
        });
        let link =
            LinkInfo { rx_packets: 11, rx_bytes: 1100, rx_dropped: 3, rx_missed_errors: 4, ..Default::default() };
        iface.record(&link);
        writer.record(&WriterStats { bytes: 5000, records: 40, files: 3, deleted: 1, errors: 0 });
        writer.set_queue_depth(17);
        member.record_stats(&CaptureStats { packets: 9, drops: 0, freezes: 0 });
        member.record_read(8, 800);
        let text = handle.render();
        for line in [
            "netring_interface_rx_packets_total{interface=\"eth9\"} 11",
            "netring_interface_rx_dropped_total{interface=\"eth9\"} 3",
            "netring_interface_rx_missed_total{interface=\"eth9\"} 4",
            "netring_writer_bytes_total{file=\"/cap/a.pcap\"} 5000",
            "netring_writer_files_total{file=\"/cap/a.pcap\"} 3",
            "netring_writer_files_deleted_total{file=\"/cap/a.pcap\"} 1",
            "netring_writer_errors_total{file=\"/cap/a.pcap\"} 0",
            "netring_writer_queue_depth{file=\"/cap/a.pcap\"} 17",
            "netring_capture_packets_total{interface=\"eth9\",member=\"2\"} 9",
            "netring_capture_read_packets_total{interface=\"eth9\",member=\"2\"} 8",
            "netring_capture_packets_total{interface=\"eth9\"} 1500",
            "netring_capture_drops_total{interface=\"eth9\"} 7",
            "netring_capture_freezes_total{interface=\"eth9\"} 2",
            "netring_tx_sent_total{interface=\"eth9\"} 9",
            "netring_tx_rejected_total{interface=\"eth9\"} 1",
            "netring_tx_pending{interface=\"eth9\"} 0",
            "netring_xdp_rx_packets_total{interface=\"eth9\",queue=\"3\"} 42",
            "netring_xdp_rx_drops_total{interface=\"eth9\",queue=\"3\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }
}
