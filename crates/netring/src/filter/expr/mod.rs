//! The tcpdump filter language (pcap-filter(7)), compiled to classic BPF in
//! pure Rust.
//!
//! ```
//! use netring::filter::{FilterMeta, expr};
//! let p = expr::compile("tcp dst port 443 and not net 198.18.0.0/15", 262_144)?;
//! let frame = [0u8; 60];
//! assert!(!p.matches(&frame, &FilterMeta::for_frame(&frame)));
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! # What is covered
//! Everything libpcap 1.10 accepts on an Ethernet link except what the
//! list of refusals below names:
//!
//! - `host`, `net` (`/len`, `mask`), `port`, `portrange LO-HI` with `src`,
//!   `dst`, `src or dst`, `src and dst`; `ether host`/`src`/`dst`, `ether
//!   proto`, `ether broadcast`/`multicast` (and plain `broadcast`/`multicast`);
//! - `ip`, `ip6`, `arp`, `rarp`, `tcp`, `udp`, `sctp`, `icmp`, `icmp6`,
//!   `igmp`, `igrp`, `pim`, `vrrp`, `carp`, `ah`, `esp`; `ip proto`, `ip6
//!   proto` (following a fragment header, as libpcap does), `proto`
//!   (numbers and `\names`); `ip`/`ip6 multicast`; port tests skip non-first
//!   IPv4 fragments;
//! - `vlan [ID]`, stacked, moving every later offset by a tag — on a live
//!   socket the outer tag is read from the metadata the kernel took it into
//!   ([`Target`]);
//! - `mpls [LABEL]`, stacked (an inner label checks that the one before it
//!   is not the bottom of the stack), moving the network header behind
//!   each label; behind labels only IPv4 and IPv6 are recognised, by the
//!   bottom-of-stack bit and the IP version, as libpcap does; `pppoed`,
//!   `pppoes [ID]`, after which the link is the PPP link inside the
//!   session (`ip`, `ip6`, … test the PPP protocol, `ether[…]` counts from
//!   it, Ethernet addresses and `vlan` are refused, as in libpcap);
//! - `geneve [VNI]` over IPv4 and IPv6, after which the terms read the
//!   inner headers (an Ethernet frame for protocol type 0x6558, else the
//!   protocol type is the EtherType and the network header follows), as
//!   libpcap's registers make them do, under `or`, `not` and parentheses
//!   too, with `vlan`, `mpls` and `pppoes` after it (read in the inner
//!   headers) and `geneve` inside `geneve` (at most five, as libpcap's
//!   scratch memory holds). As in libpcap, each `geneve` stores the inner
//!   offsets into three scratch cells of its own where it matches, and
//!   later terms load relative to them (`geneve and tcp port 80`: 103
//!   instructions, libpcap 88). Where a term after `geneve` is reached on
//!   a path where the `geneve` did not match, libpcap's program reads cells
//!   never written there (the kernel's checker refuses that program); ours
//!   first sets the cells to zero, so it runs in the kernel and means what
//!   tcpdump's interpreter (which zeroes scratch memory) makes of libpcap's:
//!   every inner offset 0 and no inner Ethernet header;
//! - 802.2: `llc` (not raw 802.3), `llc i`/`s`/`u` and the subtypes `rr`,
//!   `rnr`, `rej`, `ui`, `ua`, `disc`, `dm`, `sabme`, `test`, `xid`,
//!   `frmr`; `stp`, `netbeui`, `ipx` (Ethernet II, SNAP, 802.2 or raw
//!   802.3), `iso`, `clnp`, `esis`, `isis`, `l1`, `l2`, `iih`, `lsp`, `snp`,
//!   `csnp`, `psnp`, `iso proto`, `isis proto`;
//! - DEC and AppleTalk: `decnet`, `lat`, `moprc`, `mopdl`, `sca`, `atalk`
//!   and `aarp` (EtherType or SNAP), `decnet [src|dst] [host] AREA.NODE`
//!   (short and long data headers, padded or not), `decnet[i]`, `atalk[i]`
//!   …;
//! - packet bytes and arithmetic: `proto[expr]`, `proto[expr:size]` (size 1,
//!   2 or 4) for `ether`/`link`, `ip`, `ip6`, `arp`, `rarp`, `tcp`, `udp`,
//!   `sctp`, `icmp`, `icmp6`, `igmp`, `igrp`, `pim`, `vrrp`, `carp`, with
//!   `+ - * / % & | ^ << >>` and unary `-`, computed offsets
//!   (`tcp[((tcp[12:1] & 0xf0) >> 2):4]`), `len`, and the named constants
//!   (`tcpflags`, `tcp-syn` …, `icmptype`, `icmp-echo` …, `icmp6type` …);
//!   `%` and `^` have no precedence in libpcap's grammar and take everything
//!   to their right, as there;
//! - `less`, `greater`, `byte N =|<|> V`, `inbound`, `outbound`, `ifindex N`;
//! - `and`/`or`/`not`, `&&`/`||`/`!`, parentheses; qualifiers carried over
//!   to bare values (`host 198.18.0.1 or 198.18.0.2`, `tcp port 80 or 443`);
//! - names, looked up as libpcap looks them up but never through DNS: host
//!   names in `/etc/hosts` (every address, IPv4 and IPv6), network names in
//!   `/etc/networks`, service names in `/etc/services` (TCP, UDP or both, as
//!   libpcap decides), protocol names in `/etc/protocols`, MAC names in
//!   `/etc/ethers`; a name none of them has is an error naming the file;
//! - MAC addresses in every notation of libpcap's scanner:
//!   `02:00:00:00:00:01`, `02-00-00-00-00-01`, `2.0.0.0.0.1`,
//!   `0200.0000.0001`, `020000000001`.
//!
//! - `[ip|ip6] protochain P`: libpcap compiles a loop over the header
//!   chain (a backward jump, which the kernel refuses, so libpcap filters
//!   in user space); here the walk is unrolled for 8 headers (hop-by-hop,
//!   destination options, routing, fragment, AH — with libpcap's way of
//!   counting the AH length from the network header), so the kernel runs
//!   it: the same verdict as libpcap's loop on every chain of at most 8
//!   headers before `P`; a longer chain counts as not found. The unrolled
//!   walk is some 5 times libpcap's instruction count (`ip6 protochain 6`:
//!   170 instructions, libpcap 36; each header step is 6 to 8 instructions).
//!
//! Refused with a clear error: `gateway` (as libpcap built with IPv6
//! refuses it); `byte N & V` and `byte N | V` (libpcap
//! compiles them without loading the byte); a program that accepts no
//! packet ("rejects all packets", where libpcap's optimizer sometimes
//! leaves one that tests and then rejects, as for `mpls and llc`);
//! keywords of other link types (802.11, ATM, pflog, MTP2), as libpcap
//! refuses them on Ethernet.
//!
//! # Limits
//! No input exhausts the compiler's stack or memory: nesting deeper than
//! [`MAX_DEPTH`] (parentheses, `not`, unary minus, indexes, `%`/`^`, and
//! chains of arithmetic operators) is refused at the column where it
//! goes past the limit; `and`/`or` chains of any length compile in a loop.
//! An expression that builds more than 131,072 tests, or still has more
//! than 8,192 once tests whose outcome is known are gone, is refused
//! before the optimizer runs (it could not fit in
//! [`MAX_INSNS`](crate::filter::MAX_INSNS) instructions), as is a program
//! over `MAX_INSNS`, naming the count and the limit. Like libpcap's, each
//! round of the optimizer makes every pull-up it finds (at most 64
//! rounds), so long alternations come out as short as libpcap's (`port`
//! alternations of 10, 100, 300 and 600 ports: 51, 372, 1,570 and 3,370
//! instructions, libpcap 51, 378, 1,572 and 3,372; 600 ports compile in
//! under a second in release, libpcap takes 30).
//!
//! # Equal to libpcap
//! For every expression of the corpus in `tests/data/filter/` (over 500,
//! with the ones libpcap rejects) and every frame of the packet corpus, the
//! program compiled here and the one libpcap 1.10 compiles give the same
//! verdict and the same accept length (the `filter_equivalence` test);
//! `filter_kernel` compares live programs with `tcpdump -i VETH -ddd` over
//! veth, VLAN tags and directions included.
//!
//! # The optimizer
//! Arithmetic is folded while parsing (constants, and a constant 0 that
//! decides `*`, `&`, `/`, `%` … as libpcap's optimizer decides it, dropping
//! the other operand's loads exactly as libpcap does); `and #m; jeq #0`
//! becomes `jset`, and `add`/`sub`/`xor` of a constant before `jeq` moves
//! into the constant. The code generator threads jumps over tests whose
//! outcome is known, pulls tests of one value together (libpcap's
//! pull-ups), removes tests whose outcomes meet, reuses loads every
//! predecessor already did, and merges identical blocks. [`Optimize::Off`]
//! leaves out what can only shorten the program; the two levels give the
//! same verdict on every packet (a test and a fuzz target check it).

/// How deeply an expression may nest: parentheses, `not`/`!`, unary
/// minus, packet-byte indexes, `%` and `^` (each takes everything to its
/// right) — and how long a chain of arithmetic operators may be (each
/// operator is at least one instruction, so a longer chain could not fit
/// in a program anyway). Deeper expressions are refused with
/// [`Error::InvalidExpression`] at the token that goes past the limit, so
/// no input exhausts the compiler's stack. `and`/`or` chains are not
/// limited by this: they compile in a loop, however long (the program
/// must still fit in [`MAX_INSNS`](crate::filter::MAX_INSNS) instructions).
/// libpcap's parser stops at a similar depth ("memory exhausted", at
/// 10,000 parentheses).
pub const MAX_DEPTH: usize = 200;

mod ast;
mod chain;
mod codegen;
mod dom;
mod emit;
mod geneve;
mod legacy;
mod lexer;
mod names;
mod parser;

use std::fmt;

use super::Program;
use crate::error::{Error, Result};

/// Which link the program is for.
///
/// The kernel takes the outer VLAN tag out of a frame before a socket
/// filter sees it (into `skb->vlan_tci`), while a capture file keeps it in
/// the bytes; libpcap therefore compiles `vlan` differently for the two.
/// For the core grammar both targets produce the same program, exactly as
/// libpcap does (checked against `tcpdump -i VETH -ddd` over a veth link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Target {
    /// Ethernet frames with their tags in the bytes: files, `netring
    /// filter`, what `tcpdump -y EN10MB -d` prints.
    #[default]
    Offline,
    /// A live AF_PACKET socket on an Ethernet interface.
    LiveAfPacket,
}

/// A syntax or meaning error in an expression, with the column (1-based,
/// in characters) of the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Column of the offending token, 1-based.
    pub column: usize,
    /// Length of the offending token in characters (0 at the end).
    pub len: usize,
    /// What is wrong, in plain words.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(column: usize, len: usize, message: impl Into<String>) -> Self {
        Self { column, len, message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// Compile `expression` for [`Target::Offline`], every accepted packet
/// keeping `snaplen` bytes (the accept value of the program).
///
/// # Errors
/// [`Error::InvalidExpression`] with the column of the offending token;
/// [`Error::InvalidFilter`] if the expression rejects every packet.
pub fn compile(expression: &str, snaplen: u32) -> Result<Program> {
    compile_for(expression, snaplen, Target::Offline)
}

/// Compile `expression` for `target`.
///
/// # Errors
/// As [`compile`].
pub fn compile_for(expression: &str, snaplen: u32, target: Target) -> Result<Program> {
    compile_with(expression, snaplen, target, Optimize::Full)
}

/// How much of the optimizer runs (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Optimize {
    /// Everything: the program netring attaches.
    #[default]
    Full,
    /// Only what decides verdicts as libpcap decides them: the order of
    /// tests and the loop of jump threading, `or`/`and` pull-ups and
    /// removal of tests whose outcomes meet (the pull-ups it finds depend
    /// on the threading). No load reuse and no block merging. Verdicts
    /// and accept lengths are the same as with [`Optimize::Full`] on every
    /// packet (a test proves it on the corpus); the program is longer.
    Off,
}

/// Compile `expression` for `target` with the optimizer at `level`.
///
/// # Errors
/// As [`compile`].
pub fn compile_with(expression: &str, snaplen: u32, target: Target, level: Optimize) -> Result<Program> {
    compile_opts(expression, snaplen, Options::default().target(target).optimize(level))
}

/// Everything that decides how an expression compiles besides its text
/// and the snap length. The default is what `tcpdump -y EN10MB -d EXPR`
/// compiles: [`Target::Offline`], [`Optimize::Full`], netmask 0.0.0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Options {
    target: Target,
    optimize: Optimize,
    netmask: u32,
}

impl Options {
    /// The link the program is for.
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// How much of the optimizer runs.
    pub fn optimize(mut self, level: Optimize) -> Self {
        self.optimize = level;
        self
    }

    /// The netmask of the network the capture is on, for `ip broadcast`
    /// (the host part all zeros or all ones), as libpcap takes it from
    /// `pcap_lookupnet()` on a live interface. The default, 0.0.0.0, is
    /// what libpcap uses for a capture file and `tcpdump -d` (only
    /// 0.0.0.0 and 255.255.255.255 are then broadcast addresses);
    /// 255.255.255.255 is libpcap's "netmask unknown", with which `ip
    /// broadcast` is refused.
    pub fn netmask(mut self, netmask: std::net::Ipv4Addr) -> Self {
        self.netmask = u32::from(netmask);
        self
    }
}

/// Compile `expression` with `options`.
///
/// # Errors
/// As [`compile`].
pub fn compile_opts(expression: &str, snaplen: u32, options: Options) -> Result<Program> {
    let invalid = |e: ParseError| Error::InvalidExpression {
        expression: expression.to_owned(),
        column: e.column,
        message: e.message,
    };
    let cond = parse(expression, options.target, options.netmask).map_err(invalid)?;
    codegen::generate(&cond, snaplen, options.optimize)
}

/// Check `expression` without compiling it.
///
/// # Errors
/// The first syntax or meaning error.
pub fn check(expression: &str) -> std::result::Result<(), ParseError> {
    parse(expression, Target::Offline, 0).map(drop)
}

/// The meaning of `expression` on `target`. On a live socket a `vlan`
/// depends on whether the kernel took the outer tag out of the frame
/// (`SKF_AD_VLAN_TAG_PRESENT`): both readings are compiled and the
/// metadata picks one, as libpcap's program does at run time.
fn parse(expression: &str, target: Target, netmask: u32) -> std::result::Result<ast::Cond, ParseError> {
    use parser::{Parser, VlanMode};
    let toks = lexer::tokenize(expression)?;
    if target == Target::Offline {
        return Parser::with_vlan_mode(&toks, VlanMode::Offline, netmask).with_source(expression).parse();
    }
    let mut in_band = Parser::with_vlan_mode(&toks, VlanMode::LiveInBand, netmask).with_source(expression);
    let c = in_band.parse()?;
    if !in_band.live_vlan {
        return Ok(c);
    }
    let stripped = Parser::with_vlan_mode(&toks, VlanMode::LiveStripped, netmask).with_source(expression).parse()?;
    let present = ast::vlan_tag_present();
    Ok(present.clone().and(stripped).or(present.negate().and(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Listing;

    fn ddd(e: &str) -> String {
        compile(e, 262_144).unwrap().listing(Listing::Decimal).replace('\n', ";")
    }

    #[test]
    fn simple_programs_equal_tcpdump_instruction_for_instruction() {
        // `tcpdump -y EN10MB -ddd EXPR`, libpcap 1.10.3.
        assert_eq!(ddd("ip"), "4;40 0 0 12;21 0 1 2048;6 0 0 262144;6 0 0 0;");
        assert_eq!(ddd("ether multicast"), "4;48 0 0 0;69 0 1 1;6 0 0 262144;6 0 0 0;");
        assert_eq!(ddd("len >= 100"), "4;128 0 0 0;53 0 1 100;6 0 0 262144;6 0 0 0;");
        assert_eq!(ddd("1 = 1"), "1;6 0 0 262144;");
        assert_eq!(ddd(""), "1;6 0 0 262144;");
        assert_eq!(
            ddd("tcp"),
            "12;40 0 0 12;21 0 2 2048;48 0 0 23;21 6 7 6;21 0 6 34525;48 0 0 20;21 3 0 6;21 0 3 44;48 0 0 54;21 0 1 6;6 0 0 262144;6 0 0 0;"
        );
    }

    #[test]
    fn geneve_cells_are_zeroed_first_and_read_as_zero_where_it_did_not_match() {
        use crate::filter::code::{BPF_IMM, BPF_LD, BPF_ST};
        use crate::filter::{FilterMeta, Instruction};
        let p = compile("geneve or ip", 96).unwrap();
        let zero = [BPF_LD | BPF_IMM, BPF_ST, BPF_ST, BPF_ST];
        let first: Vec<(u16, u32)> = p.instructions()[..4].iter().map(|i: &Instruction| (i.code, i.k)).collect();
        assert_eq!(first, [(zero[0], 0), (zero[1], 13), (zero[2], 14), (zero[3], 15)]);
        // Not Geneve: `ip` reads the EtherType at offset 0 (cells are zero).
        let mut f = vec![0u8; 60];
        f[0..2].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(p.run(&f, &FilterMeta::for_frame(&f)), 96);
        f[0] = 0x02;
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        assert_eq!(p.run(&f, &FilterMeta::for_frame(&f)), 0);
        // A live `vlan` before `geneve` compiles (both readings store into the same cells).
        let live = compile_for("vlan and geneve and tcp", 96, Target::LiveAfPacket).unwrap();
        assert_eq!(live.instructions()[0].code, BPF_LD | BPF_IMM);
        assert!(compile("geneve and geneve and geneve and geneve and geneve", 96).is_ok());
        let six = check("geneve and geneve and geneve and geneve and geneve and geneve").unwrap_err();
        assert_eq!((six.column, six.message.as_str()), (56, "too many 'geneve' (libpcap's scratch memory holds five)"));
    }

    #[test]
    fn a_live_vlan_moves_later_offsets_only_on_paths_that_ran_it() {
        use crate::filter::FilterMeta;
        let p = compile_for("ip or vlan and udp", 96, Target::LiveAfPacket).unwrap();
        // IPv4/UDP, untagged: `ip` matched, the vlan test did not run, `udp` reads at 23.
        let mut v4 = vec![0u8; 64];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[14] = 0x45;
        v4[23] = 17;
        assert_eq!(p.run(&v4, &FilterMeta::for_frame(&v4)), 96);
        // IPv6 behind a tag in the bytes: the vlan test ran, `udp` reads behind the tag.
        let mut tagged = vec![0u8; 80];
        tagged[12..14].copy_from_slice(&[0x81, 0x00]);
        tagged[16..18].copy_from_slice(&[0x86, 0xdd]);
        tagged[24] = 17;
        assert_eq!(p.run(&tagged, &FilterMeta::for_frame(&tagged)), 96);
        tagged[24] = 6;
        assert_eq!(p.run(&tagged, &FilterMeta::for_frame(&tagged)), 0);
        // The kernel took the tag out: nothing moves.
        let mut inner = vec![0u8; 76];
        inner[12..14].copy_from_slice(&[0x86, 0xdd]);
        inner[20] = 17;
        let meta = FilterMeta { vlan_tci: Some(7), vlan_tpid: 0x8100, ..FilterMeta::for_frame(&inner) };
        assert_eq!(p.run(&inner, &meta), 96);
        assert_eq!(p.run(&inner, &FilterMeta::for_frame(&inner)), 0, "no tag at all");
    }

    #[test]
    fn ip_broadcast_tests_the_host_part_under_the_netmask() {
        // `tcpdump -y EN10MB -ddd 'ip broadcast'` (netmask 0).
        assert_eq!(
            ddd("ip broadcast"),
            "7;40 0 0 12;21 0 4 2048;32 0 0 30;21 1 0 0;21 0 1 4294967295;6 0 0 262144;6 0 0 0;"
        );
        let mask = |m: [u8; 4]| Options::default().netmask(std::net::Ipv4Addr::from(m));
        let p = compile_opts("ip broadcast", 100, mask([255, 255, 255, 0])).unwrap();
        let mut f = vec![0u8; 60];
        f[12..14].copy_from_slice(&[8, 0]);
        for (dst, verdict) in [([198, 18, 0, 255], 100), ([198, 18, 0, 0], 100), ([198, 18, 0, 1], 0)] {
            f[30..34].copy_from_slice(&dst);
            assert_eq!(p.run(&f, &crate::filter::FilterMeta::for_frame(&f)), verdict, "{dst:?}");
        }
        let err = compile_opts("ip broadcast", 100, mask([255; 4])).unwrap_err().to_string();
        assert!(err.contains("column 4: netmask not known, so 'ip broadcast' not supported"), "{err}");
    }

    #[test]
    fn rejecting_everything_is_an_error() {
        for e in ["ip and not ip", "1 = 2", "ip and arp"] {
            let err = compile(e, 100).unwrap_err().to_string();
            assert!(err.contains("rejects all packets"), "{e}: {err}");
        }
    }

    #[test]
    fn errors_carry_the_column() {
        match compile("tcp port 80 or host foo", 100) {
            Err(Error::InvalidExpression { column, message, .. }) => {
                assert_eq!(column, 21);
                assert!(message.contains("not resolved"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
