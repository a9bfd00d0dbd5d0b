//! Captures on every interface (`-i any`) are cooked: the socket's filter
//! sees each packet from its network header, with the EtherType in the
//! metadata ([`Program::for_cooked`]). libpcap compiles such captures for
//! its cooked link types, LINUX_SLL and LINUX_SLL2, whose records start
//! with a header holding that EtherType. For every corpus expression that
//! both compile, our cooked program on the network header and libpcap's
//! program on the same packet as an SLL / SLL2 record give the same verdict
//! and accept length, on every untagged frame of the packet corpus.
//!
//! Two kinds of expression differ on purpose and are counted apart (see
//! [`differs_on_purpose`]): lengths and link-layer bytes (`len`, `less`,
//! `greater`, `byte`, `ether[…]` count from the network header on a cooked
//! socket, from the SLL header in libpcap), and the 802.2 family (`llc`,
//! `stp`, `ipx`, `iso`, `isis` …, AppleTalk over SNAP), which libpcap
//! compiles for SLL by the 802.2/802.3 protocol numbers and its own
//! offsets, and for SLL2 partly not at all.
//!
//! Needs `tcpdump` on PATH (`.ci/run` installs it); no privileges.

mod common;

use std::process::Command;

use common::filter_corpus::{expressions, packets, run_reference};
use netring::filter::{FilterMeta, disasm, expr};

const SNAPLEN: u32 = 262_144;

/// libpcap's program for `e` on link type `dlt`, or its error.
fn libpcap(dlt: &str, e: &str) -> Result<Vec<netring::filter::Instruction>, String> {
    let out = Command::new("tcpdump")
        .args(["-y", dlt, "-s", "262144", "-ddd", "--", e])
        .output()
        .expect("this test needs `tcpdump` on PATH; `.ci/run` installs it (apt-get install tcpdump)");
    if out.status.success() {
        Ok(disasm::parse_decimal(&String::from_utf8_lossy(&out.stdout)).expect("a -ddd listing"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Expressions whose cooked program is not libpcap's SLL program (see the
/// module docs).
fn differs_on_purpose(e: &str) -> bool {
    const WORDS: &[&str] = &[
        "len", "less", "greater", "byte", "ether[", "llc", "stp", "ipx", "netbeui", "iso", "isis", "is-is", "esis",
        "es-is", "clnp", "l1", "l2", "iih", "lsp", "snp", "atalk", "aarp",
    ];
    let llc_proto = e.strip_prefix("ether proto ").is_some_and(|v| {
        let n = v.strip_prefix("0x").map_or_else(|| v.parse().ok(), |h| u32::from_str_radix(h, 16).ok());
        n.is_some_and(|n| n <= 1500 || n == 0x809b || n == 0x80f3)
    });
    llc_proto || WORDS.iter().any(|w| e.contains(w))
}

/// A frame as a cooked socket sees it: the network header on, and
/// `skb->protocol` (802.3 frames: 802.2 LLC, or raw 802.3 for IPX).
struct Cooked {
    payload: Vec<u8>,
    protocol: u16,
    src: [u8; 6],
    wire_len: u32,
}

fn sll(c: &Cooked) -> Vec<u8> {
    // pkttype (host), ARPHRD_ETHER, address length 6, address (8 bytes), protocol.
    let mut h = vec![0, 0, 0, 1, 0, 6];
    h.extend(c.src);
    h.extend([0, 0]);
    h.extend(c.protocol.to_be_bytes());
    h.extend(&c.payload);
    h
}

fn sll2(c: &Cooked) -> Vec<u8> {
    // protocol, reserved, ifindex 1, ARPHRD_ETHER, pkttype (host), address length 6, address.
    let mut h = c.protocol.to_be_bytes().to_vec();
    h.extend([0, 0, 0, 0, 0, 1, 0, 1, 0, 6]);
    h.extend(c.src);
    h.extend([0, 0]);
    h.extend(&c.payload);
    h
}

#[test]
fn cooked_programs_match_libpcaps_sll_and_sll2_programs() {
    let frames: Vec<Cooked> = packets(3000)
        .into_iter()
        .filter(|f| f.data.len() >= 16 && ![[0x81, 0], [0x88, 0xa8], [0x91, 0]].contains(&[f.data[12], f.data[13]]))
        .map(|f| {
            let t = u16::from_be_bytes([f.data[12], f.data[13]]);
            let protocol = match t {
                t if t > 1500 => t,
                _ if f.data[14..16] == [0xff, 0xff] => 0x0001,
                _ => 0x0004,
            };
            let mut src = [0u8; 6];
            src.copy_from_slice(&f.data[6..12]);
            Cooked { payload: f.data[14..].to_vec(), protocol, src, wire_len: f.wire_len - 14 }
        })
        .collect();
    assert!(frames.len() > 2500, "{} cooked frames", frames.len());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (dlt, header, record) in [("LINUX_SLL", 16u32, sll as fn(&Cooked) -> Vec<u8>), ("LINUX_SLL2", 20, sll2)] {
        let (mut equal, mut both_refuse, mut only_we_refuse, mut only_libpcap_refuses, mut apart) = (0, 0, 0, 0, 0);
        for e in expressions() {
            if e.text.contains("vlan") || e.text.contains("bound") || e.text.contains("ifindex") {
                continue; // tags and directions are metadata on a live socket: filter_kernel's business
            }
            let ours = expr::compile(&e.text, SNAPLEN).and_then(|p| p.for_cooked());
            match (libpcap(dlt, &e.text), ours) {
                (Err(_), Err(_)) => both_refuse += 1,
                (Ok(_), Err(_)) => only_we_refuse += 1,
                (Err(_), Ok(_)) => only_libpcap_refuses += 1,
                (Ok(_), Ok(_)) if differs_on_purpose(&e.text) => apart += 1,
                (Ok(theirs), Ok(ours)) => {
                    let mut bad = 0;
                    for c in &frames {
                        let rec = record(c);
                        let theirs_meta = FilterMeta::for_capture(&rec, c.wire_len + header);
                        let meta =
                            FilterMeta { protocol: c.protocol, ..FilterMeta::for_capture(&c.payload, c.wire_len) };
                        let (a, b) = (run_reference(&theirs, &rec, &theirs_meta), ours.run(&c.payload, &meta));
                        if a != b && bad == 0 {
                            failures.push(format!("{dlt} {:?}: libpcap {a}, ours {b} on {:02x?}", e.text, c.payload));
                        }
                        bad += usize::from(a != b);
                    }
                    equal += usize::from(bad == 0);
                }
            }
        }
        report.push(format!(
            "{dlt}: {equal} equal, {both_refuse} refused by both, {only_we_refuse} refused by us only (link-layer \
             bytes), {only_libpcap_refuses} refused by libpcap only, {apart} differing on purpose not compared"
        ));
        assert!(equal >= 300, "{dlt}: only {equal} expressions equal");
    }
    eprintln!("cooked filters: {}", report.join("; "));
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}
