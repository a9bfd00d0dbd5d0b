//! One run of one contender: what it needs to know ([`Settings`]) and what
//! it measured ([`Outcome`]).

use std::time::Duration;

use super::tx::TxKind;

/// What every run needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub seconds: f64,
    pub rx_cpu: usize,
    pub tx_cpu: usize,
    /// `None`: [`TxKind::generator`] picks per frame size.
    pub generator: Option<TxKind>,
    /// Frames per second the generator of capture runs is held to (`None`:
    /// as fast as it sends).
    pub offered_pps: Option<f64>,
}

/// What one run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// Capture: frames the contender counted. Injection: frames the sending
    /// veth transmitted in the window.
    pub packets: u64,
    /// Frames the sending veth transmitted (`tx_packets`).
    pub offered: u64,
    /// Frames the receiving veth took in (`rx_packets`).
    pub at_interface: u64,
    /// Length of the traffic (capture) or measuring window (injection).
    pub seconds: f64,
    /// CPU time of the contender (thread or process tree).
    pub cpu: Duration,
    /// CPU time of the receiving veth's NAPI thread (NAPI path).
    pub kernel_cpu: Option<Duration>,
    /// Drops the contender's socket reported (capture).
    pub drops: u64,
}

impl Outcome {
    pub fn pps(&self) -> f64 {
        self.packets as f64 / self.seconds.max(1e-9)
    }
    pub fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.seconds.max(1e-9)
    }
    /// Frames the interface took in that the contender did not count, per million.
    pub fn loss_ppm(&self) -> f64 {
        if self.at_interface == 0 {
            return 0.0;
        }
        self.at_interface.saturating_sub(self.packets) as f64 * 1e6 / self.at_interface as f64
    }
    pub fn cpu_pct(&self) -> f64 {
        self.cpu.as_secs_f64() * 100.0 / self.seconds.max(1e-9)
    }
    pub fn cpu_ns_per_packet(&self) -> f64 {
        self.cpu.as_nanos() as f64 / self.packets.max(1) as f64
    }
    /// CPU time of the receive core (the NAPI thread and the contender)
    /// per frame counted; NaN without a NAPI thread.
    pub fn core_ns_per_packet(&self) -> f64 {
        self.kernel_cpu.map_or(f64::NAN, |k| (k + self.cpu).as_nanos() as f64 / self.packets.max(1) as f64)
    }
}
