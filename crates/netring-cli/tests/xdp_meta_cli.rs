//! `capture --backend xdp -w FILE` with the XDP program's per-frame
//! timestamps (issue 18): a burst from the peer lands in the file with a
//! distinct, later time for every frame (checked by tshark's
//! `frame.time_delta`), and `info` names the RX metadata kfuncs the
//! device implements. Needs root, `ip` and `tshark`.

mod common;

use std::time::Duration;

use common::{finish, netring_in, require_root, scratch, spawn_ready};
use netring::RawSender;
use netring::testkit::{SeqFrames, VethConfig, VethLink};

const WAIT: Duration = Duration::from_secs(10);

fn veth() -> VethLink {
    require_root();
    netring::testkit::require_tool("ip");
    VethConfig::default().queues(1).create().expect("veth link")
}

#[test]
fn an_af_xdp_capture_writes_a_distinct_later_time_for_every_frame_of_a_burst() {
    netring::testkit::require_tool("tshark");
    let l = veth();
    let file = scratch("xdp-meta.pcap");
    const N: u64 = 300;
    let n = N.to_string();
    let path = file.to_str().unwrap();
    let (child, first) = spawn_ready(
        &mut netring_in(
            &l.b,
            &["capture", "-i", &l.b.name, "--backend", "xdp", "--xdp-attach", "native", "-c", &n, "-w", path],
        ),
        "listening on",
    );
    assert!(first.contains("XDP program timestamps; from the device where it gives them: "), "{first}");
    // veth has all three kfuncs; the RX hash is asked for only with the
    // library's rxhash(true), the device's time only with -j adapter_unsynced.
    assert!(first.contains("them: VLAN") && !first.contains("RX hash"), "{first}");
    assert!(!first.contains("device time") && !first.contains("(no device time"), "{first}");
    let g = SeqFrames::default();
    l.a.run(|name| {
        let tx = RawSender::open(name).unwrap();
        for i in 0..N {
            tx.send(&g.build(i, 64)).unwrap();
        }
    })
    .unwrap();
    let out = finish(child, WAIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ts = std::process::Command::new("tshark")
        .args(["-r", path, "-T", "fields", "-e", "frame.time_delta", "-e", "frame.len"])
        .output()
        .unwrap();
    assert!(ts.status.success(), "{}", String::from_utf8_lossy(&ts.stderr));
    let rows: Vec<(f64, u32)> = String::from_utf8_lossy(&ts.stdout)
        .lines()
        .map(|l| {
            let (d, len) = l.split_once('\t').unwrap();
            (d.parse().unwrap(), len.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), N as usize);
    assert!(rows.iter().all(|&(_, len)| len == 64), "frames without the metadata bytes");
    for (i, &(delta, _)) in rows.iter().enumerate().skip(1) {
        assert!(delta > 0.0, "frame {}: time_delta {delta}", i + 1);
    }
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn an_af_xdp_capture_asked_for_the_devices_clock_on_veth_says_why_it_has_the_programs() {
    let l = veth();
    let name = &l.b.name;
    let mut cmd = netring_in(&l.b, &["capture", "-i", name, "--backend", "xdp", "--xdp-attach", "native"]);
    cmd.args(["-j", "adapter_unsynced", "-c", "5", "-q", "--json"]);
    let (child, first) = spawn_ready(&mut cmd, "listening on");
    assert!(first.contains("XDP program timestamps"), "{first}");
    assert!(first.contains("(no device time: ") && first.contains("hardware clock"), "{first}");
    let g = SeqFrames::default();
    l.a.run(|name| {
        let tx = RawSender::open(name).unwrap();
        for i in 0..5 {
            tx.send(&g.build(i, 64)).unwrap();
        }
    })
    .unwrap();
    let out = finish(child, WAIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(common::json_of(&out)["packets"], 5);
}

#[test]
fn info_names_the_rx_metadata_kfuncs_veth_implements() {
    let l = veth();
    let out = netring_in(&l.b, &["info", &l.b.name, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = common::json_of(&out);
    let k = &v["interfaces"][0]["xdp_rx_metadata_kfuncs"];
    for (name, func) in [
        ("bpf_xdp_metadata_rx_timestamp", "veth_xdp_rx_timestamp"),
        ("bpf_xdp_metadata_rx_hash", "veth_xdp_rx_hash"),
        ("bpf_xdp_metadata_rx_vlan_tag", "veth_xdp_rx_vlan_tag"),
    ] {
        assert_eq!(k[name].as_str(), Some(format!("yes ({func})").as_str()), "{v}");
    }
    let t = &v["interfaces"][0]["af_xdp_tx_metadata"];
    assert_eq!((t["metadata"].as_bool(), t["launch_time"].as_bool()), (Some(true), Some(true)), "Linux 6.15+: {v}");
    // Loopback has no native XDP: no kfunc of its own.
    let out = netring_in(&l.b, &["info", "lo"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("XDP RX metadata kfuncs: rx_timestamp no, rx_hash no, rx_vlan_tag no"), "{text}");
    assert!(text.contains("AF_XDP TX metadata: yes in this kernel (checksum, TX timestamp, launch time)"), "{text}");
}
