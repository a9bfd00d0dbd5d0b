//! The fuzz targets' properties (see `fuzz/`), checked with proptest so
//! they run everywhere, without nightly or cargo-fuzz: the expression
//! parser never panics and reports a column inside the text; every program
//! the compiler produces passes the kernel's validation, for both targets
//! and both optimizer levels, which agree on every verdict; the interpreter
//! never panics on any program and any packet; nesting deeper than the
//! limit and alternations of a thousand terms give an error or a valid
//! program, never an abort.

use netring::filter::expr::{self, Optimize, Target};
use netring::filter::{FilterMeta, Instruction, interp, validate};
use proptest::prelude::*;

/// Words and punctuation of the language, so random sentences get deep
/// into the grammar rather than failing at the first character.
const WORDS: &[&str] = &[
    "ip",
    "ip6",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp6",
    "arp",
    "rarp",
    "ether",
    "vlan",
    "host",
    "net",
    "port",
    "portrange",
    "src",
    "dst",
    "proto",
    "and",
    "or",
    "not",
    "len",
    "less",
    "greater",
    "broadcast",
    "multicast",
    "inbound",
    "outbound",
    "ifindex",
    "byte",
    "mask",
    "tcpflags",
    "tcp-syn",
    "icmp-echo",
    "igmp",
    "pim",
    "ah",
    "(",
    ")",
    "[",
    "]",
    ":",
    "&",
    "|",
    "^",
    "%",
    "+",
    "-",
    "*",
    "/",
    "<<",
    ">>",
    "=",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "!",
    "&&",
    "||",
    "0",
    "1",
    "2",
    "4",
    "5",
    "6",
    "12",
    "14",
    "17",
    "80",
    "0x800",
    "0xf",
    "255",
    "4095",
    "65535",
    "198.18.0.1",
    "198.18.0.0/15",
    "2001:2::1",
    "02:00:00:00:00:01",
    "80-90",
    "\\tcp",
    "foo",
];

fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..14).prop_map(|w| w.join(" "))
}

/// A tagged TCP/IPv4 frame and what a short capture of it leaves.
fn frames() -> Vec<(Vec<u8>, FilterMeta)> {
    let f: Vec<u8> = [
        &[2u8, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 5, 8, 0, 0x46, 0, 0, 48, 0, 1, 0x20, 0, 64, 6, 0, 0][..],
        &[198, 18, 0, 1, 198, 18, 0, 2, 1, 1, 1, 1, 0, 80, 1, 187, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff],
        &[0, 0, 0, 0, 1, 2, 3, 4],
    ]
    .concat();
    let mut out = Vec::new();
    for cut in [0, 13, 14, 16, 18, 19, 30, 40, 50, 55, f.len()] {
        let d = f[..cut].to_vec();
        let live = FilterMeta { vlan_tci: Some(5), vlan_tpid: 0x8100, pkttype: 4, ..FilterMeta::for_capture(&d, 66) };
        out.push((d.clone(), FilterMeta::for_capture(&d, 66)));
        out.push((d, live));
    }
    out
}

/// Deep nesting (issue 15): a sentence inside up to 600 openers — `(`,
/// `not`, `!`, unary minus, `%`-chains, indexes — closed or not.
fn deep() -> impl Strategy<Value = String> {
    const OPEN: &[(&str, &str)] =
        &[("(", ")"), ("not ", ""), ("!", ""), ("- ", ""), ("ether[", "] = 1"), ("1 % ", ""), ("(1 + ", ")")];
    (prop::collection::vec(prop::sample::select(OPEN), 0..600), sentence(), any::<bool>()).prop_map(
        |(openers, inner, close)| {
            let mut s: String = openers.iter().map(|(o, _)| *o).collect();
            s.push_str(&inner);
            if close {
                openers.iter().rev().for_each(|(_, c)| s.push_str(c));
            }
            s
        },
    )
}

/// Long alternations and conjunctions (issue 15): up to 1,500 short terms.
fn long_chain() -> impl Strategy<Value = String> {
    const TERMS: &[&str] = &["port 80", "ip", "tcp", "host 198.18.0.1", "ether[0] = 1", "ip[0] + 1 = 2", "vlan", "443"];
    prop::collection::vec((prop::sample::select(TERMS), prop::sample::select(&["or", "and", "or not"][..])), 0..1500)
        .prop_map(|v| v.iter().map(|(t, j)| format!("{t} {j}")).collect::<Vec<_>>().join(" ") + " ip")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn deep_and_long_expressions_never_abort(text in prop_oneof![deep(), long_chain()]) {
        for target in [Target::Offline, Target::LiveAfPacket] {
            match expr::compile_for(&text, 262_144, target) {
                Ok(p) => prop_assert!(validate(p.instructions()).is_ok()),
                Err(netring::Error::InvalidExpression { column, .. }) => {
                    prop_assert!(column >= 1 && column <= text.chars().count() + 1, "column {} of {:?}", column, text)
                }
                Err(netring::Error::InvalidFilter { .. }) => {}
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_and_errors_point_inside(text in prop_oneof![sentence(), any::<String>()]) {
        if let Err(e) = expr::check(&text) {
            prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "column {} of {:?}", e.column, text);
        }
    }

    #[test]
    fn compiled_programs_validate_and_both_levels_agree(text in sentence()) {
        let frames = frames();
        for target in [Target::Offline, Target::LiveAfPacket] {
            let on = expr::compile_with(&text, 262_144, target, Optimize::Full);
            let off = expr::compile_with(&text, 262_144, target, Optimize::Off);
            prop_assert_eq!(on.is_ok(), off.is_ok(), "{:?}", text);
            if let (Ok(on), Ok(off)) = (on, off) {
                prop_assert!(validate(on.instructions()).is_ok());
                prop_assert!(validate(off.instructions()).is_ok());
                for (d, m) in &frames {
                    prop_assert_eq!(on.run(d, m), off.run(d, m), "{:?} on {} bytes", text, d.len());
                }
            }
        }
    }

    #[test]
    fn the_interpreter_never_panics(
        insns in prop::collection::vec((any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>()), 0..40),
        packet in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let insns: Vec<Instruction> = insns.into_iter().map(|(c, t, f, k)| Instruction::new(c, t, f, k)).collect();
        let v = interp::run(&insns, &packet, &FilterMeta::for_frame(&packet));
        prop_assert_eq!(v, interp::run(&insns, &packet, &FilterMeta::for_frame(&packet)));
    }
}
