//! `netring bridge`: forward frames between two interfaces until a
//! duration passes or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use netring::{Bridge, BridgeAction, BridgeDirection, DirectionStats, Error};

use crate::args::{NetnsArg, Report, Until};
use crate::output::{self, Progress};
use crate::signals::Live;

/// Arguments of `netring bridge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port A.
    #[arg(short = 'a', long)]
    port_a: String,
    /// Port B.
    #[arg(short = 'b', long)]
    port_b: String,
    #[command(flatten)]
    until: Until,
    /// Drop frames of this EtherType (hex, e.g. 86dd) in both directions;
    /// may be given several times.
    #[arg(long = "drop-ethertype", value_parser = parse_hex16)]
    drop_ethertypes: Vec<u16>,
    /// Hand frames straight to the drivers (PACKET_QDISC_BYPASS).
    #[arg(long)]
    qdisc_bypass: bool,
    #[command(flatten)]
    report: Report,
    #[command(flatten)]
    ns: NetnsArg,
}

fn parse_hex16(s: &str) -> Result<u16, String> {
    u16::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| format!("{s:?} is not a hex EtherType"))
}

fn direction_json(d: &DirectionStats) -> serde_json::Value {
    serde_json::json!({
        "forwarded": d.forwarded,
        "bytes": d.bytes,
        "dropped": d.dropped,
        "too_large": d.too_large,
        "tx_full": d.tx_full,
    })
}

/// Run `netring bridge`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    let mut b = Bridge::builder().a(&a.port_a).b(&a.port_b).qdisc_bypass(a.qdisc_bypass);
    if let Some(name) = a.ns.name() {
        b = b.netns(name);
    }
    let mut bridge = b.build()?;
    let stop = bridge.stop_handle();
    let on_signal = stop.clone();
    let live = Arc::new(Live::default());
    crate::signals::on_stop("bridge", Some(Arc::clone(&live)), move || on_signal.stop())?;
    eprintln!("netring: bridging {} <-> {}", a.port_a, a.port_b);
    let mut progress = Progress::new(a.report.quiet || a.report.json());
    let start = Instant::now();
    let mut seen = 0u64;
    let drop = a.drop_ethertypes.clone();
    let outcome = bridge.run(a.until.duration, |pkt, _dir: BridgeDirection| {
        seen += 1;
        live.add(1, pkt.original_len() as u64);
        if seen.is_multiple_of(1024) {
            progress.show(|| format!("bridge: {seen} frames, {}", output::rate(seen, start.elapsed().as_secs_f64())));
        }
        match pkt.data().get(12..14) {
            Some(t) if drop.contains(&u16::from_be_bytes([t[0], t[1]])) => BridgeAction::Drop,
            _ => BridgeAction::Forward,
        }
    });
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let s = bridge.stats();
    if a.report.json() {
        let v = serde_json::json!({
            "a_to_b": direction_json(&s.a_to_b),
            "b_to_a": direction_json(&s.b_to_a),
            "seconds": seconds,
        });
        crate::output::stdout_line(&v)?;
    }
    for (name, d) in
        [(format!("{} -> {}", a.port_a, a.port_b), s.a_to_b), (format!("{} -> {}", a.port_b, a.port_a), s.b_to_a)]
    {
        eprintln!(
            "netring bridge: {name}: {} forwarded ({} bytes), {} dropped by rule, {} too large, {} lost to a full TX ring",
            d.forwarded, d.bytes, d.dropped, d.too_large, d.tx_full
        );
    }
    outcome?;
    Ok(ExitCode::SUCCESS)
}
