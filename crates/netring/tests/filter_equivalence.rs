//! netring's filter compiler against libpcap's, without privileges or
//! tcpdump: for every expression of the corpus and every frame of the packet
//! corpus, our program and libpcap's (cached in `reference.txt`) give the
//! same verdict and the same accept length, both run in our interpreter.
//! Expressions libpcap refuses, we refuse too, at a column.

mod common;

use common::filter_corpus::{Frame, Reference, expressions, packets, references, run_reference};
use netring::Error;
use netring::filter::expr::{Optimize, Target};
use netring::filter::{FilterMeta, expr};

/// Frames beyond the crafted ones (≥ 5,000 in all).
const GENERATED: usize = 5000;
const SNAPLEN: u32 = 262_144;
/// Sections whose every expression must accept some frames of the corpus
/// and reject others (the frames of those families are crafted for them).
const ENCAPSULATION_SECTIONS: &[&str] =
    &["MPLS and PPPoE", "802.2 LLC and ISO", "DECnet and AppleTalk", "Broadcast and multicast", "protochain", "Geneve"];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ratio_stats(mut r: Vec<f64>) -> (f64, f64, f64) {
    r.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (r[r.len() / 2], r[0], r[r.len() - 1])
}

#[test]
fn every_expression_matches_libpcap_on_every_packet() {
    let refs = references();
    let frames: Vec<Frame> = packets(GENERATED);
    assert!(frames.len() >= 5000, "packet corpus has {} frames", frames.len());
    let metas: Vec<FilterMeta> = frames.iter().map(|f| FilterMeta::for_capture(&f.data, f.wire_len)).collect();

    let (mut equal, mut refused, mut identical) = (0, 0, 0);
    // Per section: expressions equal, and the largest ratio of instruction counts (ours / libpcap's).
    let mut by_section: std::collections::BTreeMap<String, (usize, f64)> = Default::default();
    let mut failures = Vec::new();
    let mut ratios = Vec::new();
    let mut worst = (0.0, String::new());
    for e in expressions() {
        let reference = refs.get(&e.text).unwrap_or_else(|| panic!("no reference for {:?}: regenerate", e.text));
        let ours = expr::compile(&e.text, SNAPLEN);
        match (reference, ours) {
            (Reference::Error(theirs), Ok(p)) => {
                failures.push(format!("{:?}: libpcap refuses ({theirs}), we compile {} insns", e.text, p.len()))
            }
            (Reference::Error(_), Err(err)) => {
                // A column for syntax and meaning errors.
                if let Error::InvalidExpression { column, .. } = err {
                    assert!(column >= 1 && column <= e.text.chars().count() + 1, "{:?}: column {column}", e.text);
                }
                refused += 1;
            }
            (Reference::Program(_), Err(err)) if e.refused_on_purpose => {
                // `byte N &|` is a libpcap bug; a program that can accept
                // nothing is refused (libpcap's optimizer misses some).
                let m = err.to_string();
                assert!(
                    m.contains("backward jump") || m.contains("libpcap compiles") || m.contains("rejects all packets"),
                    "{:?}: {err}",
                    e.text
                );
            }
            (Reference::Program(_), Err(err)) => {
                failures.push(format!("{:?}: libpcap compiles, we fail: {err}", e.text))
            }
            (Reference::Program(_), Ok(_)) if e.refused_on_purpose => {
                failures.push(format!("{:?}: marked as refused on purpose but compiles", e.text))
            }
            (Reference::Program(theirs), Ok(p)) => {
                let (mut bad, mut accepted) = (0, 0);
                for (f, m) in frames.iter().zip(&metas) {
                    let a = run_reference(theirs, &f.data, m);
                    let b = p.run(&f.data, m);
                    accepted += usize::from(a != 0);
                    if a != b {
                        if bad < 3 {
                            failures.push(format!(
                                "{:?}: libpcap {a}, ours {b} on {} frame (wire {}) {}",
                                e.text,
                                f.what,
                                f.wire_len,
                                hex(&f.data)
                            ));
                        }
                        bad += 1;
                    }
                }
                if ENCAPSULATION_SECTIONS.contains(&e.section.as_str()) && (accepted == 0 || accepted == frames.len()) {
                    failures.push(format!(
                        "{:?}: libpcap's program accepts {accepted} of {} frames: the corpus does not tell it apart",
                        e.text,
                        frames.len()
                    ));
                }
                if bad == 0 {
                    equal += 1;
                    identical += usize::from(p.instructions() == &theirs[..]);
                    let r = p.len() as f64 / theirs.len() as f64;
                    let s = by_section.entry(e.section.clone()).or_default();
                    *s = (s.0 + 1, s.1.max(r));
                    if r > worst.0 {
                        worst = (r, format!("{} ({} vs {})", e.text, p.len(), theirs.len()));
                    }
                    ratios.push(r);
                }
            }
        }
    }
    let (median, best, max) = ratio_stats(ratios);
    eprintln!(
        "filter equivalence: {equal} expressions equal to libpcap on {} frames ({identical} of them instruction for \
         instruction), {refused} refused by both; instructions ours/libpcap: median {median:.2}, best {best:.2}, \
         worst {max:.2} ({})",
        frames.len(),
        worst.1
    );
    let sections: Vec<String> =
        by_section.iter().map(|(s, (n, worst))| format!("{s}: {n} (worst ratio {worst:.2})")).collect();
    eprintln!("filter equivalence per construct: {}", sections.join("; "));
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    assert!(equal >= 400, "only {equal} expressions proven equal");
}

#[test]
fn packet_corpus_covers_every_kind() {
    let frames = packets(GENERATED);
    for (what, min) in [
        ("ipv4", 1000),
        ("ipv6", 500),
        ("arp", 500),
        ("experimental", 100),
        ("llc", 100),
        ("truncated", 1000),
        ("runt", 100),
        ("ipv4-frag", 7),
        ("ipv4-ihl", 16),
        ("length", 17),
        ("mpls", 40),
        ("pppoe", 20),
        ("legacy", 150),
    ] {
        let n = frames.iter().filter(|f| f.what == what).count();
        assert!(n >= min, "only {n} {what} frames");
    }
    let tagged = frames.iter().filter(|f| f.data.len() >= 14 && f.data[12..14] == [0x81, 0]).count();
    let qinq = frames.iter().filter(|f| f.data.len() >= 14 && f.data[12..14] == [0x88, 0xa8]).count();
    assert!(tagged >= 100 && qinq >= 100, "802.1Q {tagged}, QinQ {qinq}");
    let v4_opts = frames.iter().filter(|f| f.what == "ipv4" && f.data.len() > 14 && f.data[14] > 0x45).count();
    assert!(v4_opts >= 100, "IPv4 with options: {v4_opts}");
    let proto = |p: u8| frames.iter().filter(|f| f.what == "ipv4" && f.data.len() > 23 && f.data[23] == p).count();
    for p in [6u8, 17, 1, 132] {
        assert!(proto(p) >= 50, "IPv4 protocol {p}: {}", proto(p));
    }
    let ext6 = frames
        .iter()
        .filter(|f| f.what == "ipv6" && f.data.len() > 20 && [0, 43, 44, 60].contains(&f.data[20]))
        .count();
    assert!(ext6 >= 100, "IPv6 with extension headers: {ext6}");
}

#[test]
fn optimizer_on_and_off_give_the_same_verdicts() {
    let frames: Vec<Frame> = packets(GENERATED);
    let metas: Vec<FilterMeta> = frames.iter().map(|f| FilterMeta::for_capture(&f.data, f.wire_len)).collect();
    let (mut compared, mut longer) = (0, 0);
    let mut failures = Vec::new();
    for e in expressions() {
        for target in [Target::Offline, Target::LiveAfPacket] {
            let (Ok(on), Ok(off)) = (
                expr::compile_with(&e.text, SNAPLEN, target, Optimize::Full),
                expr::compile_with(&e.text, SNAPLEN, target, Optimize::Off),
            ) else {
                continue;
            };
            compared += 1;
            longer += usize::from(off.len() > on.len());
            for (f, m) in frames.iter().zip(&metas) {
                let tagged = FilterMeta { vlan_tci: Some(5), vlan_tpid: 0x8100, ..*m };
                for m in [m, &tagged] {
                    let (a, b) = (on.run(&f.data, m), off.run(&f.data, m));
                    if a != b {
                        failures.push(format!("{:?} ({target:?}): on {a}, off {b} on {}", e.text, hex(&f.data)));
                        break;
                    }
                }
            }
        }
    }
    eprintln!("optimizer on/off: {compared} programs equal, {longer} of them shorter with the optimizer on");
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures[..failures.len().min(20)].join("\n"));
    assert!(compared >= 500 && longer >= 100, "compared {compared}, shortened {longer}");
}
