//! `netring info [IF]`: what an interface is and what it supports —
//! index, MTU, MAC, driver, queue counts, which XDP attach modes work, and
//! which XDP RX metadata kfuncs its driver implements.

use std::process::ExitCode;

use netring::Error;
use netring::interface::{self, LinkInfo};

use crate::args::{Json, NetnsArg};
use crate::output;

/// Arguments of `netring info`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |a| a.help("Print one JSON object on stdout")))]
pub struct Args {
    /// The interface; without it, every interface is listed (XDP modes are
    /// then not probed).
    interface: Option<String>,
    /// Do not probe XDP attach modes (probing attaches a program that only
    /// returns XDP_PASS for a moment; some NIC drivers restart their queues
    /// when native XDP is attached).
    #[arg(long)]
    no_probe: bool,
    #[command(flatten)]
    json: Json,
    #[command(flatten)]
    ns: NetnsArg,
}

/// What `info` reports about one interface.
struct Row {
    link: LinkInfo,
    driver: Option<String>,
    rx_queues: u32,
    tx_queues: u32,
    /// `Ok(modes)` when probed, `Err(why not)` otherwise.
    xdp_modes: Result<Vec<&'static str>, String>,
    /// Each XDP RX metadata kfunc and what the driver does with it (probed
    /// with the modes).
    rx_kfuncs: Option<Result<[(&'static str, netring::bpf::KfuncSupport); 3], String>>,
    /// What AF_XDP TX metadata the kernel accepts (probed with the modes).
    tx_metadata: Option<Result<netring::afxdp::XdpTxMetadataSupport, String>>,
}

/// `netring info`'s line on AF_XDP TX metadata.
fn tx_metadata_text(t: &Result<netring::afxdp::XdpTxMetadataSupport, String>) -> String {
    match t {
        Ok(s) if s.metadata => format!(
            "yes in this kernel (checksum, TX timestamp{}); copy mode: served by the kernel; zero-copy: the driver's xsk-features (not probed)",
            if s.launch_time { ", launch time" } else { "; launch time needs Linux 6.15" }
        ),
        Ok(s) => format!("no ({})", s.refused.as_deref().unwrap_or("refused")),
        Err(e) => format!("not probed ({e})"),
    }
}

fn mac(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

fn describe(link: LinkInfo, probe: bool) -> Row {
    let driver = interface::driver(&link.name).ok().map(|d| d.driver).filter(|d| !d.is_empty());
    // Queues in use (ethtool -l); the allocated counts from rtnetlink otherwise.
    let (rx_queues, tx_queues) = match interface::channels(&link.name) {
        Ok(c) if c.rx_queues() > 0 && c.tx_queues() > 0 => (c.rx_queues(), c.tx_queues()),
        _ => (link.rx_queues, link.tx_queues),
    };
    let xdp_modes = if link.xdp_prog_id != 0 {
        Err(format!("in use by XDP program {}", link.xdp_prog_id))
    } else if !probe {
        Err("not probed".into())
    } else {
        match netring::bpf::probe_modes(&link.name) {
            Ok(m) => Ok(m.iter().map(|m| m.as_str()).collect()),
            Err(e) => Err(e.to_string()),
        }
    };
    // A device-bound program is loaded (never attached) to see which
    // kfuncs the driver's own functions replace.
    let rx_kfuncs = probe.then(|| netring::bpf::probe_rx_kfuncs(&link.name).map_err(|e| e.to_string()));
    let tx_metadata = probe.then(|| netring::afxdp::probe_tx_metadata().map_err(|e| e.to_string()));
    Row { link, driver, rx_queues, tx_queues, xdp_modes, rx_kfuncs, tx_metadata }
}

/// Run `netring info`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    // Everything is read (and probed) inside the namespace.
    let rows: Vec<Row> = a.ns.run(|| {
        Ok(match &a.interface {
            Some(name) => vec![describe(interface::link_info(name)?, !a.no_probe)],
            None => interface::list()?.into_iter().map(|l| describe(l, false)).collect(),
        })
    })?;
    if a.json.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "index": r.link.index,
                    "name": r.link.name,
                    "up": r.link.flags & interface::IFF_UP != 0,
                    "mtu": r.link.mtu,
                    "mac": mac(&r.link.address),
                    "driver": r.driver,
                    "rx_queues": r.rx_queues,
                    "tx_queues": r.tx_queues,
                    "xdp_prog_id": r.link.xdp_prog_id,
                    "xdp_modes": r.xdp_modes.as_ref().ok(),
                    "xdp_probe": r.xdp_modes.as_ref().err(),
                    "af_xdp_tx_metadata": r.tx_metadata.as_ref().map(|t| match t {
                        Ok(s) => serde_json::json!({
                            "metadata": s.metadata, "launch_time": s.launch_time, "refused": s.refused,
                        }),
                        Err(e) => serde_json::json!({ "error": e }),
                    }),
                    "xdp_rx_metadata_kfuncs": r.rx_kfuncs.as_ref().map(|k| match k {
                        Ok(list) => serde_json::Value::Object(
                            list.iter().map(|(n, s)| ((*n).to_owned(), serde_json::Value::from(s.to_string()))).collect(),
                        ),
                        Err(e) => serde_json::json!({ "error": e }),
                    }),
                })
            })
            .collect();
        crate::output::stdout_line(serde_json::json!({ "interfaces": list }))?;
    } else {
        let table = output::table(
            &["index", "name", "state", "mtu", "mac", "driver", "rx/tx queues", "xdp modes"],
            &rows
                .iter()
                .map(|r| {
                    vec![
                        r.link.index.to_string(),
                        r.link.name.clone(),
                        if r.link.flags & interface::IFF_UP != 0 { "up" } else { "down" }.into(),
                        r.link.mtu.to_string(),
                        mac(&r.link.address),
                        r.driver.clone().unwrap_or_else(|| "-".into()),
                        format!("{}/{}", r.rx_queues, r.tx_queues),
                        match &r.xdp_modes {
                            Ok(m) if m.is_empty() => "none".into(),
                            Ok(m) => m.join(", "),
                            Err(why) => format!("({why})"),
                        },
                    ]
                })
                .collect::<Vec<_>>(),
        );
        crate::output::stdout(&table)?;
        for r in &rows {
            match &r.rx_kfuncs {
                Some(Ok(list)) => {
                    let short = |n: &str| n.trim_start_matches("bpf_xdp_metadata_").to_owned();
                    let parts: Vec<String> = list.iter().map(|(n, s)| format!("{} {s}", short(n))).collect();
                    crate::output::stdout(&format!("XDP RX metadata kfuncs: {}\n", parts.join(", ")))?;
                }
                Some(Err(e)) => crate::output::stdout(&format!("XDP RX metadata kfuncs: not probed ({e})\n"))?,
                None => {}
            }
            if let Some(t) = &r.tx_metadata {
                crate::output::stdout(&format!("AF_XDP TX metadata: {}\n", tx_metadata_text(t)))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
