//! The grammar of pcap-filter(7), core part, as libpcap's `grammar.y`
//! parses it, including its quirks:
//!
//! - `and` and `or` bind equally tight, left to right: `a or b and c` is
//!   `(a or b) and c`;
//! - a bare value after `and`/`or`/`not` takes the qualifiers of the term
//!   before it: `host 198.18.0.1 or 198.18.0.2`, `tcp port 80 or 443`,
//!   `host 198.18.0.1 and not (198.18.0.2 or 198.18.0.3)`; a term in
//!   parentheses passes on the qualifiers from before the parenthesis;
//! - a protocol name alone (`tcp`) leaves nothing to inherit.
//!
//! Meaning is given as each primitive is read (as libpcap does), so a
//! qualifier that does not fit its value is reported at that value.

use super::ParseError;
use super::ast::{self, Arith, Base, Cond, Dir, HostProto, Off, PortProto, Relop};
use super::legacy;
use super::lexer::{LATER, Tok, Token};
use super::names;
use crate::filter::code::*;

/// Protocol qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Default,
    Link,
    Ip,
    Ip6,
    Arp,
    Rarp,
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmp6,
    Igmp,
    Igrp,
    Pim,
    Vrrp,
    Carp,
    Ah,
    Esp,
    Atalk,
    Aarp,
    Decnet,
    Sca,
    Lat,
    Moprc,
    Mopdl,
    Iso,
    Esis,
    Isis,
    Clnp,
    Stp,
    Ipx,
    Netbeui,
    /// `l1`, `l2`, `iih`, `lsp`, `snp`, `csnp`, `psnp`: IS-IS PDU groups.
    IsisGroup(&'static str),
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Default => "",
            Proto::Link => "link",
            Proto::Ip => "ip",
            Proto::Ip6 => "ip6",
            Proto::Arp => "arp",
            Proto::Rarp => "rarp",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
            Proto::Icmp => "icmp",
            Proto::Icmp6 => "icmp6",
            Proto::Igmp => "igmp",
            Proto::Igrp => "igrp",
            Proto::Pim => "pim",
            Proto::Vrrp => "vrrp",
            Proto::Carp => "carp",
            Proto::Ah => "ah",
            Proto::Esp => "esp",
            Proto::Atalk => "atalk",
            Proto::Aarp => "aarp",
            Proto::Decnet => "decnet",
            Proto::Sca => "sca",
            Proto::Lat => "lat",
            Proto::Moprc => "moprc",
            Proto::Mopdl => "mopdl",
            Proto::Iso => "iso",
            Proto::Esis => "esis",
            Proto::Isis => "isis",
            Proto::Clnp => "clnp",
            Proto::Stp => "stp",
            Proto::Ipx => "ipx",
            Proto::Netbeui => "netbeui",
            Proto::IsisGroup(k) => k,
        }
    }

    /// The protocol test of the name alone (`gen_proto_abbrev()`).
    fn abbrev(self, o: Off) -> Option<Cond> {
        Some(match self {
            Proto::Default | Proto::Link => return None,
            Proto::Ip => ast::linktype(o, ast::ETHERTYPE_IP),
            Proto::Ip6 => ast::linktype(o, ast::ETHERTYPE_IPV6),
            Proto::Arp => ast::linktype(o, ast::ETHERTYPE_ARP),
            Proto::Rarp => ast::linktype(o, ast::ETHERTYPE_REVARP),
            Proto::Tcp => ast::ip_or_ip6_proto(o, ast::IPPROTO_TCP),
            Proto::Udp => ast::ip_or_ip6_proto(o, ast::IPPROTO_UDP),
            Proto::Sctp => ast::ip_or_ip6_proto(o, ast::IPPROTO_SCTP),
            Proto::Icmp => ast::ip_proto(o, ast::IPPROTO_ICMP),
            Proto::Icmp6 => ast::ip6_proto(o, ast::IPPROTO_ICMPV6),
            Proto::Igmp => ast::ip_proto(o, 2),
            Proto::Igrp => ast::ip_proto(o, 9),
            Proto::Pim => ast::ip_or_ip6_proto(o, 103),
            Proto::Vrrp | Proto::Carp => ast::ip_proto(o, 112),
            Proto::Ah => ast::ip_or_ip6_proto(o, 51),
            Proto::Esp => ast::ip_or_ip6_proto(o, 50),
            Proto::Iso => ast::linktype(o, ast::LLCSAP_ISONS),
            Proto::Esis => legacy::iso_proto(o, legacy::ISO9542_ESIS),
            Proto::Isis => legacy::iso_proto(o, legacy::ISO10589_ISIS),
            Proto::Clnp => legacy::iso_proto(o, legacy::ISO8473_CLNP),
            Proto::IsisGroup(k) => legacy::isis_any(o, isis_types(k)),
            p => ast::linktype(o, p.link_value()?),
        })
    }

    /// The EtherType or SAP `gen_linktype()` tests for the protocols that
    /// are one (`Some`), which is also what decides whether they can be
    /// tested behind MPLS labels.
    fn link_value(self) -> Option<u32> {
        Some(match self {
            Proto::Ip => ast::ETHERTYPE_IP,
            Proto::Ip6 => ast::ETHERTYPE_IPV6,
            Proto::Arp => ast::ETHERTYPE_ARP,
            Proto::Rarp => ast::ETHERTYPE_REVARP,
            Proto::Atalk => ast::ETHERTYPE_ATALK,
            Proto::Aarp => ast::ETHERTYPE_AARP,
            Proto::Decnet => ast::ETHERTYPE_DN,
            Proto::Sca => 0x6007,
            Proto::Lat => 0x6004,
            Proto::Moprc => 0x6002,
            Proto::Mopdl => 0x6001,
            Proto::Iso | Proto::Esis | Proto::Isis | Proto::Clnp | Proto::IsisGroup(_) => ast::LLCSAP_ISONS,
            Proto::Stp => 0x42,
            Proto::Ipx => ast::LLCSAP_IPX,
            Proto::Netbeui => 0xf0,
            _ => return None,
        })
    }

    /// The DEC and AppleTalk protocols whose bytes `proto[i]` reads from
    /// the link-layer payload, as `ip[i]` does.
    fn payload_indexable(self) -> bool {
        matches!(self, Proto::Atalk | Proto::Decnet | Proto::Sca | Proto::Lat | Proto::Moprc | Proto::Mopdl)
    }
}

/// Address-type qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addr {
    Default,
    Host,
    Net,
    Port,
    Portrange,
    Proto,
    Gateway,
    Protochain,
}

/// How `vlan` is compiled (see [`super::Target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VlanMode {
    /// Every tag is in the bytes.
    Offline,
    /// A live socket on a frame whose outer tag the kernel did not take
    /// out (`vlan_tag_present` is 0): the first `vlan` finds it in the bytes.
    LiveInBand,
    /// A live socket on a frame whose outer tag the kernel took out: the
    /// first `vlan` reads it from the metadata and moves nothing.
    LiveStripped,
}

/// A parsed `arth`: its value and the protocol checks that must pass
/// before it is computed.
struct Val {
    a: Arith,
    checks: Option<Cond>,
    /// Operators on the longest path from the root of `a` to a leaf (the
    /// depth of the tree the code generator walks).
    depth: usize,
}

impl Val {
    fn leaf(a: Arith) -> Self {
        Val { a, checks: None, depth: 0 }
    }
}

fn and_opt(a: Option<Cond>, b: Cond) -> Cond {
    match a {
        Some(a) => a.and(b),
        None => b,
    }
}

/// The qualifiers in force for a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Qual {
    proto: Proto,
    /// `None`: no direction given.
    dir: Option<Dir>,
    addr: Addr,
}

/// EtherType names libpcap knows (`pcap_nametoeproto()`'s table).
const ETHER_PROTOS: &[(&str, u32)] = &[
    ("aarp", 0x80f3),
    ("arp", 0x0806),
    ("atalk", 0x809b),
    ("decnet", 0x6003),
    ("ip", 0x0800),
    ("ip6", 0x86dd),
    ("lat", 0x6004),
    ("loopback", 0x9000),
    ("mopdl", 0x6001),
    ("moprc", 0x6002),
    ("rarp", 0x8035),
    ("sca", 0x6007),
];

/// 802.2 SAP names libpcap knows (`pcap_nametollc`).
const LLC_PROTOS: &[(&str, u32)] = &[("iso", 0xfe), ("stp", 0x42), ("ipx", 0xe0), ("netbeui", 0xf0)];

pub(crate) struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    /// Header offsets in force (moved by `vlan`).
    off: Off,
    vlan_mode: VlanMode,
    /// A `vlan` was compiled for a live target (the program depends on
    /// whether the kernel took a tag out).
    pub(crate) live_vlan: bool,
    /// An error in an arithmetic expression that must not be hidden by
    /// trying another reading of a parenthesis.
    fatal: Option<ParseError>,
    /// [`VlanMode::LiveInBand`]: the first `vlan` was read, so every later
    /// term reads two ways ([`Cond::Dual`]).
    after_vlan: bool,
    /// Reading one of those two ways.
    in_dual: bool,
    /// Levels of nesting open at the current token (see [`super::MAX_DEPTH`]).
    depth: usize,
    /// The netmask for `ip broadcast` (see [`super::Options::netmask`]).
    netmask: u32,
    /// The expression, for the text of a token (DECnet addresses).
    src: Vec<char>,
    /// After `geneve`: where the inner headers of the latest one are (later
    /// terms are parsed against virtual offsets and relocated, see
    /// [`super::geneve`]), and how many `geneve` there were.
    geneve: Option<(super::geneve::Cells, u32)>,
    /// The `geneve` whose inner headers the term being parsed is relocated
    /// to, as a whole (its parts are not relocated again unless a later
    /// `geneve` comes inside it).
    relocating: Option<u32>,
    /// An `or` joined two top-level terms.
    top_or: bool,
}

type Res<T> = Result<T, ParseError>;

fn is_and(t: &Tok) -> bool {
    matches!(t, Tok::And | Tok::Kw("and"))
}
fn is_or(t: &Tok) -> bool {
    matches!(t, Tok::Or | Tok::Kw("or"))
}
fn is_not(t: &Tok) -> bool {
    matches!(t, Tok::Not | Tok::Kw("not"))
}
fn relop(t: &Tok) -> Option<Relop> {
    Some(match t {
        Tok::Gt => Relop::Gt,
        Tok::Ge => Relop::Ge,
        Tok::Eq => Relop::Eq,
        Tok::Le => Relop::Le,
        Tok::Lt => Relop::Lt,
        Tok::Ne => Relop::Ne,
        _ => return None,
    })
}

/// A protocol name (`pname` in libpcap's grammar).
fn pname(k: &str) -> Option<Proto> {
    Some(match k {
        "ether" | "fddi" | "tr" | "wlan" | "link" => Proto::Link,
        "ip" => Proto::Ip,
        "ip6" => Proto::Ip6,
        "arp" => Proto::Arp,
        "rarp" => Proto::Rarp,
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "sctp" => Proto::Sctp,
        "icmp" => Proto::Icmp,
        "icmp6" => Proto::Icmp6,
        "igmp" => Proto::Igmp,
        "igrp" => Proto::Igrp,
        "pim" => Proto::Pim,
        "vrrp" => Proto::Vrrp,
        "carp" => Proto::Carp,
        "ah" => Proto::Ah,
        "esp" => Proto::Esp,
        "atalk" => Proto::Atalk,
        "aarp" => Proto::Aarp,
        "decnet" => Proto::Decnet,
        "sca" => Proto::Sca,
        "lat" => Proto::Lat,
        "moprc" => Proto::Moprc,
        "mopdl" => Proto::Mopdl,
        "iso" => Proto::Iso,
        "esis" | "es-is" => Proto::Esis,
        "isis" | "is-is" => Proto::Isis,
        "clnp" => Proto::Clnp,
        "stp" => Proto::Stp,
        "ipx" => Proto::Ipx,
        "netbeui" => Proto::Netbeui,
        "l1" => Proto::IsisGroup("l1"),
        "l2" => Proto::IsisGroup("l2"),
        "iih" => Proto::IsisGroup("iih"),
        "lsp" => Proto::IsisGroup("lsp"),
        "snp" => Proto::IsisGroup("snp"),
        "csnp" => Proto::IsisGroup("csnp"),
        "psnp" => Proto::IsisGroup("psnp"),
        _ => return None,
    })
}

/// The IS-IS PDU types of a group keyword, in libpcap's order.
fn isis_types(k: &str) -> &'static [u32] {
    // L1/L2 LAN hello 15/16, point-to-point hello 17, L1/L2 LSP 18/20,
    // L1/L2 CSNP 24/25, L1/L2 PSNP 26/27.
    match k {
        "l1" => &[26, 24, 18, 15, 17],
        "l2" => &[27, 25, 20, 16, 17],
        "iih" => &[17, 15, 16],
        "lsp" => &[18, 20],
        "snp" => &[27, 26, 24, 25],
        "csnp" => &[24, 25],
        _ => &[26, 27],
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("the number {n}"),
        Tok::Hid(..) => "an IPv4 address".into(),
        Tok::BadHid => "a dotted number that is no IPv4 address".into(),
        Tok::Hid6(_) => "an IPv6 address".into(),
        Tok::Eid(_) => "an Ethernet address".into(),
        Tok::Id(s) => format!("the name {s:?}"),
        Tok::Kw(k) => format!("'{k}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Not => "'!'".into(),
        Tok::And => "'&&'".into(),
        Tok::Or => "'||'".into(),
        Tok::Slash => "'/'".into(),
        Tok::Gt => "'>'".into(),
        Tok::Ge => "'>='".into(),
        Tok::Lt => "'<'".into(),
        Tok::Le => "'<='".into(),
        Tok::Eq => "'='".into(),
        Tok::Ne => "'!='".into(),
        Tok::Arith(s) => format!("'{s}'"),
        Tok::End => "the end of the expression".into(),
    }
}

impl<'a> Parser<'a> {
    #[cfg(test)]
    pub(crate) fn new(toks: &'a [Token]) -> Self {
        Self::with_vlan_mode(toks, VlanMode::Offline, 0)
    }

    /// A parser for `vlan_mode`, with the netmask `ip broadcast` uses.
    pub(crate) fn with_vlan_mode(toks: &'a [Token], vlan_mode: VlanMode, netmask: u32) -> Self {
        Self {
            netmask,
            src: Vec::new(),
            geneve: None,
            relocating: None,
            top_or: false,
            toks,
            pos: 0,
            off: Off::default(),
            vlan_mode,
            live_vlan: false,
            fatal: None,
            after_vlan: false,
            in_dual: false,
            depth: 0,
        }
    }

    /// Keep the expression's text, for [`Self::text`].
    pub(crate) fn with_source(mut self, src: &str) -> Self {
        self.src = src.chars().collect();
        self
    }

    /// The text of token `t`.
    fn text(&self, t: &Token) -> String {
        self.src.iter().skip(t.col.saturating_sub(1)).take(t.len).collect()
    }

    /// `decnet [src|dst] [host] AREA.NODE` (or a number): libpcap's
    /// `__pcap_atodn()` reads `%d.%d`, area in the top 6 bits, node in the
    /// low 10.
    fn decnet(&self, t: &Token, q: Qual) -> Res<Cond> {
        let addr = match t.tok {
            Tok::Num(n) => n,
            _ => {
                let text = self.text(t);
                match scan_dotted(&text) {
                    Some((area, node)) => ((area << 10) & 0xfc00) | (node & 0x3ff),
                    None => return Self::err_at(t, format!("malformed decnet address '{text}'")),
                }
            }
        };
        match q.addr {
            Addr::Default | Addr::Host | Addr::Net => {
                Ok(legacy::decnet_host(self.off, addr as u16, q.dir.unwrap_or_default()))
            }
            Addr::Port | Addr::Portrange => Self::err_at(t, "illegal qualifier of 'port'"),
            Addr::Proto => self.proto(t, addr, q),
            Addr::Gateway => Self::err_at(t, "'gateway' requires a name"),
            Addr::Protochain => self.protochain(t, addr, q),
        }
    }

    /// `[ip|ip6] protochain P` (`gen_protochain()`): the header chain of
    /// IPv4 and/or IPv6 reaches `P` (see [`super::chain`]).
    fn protochain(&self, t: &Token, v: u32, q: Qual) -> Res<Cond> {
        let o = self.off;
        let one = |ip6: bool| {
            let ethertype = if ip6 { ast::ETHERTYPE_IPV6 } else { ast::ETHERTYPE_IP };
            let walk = ast::Load::Chain { ip6, net: o.net(), proto: v };
            ast::linktype(o, ethertype).and(ast::cmp(walk, crate::filter::code::BPF_JEQ, 1))
        };
        match q.proto {
            Proto::Default => Ok(one(false).or(one(true))),
            Proto::Ip => Ok(one(false)),
            Proto::Ip6 => Ok(one(true)),
            _ => Self::err_at(t, "bad protocol applied for 'protochain'"),
        }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn here(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn bump(&mut self) -> &'a Token {
        let t = &self.toks[self.pos];
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// An error at the current token.
    fn err<T>(&self, message: impl Into<String>) -> Res<T> {
        let t = self.here();
        Err(ParseError::new(t.col, t.len, message))
    }

    fn err_at<T>(t: &Token, message: impl Into<String>) -> Res<T> {
        Err(ParseError::new(t.col, t.len, message))
    }

    /// Run `f` one nesting level deeper: a parenthesis, a `not`, a unary
    /// minus, a `%` or `^` (which take everything to their right) or a
    /// packet-byte index. Past [`super::MAX_DEPTH`] levels the expression is
    /// refused at the current token, so that no input can exhaust the stack.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Res<T>) -> Res<T> {
        if self.depth >= super::MAX_DEPTH {
            let t = self.here();
            let e = ParseError::new(
                t.col,
                t.len,
                format!("the expression nests more than {} levels deep here (the limit)", super::MAX_DEPTH),
            );
            self.fatal = Some(e.clone());
            return Err(e);
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Refuse an arithmetic value whose operators chain deeper than
    /// [`super::MAX_DEPTH`]: each operator is at least one instruction, and
    /// the code generator walks the chain.
    fn check_arith_depth(&mut self, t: &Token, depth: usize) -> Res<()> {
        if depth > super::MAX_DEPTH {
            let e = ParseError::new(
                t.col,
                t.len,
                format!("the arithmetic expression chains more than {} operators here (the limit)", super::MAX_DEPTH),
            );
            self.fatal = Some(e.clone());
            return Err(e);
        }
        Ok(())
    }

    fn unexpected<T>(&self, wanted: &str) -> Res<T> {
        let t = self.here();
        if let Tok::Kw(k) = t.tok
            && LATER.contains(&k)
        {
            return self.err(super::lexer::other_link(k));
        }
        self.err(format!("expected {wanted}, found {}", describe(&t.tok)))
    }

    /// The whole expression; an empty one accepts everything.
    pub(crate) fn parse(&mut self) -> Res<Cond> {
        if *self.peek() == Tok::End {
            return Ok(Cond::True);
        }
        let (c, _) = self.expr(None)?;
        if *self.peek() != Tok::End {
            return self.unexpected("'and', 'or' or the end of the expression");
        }
        if let Some((cells, _)) = self.geneve
            && !super::geneve::cells_fit(&c, cells)
        {
            return Err(ParseError::new(
                1,
                self.src.len().max(1),
                "expression too complex: with its 'geneve' cells it needs more than 16 scratch memory cells",
            ));
        }
        Ok(c)
    }

    /// `expr: term | expr and term | expr and id | expr or term | expr or id`
    fn expr(&mut self, q: Option<Qual>) -> Res<(Cond, Option<Qual>)> {
        let (mut c, mut q) = self.dual(q, false)?;
        while let Some(and) = self.conjunction() {
            if !and && self.depth == 0 {
                self.top_or = true;
            }
            let id = self.starts_id();
            let (rhs, q2) = self.dual(q, id)?;
            c = if and { c.and(rhs) } else { c.or(rhs) };
            q = q2;
        }
        Ok((c, q))
    }

    /// A term (or a bare value, `id`). After the first `vlan` of a live
    /// program whose tag is in the bytes, read twice: with the offsets as
    /// they are if that `vlan` test did not run on the path here, and moved
    /// by a tag if it did (libpcap moves them at run time, when the test runs).
    #[inline]
    fn dual(&mut self, q: Option<Qual>, id: bool) -> Res<(Cond, Option<Qual>)> {
        match &self.geneve {
            Some((_, n)) if self.relocating != Some(*n) => self.after_geneve(q, id),
            _ => self.dual_term(q, id),
        }
    }

    /// A term after `geneve`, relocated to its inner headers: as it reads
    /// where that `geneve` matched on the path here and where it did not
    /// (then libpcap's program reads scratch cells never written: zero, in
    /// tcpdump's interpreter; see [`super::geneve`]).
    #[inline(never)]
    fn after_geneve(&mut self, q: Option<Qual>, id: bool) -> Res<(Cond, Option<Qual>)> {
        let at = self.here().clone();
        let Some((cells, n)) = self.geneve else { return self.dual_term(q, id) };
        let outer = self.relocating.replace(n);
        let r = self.dual_term(q, id);
        self.relocating = outer;
        let (c, q) = r?;
        let c = super::geneve::relocate(&c, cells).map_err(|m| ParseError::new(at.col, at.len, m))?;
        Ok((c, q))
    }

    /// [`Self::dual`] before a `geneve` relocation.
    fn dual_term(&mut self, q: Option<Qual>, id: bool) -> Res<(Cond, Option<Qual>)> {
        let one = |p: &mut Self| if id { p.id(q) } else { p.term(q) };
        // After `geneve` every offset is in its cells, whatever the outer tag.
        if !self.after_vlan || self.in_dual || self.geneve.is_some() {
            return one(self);
        }
        let (at, base, genv) = (self.pos, self.off, self.geneve);
        self.in_dual = true;
        let before = one(self);
        let (end, moved, moved_genv) = (self.pos, self.off, self.geneve);
        let after = before.and_then(|(c0, _)| {
            self.pos = at;
            self.off = base.tagged();
            self.geneve = genv;
            one(self).map(|(c1, q)| (c0, c1, q))
        });
        self.in_dual = false;
        let (c0, c1, q) = after?;
        debug_assert_eq!(self.pos, end);
        debug_assert_eq!(self.geneve, moved_genv);
        self.off = moved;
        Ok((Cond::Dual(Box::new(c0), Box::new(c1)), q))
    }

    /// Take an `and` (`Some(true)`) or `or` (`Some(false)`) if one is next.
    fn conjunction(&mut self) -> Option<bool> {
        let and = if is_and(self.peek()) {
            true
        } else if is_or(self.peek()) {
            false
        } else {
            return None;
        };
        self.bump();
        Some(and)
    }

    /// Whether what follows is a bare value (possibly behind `not`s and
    /// parentheses) that inherits qualifiers.
    fn starts_id(&self) -> bool {
        let mut n = 0;
        while is_not(self.peek_at(n)) || *self.peek_at(n) == Tok::LParen {
            n += 1;
        }
        match self.peek_at(n) {
            Tok::Num(_) => {
                relop(self.peek_at(n + 1)).is_none() && !matches!(self.peek_at(n + 1), Tok::Arith(_) | Tok::Slash)
            }
            Tok::Hid(..) | Tok::BadHid | Tok::Hid6(_) | Tok::Eid(_) | Tok::Id(_) => true,
            _ => false,
        }
    }

    /// `term: not term | rterm`
    fn term(&mut self, q: Option<Qual>) -> Res<(Cond, Option<Qual>)> {
        if is_not(self.peek()) {
            return self.nested(|p| {
                p.bump();
                let (c, q) = p.term(q)?;
                Ok((c.negate(), q))
            });
        }
        self.rterm(q)
    }

    fn rterm(&mut self, q: Option<Qual>) -> Res<(Cond, Option<Qual>)> {
        let start = self.here().clone();
        match self.peek().clone() {
            Tok::LParen => {
                // `arth relop arth` starting with a parenthesis, or `( expr )`.
                let at = self.pos;
                if let Ok(c) = self.relation() {
                    return Ok((c, None));
                }
                if let Some(f) = self.fatal.take() {
                    return Err(f);
                }
                self.pos = at;
                return self.nested(|p| {
                    p.bump();
                    let (c, _) = p.expr(q)?;
                    p.expect_rparen()?;
                    Ok((c, q))
                });
            }
            Tok::Kw("less") | Tok::Kw("greater") => {
                self.bump();
                let Tok::Num(n) = *self.peek() else {
                    return self.unexpected("a number (a length in bytes)");
                };
                self.bump();
                return Ok((if start.tok == Tok::Kw("less") { ast::less(n) } else { ast::greater(n) }, None));
            }
            Tok::Kw("len") | Tok::Num(_) | Tok::Arith("-") => {
                if matches!(start.tok, Tok::Num(_))
                    && relop(self.peek_at(1)).is_none()
                    && !matches!(self.peek_at(1), Tok::Arith(_) | Tok::Slash)
                {
                    return Err(ParseError::new(
                        start.col,
                        start.len,
                        "a bare number has no qualifier to take: write host, net, port or proto before it",
                    ));
                }
                return self.relation().map(|c| (c, None)).map_err(|e| self.fatal.take().unwrap_or(e));
            }
            Tok::Kw(k) if pname(k).is_some() && *self.peek_at(1) == Tok::Arith("[") => {
                return self.relation().map(|c| (c, None)).map_err(|e| self.fatal.take().unwrap_or(e));
            }
            Tok::Kw(
                "vlan" | "mpls" | "pppoes" | "pppoed" | "llc" | "inbound" | "outbound" | "ifindex" | "byte" | "geneve",
            ) => {
                return self.keyword_term(&start);
            }
            Tok::Hid(..) | Tok::BadHid | Tok::Hid6(_) | Tok::Eid(_) | Tok::Id(_) => {
                return self
                    .err("a bare address or name has no qualifier to take: write host, net, port or proto before it");
            }
            _ => {}
        }
        // head id | pname | pqual broadcast/multicast
        let proto = self.pqual()?;
        let dir = self.dqual()?;
        let addr = match self.peek() {
            Tok::Kw("protochain") if dir.is_none() => Some(Addr::Protochain),
            Tok::Kw("host") => Some(Addr::Host),
            Tok::Kw("net") => Some(Addr::Net),
            Tok::Kw("port") => Some(Addr::Port),
            Tok::Kw("portrange") => Some(Addr::Portrange),
            Tok::Kw("proto") if dir.is_none() => Some(Addr::Proto),
            Tok::Kw("gateway") => Some(Addr::Gateway),
            _ => None,
        };
        if addr.is_some() {
            self.bump();
        }
        if addr.is_none() && dir.is_none() {
            return self.protocol_term(&start, proto);
        }
        let q = Qual { proto, dir, addr: addr.unwrap_or(Addr::Default) };
        if !self.starts_id() {
            let what = match q.addr {
                Addr::Port => "a port number",
                Addr::Portrange => "a port range (LOW-HIGH)",
                Addr::Proto => "a protocol number or \\name",
                _ => "an address",
            };
            return self.unexpected(what);
        }
        self.id(Some(q))
    }

    /// A primitive that starts with its own keyword (`vlan`, `mpls`,
    /// `pppoes`, `pppoed`, `llc`, `inbound`, `outbound`, `ifindex`,
    /// `byte`). Kept out of [`Self::rterm`] so that its locals do not
    /// weigh on every level of a nested expression's stack.
    #[inline(never)]
    fn keyword_term(&mut self, start: &Token) -> Res<(Cond, Option<Qual>)> {
        let start = start.clone();
        match self.peek().clone() {
            Tok::Kw("vlan") => {
                self.bump();
                let id = self.pnum()?;
                Ok((self.vlan(&start, id)?, None))
            }
            Tok::Kw("mpls") => {
                self.bump();
                let label = self.pnum()?;
                Ok((self.mpls(&start, label)?, None))
            }
            Tok::Kw("pppoes") => {
                self.bump();
                let id = self.pnum()?;
                Ok((self.pppoes(&start, id)?, None))
            }
            Tok::Kw("llc") => {
                self.bump();
                Ok((self.llc(&start)?, None))
            }
            Tok::Kw("geneve") => {
                self.bump();
                let vni = self.pnum()?;
                Ok((self.geneve(&start, vni)?, None))
            }
            Tok::Kw("pppoed") => {
                self.bump();
                self.link_ok(&start, ast::ETHERTYPE_PPPOED)?;
                Ok((ast::linktype(self.off, ast::ETHERTYPE_PPPOED), None))
            }
            Tok::Kw("inbound") => {
                self.bump();
                Ok((ast::outbound().negate(), None))
            }
            Tok::Kw("outbound") => {
                self.bump();
                Ok((ast::outbound(), None))
            }
            Tok::Kw("ifindex") => {
                self.bump();
                let Tok::Num(n) = *self.peek() else { return self.unexpected("an interface index") };
                self.bump();
                Ok((ast::ifindex(n), None))
            }
            Tok::Kw("byte") => {
                self.bump();
                let Tok::Num(idx) = *self.peek() else { return self.unexpected("a byte offset") };
                self.bump();
                let op_tok = self.here().clone();
                let op = match &op_tok.tok {
                    Tok::Eq => Relop::Eq,
                    Tok::Lt => Relop::Lt,
                    Tok::Gt => Relop::Gt,
                    Tok::Arith("&") | Tok::Arith("|") => {
                        return self.err(
                            "'byte N & V' and 'byte N | V' are refused: libpcap compiles them without loading \
                             the byte; write ether[N] & V != 0 instead",
                        );
                    }
                    _ => return self.unexpected("'=', '<' or '>'"),
                };
                self.bump();
                let Tok::Num(v) = *self.peek() else { return self.unexpected("a byte value") };
                self.bump();
                Ok((ast::byteop(op, idx, v), None))
            }
            _ => unreachable!("keyword_term is called for its keywords only"),
        }
    }

    /// A protocol name alone, or with `broadcast`/`multicast` (kept out of
    /// [`Self::rterm`] for the same reason as [`Self::keyword_term`]).
    #[inline(never)]
    fn protocol_term(&mut self, start: &Token, proto: Proto) -> Res<(Cond, Option<Qual>)> {
        let start = start.clone();
        match self.peek() {
            Tok::Kw("broadcast") => {
                let t = self.bump();
                return match proto {
                    Proto::Default | Proto::Link => {
                        if self.off.ppp {
                            return Self::err_at(t, "not a broadcast link (inside PPPoE the link is PPP)");
                        }
                        Ok((ast::ether_broadcast(self.ether_off()), None))
                    }
                    Proto::Ip if self.netmask == u32::MAX => {
                        Self::err_at(t, "netmask not known, so 'ip broadcast' not supported")
                    }
                    Proto::Ip => Ok((ast::ip_broadcast(self.off, !self.netmask), None)),
                    _ => Self::err_at(t, "only link-layer and IP broadcast tests exist"),
                };
            }
            Tok::Kw("multicast") => {
                let t = self.bump();
                return match proto {
                    Proto::Default | Proto::Link => {
                        if self.off.ppp {
                            return Self::err_at(
                                t,
                                "link-layer multicast tests need Ethernet (inside PPPoE the link is PPP)",
                            );
                        }
                        Ok((ast::ether_multicast(self.ether_off()), None))
                    }
                    Proto::Ip => Ok((ast::ip_multicast(self.off), None)),
                    Proto::Ip6 => Ok((ast::ip6_multicast(self.off), None)),
                    _ => Self::err_at(t, "only link-layer, IP and IPv6 multicast tests exist"),
                };
            }
            _ => {}
        }
        // `pname` alone.
        match proto {
            Proto::Default => self.unexpected("a filter term (a protocol, host, net, port, less, greater …)"),
            Proto::Link => Self::err_at(&start, "'ether' alone tests nothing: write ether host, src, dst, proto …"),
            p => {
                if let Some(v) = p.link_value() {
                    self.link_ok(&start, v)?;
                }
                Ok((p.abbrev(self.off).expect("a protocol"), None))
            }
        }
    }

    fn expect_rparen(&mut self) -> Res<()> {
        if *self.peek() != Tok::RParen {
            return self.unexpected("')'");
        }
        self.bump();
        Ok(())
    }

    /// `arth relop arth`, with the protocol checks of both sides first
    /// (`gen_relation()`).
    fn relation(&mut self) -> Res<Cond> {
        let start = self.here().clone();
        let lhs = self.arth(0)?;
        let Some(op) = relop(self.peek()) else {
            return self.unexpected("a comparison ('>', '>=', '=', '!=', '<=', '<')");
        };
        self.bump();
        let rhs = self.arth(0)?;
        if lhs.a.cells(Some(&rhs.a)) > crate::filter::MEM_WORDS {
            let e = ParseError::new(
                start.col,
                start.len,
                "expression too complex: it needs more than 16 scratch memory cells",
            );
            self.fatal = Some(e.clone());
            return Err(e);
        }
        let test = ast::relation(lhs.a, op, rhs.a);
        Ok(match (lhs.checks, rhs.checks) {
            (Some(a), Some(b)) => a.and(b).and(test),
            (Some(a), None) | (None, Some(a)) => a.and(test),
            (None, None) => test,
        })
    }

    /// `pnum: NUM | ( pnum )`, optional.
    fn pnum(&mut self) -> Res<Option<u32>> {
        let mut n = 0;
        while *self.peek_at(n) == Tok::LParen {
            n += 1;
        }
        let Tok::Num(v) = *self.peek_at(n) else { return Ok(None) };
        if (0..n).any(|i| *self.peek_at(n + 1 + i) != Tok::RParen) {
            return Ok(None);
        }
        for _ in 0..2 * n + 1 {
            self.bump();
        }
        Ok(Some(v))
    }

    /// `vlan [ID]`: the tag test, and every later offset moves by a tag.
    fn vlan(&mut self, t: &Token, id: Option<u32>) -> Res<Cond> {
        if self.off.mpls > 0 {
            return Self::err_at(t, "no VLAN match after MPLS");
        }
        if self.off.ppp {
            return Self::err_at(t, "no VLAN support for PPP (inside PPPoE)");
        }
        if let Some(id) = id
            && id > 4095
        {
            return Self::err_at(t, format!("VLAN tag {id} greater than maximum 4095"));
        }
        // After `geneve` the tag is read in the bytes, as libpcap does once
        // the link-layer header has a variable offset.
        let first_live = self.vlan_mode != VlanMode::Offline && !self.live_vlan && self.geneve.is_none();
        if first_live {
            self.live_vlan = true;
        }
        if first_live && self.vlan_mode == VlanMode::LiveStripped {
            return Ok(id.map_or(Cond::True, ast::vlan_stripped_id));
        }
        if first_live {
            // The offsets move only where this test runs: see `dual`.
            self.after_vlan = true;
            return Ok(Cond::Mark(Box::new(ast::vlan_inline(self.off, id))));
        }
        let c = ast::vlan_inline(self.off, id);
        self.off = self.off.tagged();
        Ok(c)
    }

    /// `mpls [LABEL]`: a label (the outer one: the EtherType; an inner
    /// one: the label before it is not the bottom of the stack), and the
    /// network header moves behind it (`gen_mpls()`).
    fn mpls(&mut self, t: &Token, label: Option<u32>) -> Res<Cond> {
        use crate::filter::code::{BPF_B, BPF_H, BPF_JEQ, BPF_W};
        if let Some(l) = label
            && l > 0xfffff
        {
            return Self::err_at(t, format!("MPLS label {l} greater than maximum {}", 0xfffff));
        }
        let o = self.off;
        let first = if o.mpls > 0 {
            ast::cmp(ast::Load::Abs { size: BPF_B, off: o.net() - 2 }, crate::filter::code::BPF_JSET, 1).negate()
        } else if o.ppp {
            ast::cmp(ast::Load::Abs { size: BPF_H, off: o.ethertype() }, BPF_JEQ, 0x0281)
        } else {
            ast::linktype(o, ast::ETHERTYPE_MPLS)
        };
        let c = match label {
            Some(l) => first.and(ast::masked_eq(ast::Load::Abs { size: BPF_W, off: o.net() }, l << 12, 0xffff_f000)),
            None => first,
        };
        self.off.nl += 4;
        self.off.nosnap += 4;
        self.off.mpls += 1;
        Ok(c)
    }

    /// `pppoes [ID]`: a PPPoE session frame (with that session id), and
    /// the link becomes the PPP link inside it (`gen_pppoes()`).
    fn pppoes(&mut self, t: &Token, id: Option<u32>) -> Res<Cond> {
        use crate::filter::code::BPF_W;
        if let Some(id) = id
            && id > 0xffff
        {
            return Self::err_at(t, format!("PPPoE session number {id} greater than maximum 65535"));
        }
        self.link_ok(t, ast::ETHERTYPE_PPPOES)?;
        let o = self.off;
        let mut c = ast::linktype(o, ast::ETHERTYPE_PPPOES);
        if let Some(id) = id {
            c = c.and(ast::masked_eq(ast::Load::Abs { size: BPF_W, off: o.net() }, id, 0xffff));
        }
        let hdr = o.net() + 6;
        self.off = Off { linkhdr: hdr, linktype: hdr, linkpl: hdr + 2, nl: 0, mpls: o.mpls, nosnap: 0, ppp: true };
        Ok(c)
    }

    /// `geneve [VNI]`: the Geneve test; later terms read the inner headers.
    fn geneve(&mut self, t: &Token, vni: Option<u32>) -> Res<Cond> {
        if let Some(v) = vni
            && v > 0xff_ffff
        {
            return Self::err_at(t, format!("Geneve VNI {v} greater than maximum {}", 0xff_ffff));
        }
        let n = self.geneve.map_or(1, |(_, n)| n + 1);
        if n > super::geneve::MAX_GENEVE {
            return Self::err_at(t, "too many 'geneve' (libpcap's scratch memory holds five)");
        }
        let c = super::geneve::geneve(self.off, vni, n, self.geneve.map(|(c, _)| c));
        self.geneve = Some((super::geneve::Cells::nth(n), n));
        self.off = super::geneve::virtual_off(self.off);
        Ok(c)
    }

    /// `llc [i|s|u|SUBTYPE]` (`gen_llc*()`): 802.2 frames, by the control
    /// field of their LLC header.
    fn llc(&mut self, t: &Token) -> Res<Cond> {
        if self.off.ppp {
            return Self::err_at(t, "'llc' not supported for PPP");
        }
        let o = self.off;
        let written = match self.peek().clone() {
            Tok::Id(n) => n,
            Tok::Kw("rnr") => "rnr".into(),
            _ => return Ok(legacy::llc(o)),
        };
        let name = written.to_ascii_lowercase();
        let nt = self.bump();
        // Supervisory subtypes under mask 0x0f, unnumbered ones under 0xef.
        let (value, mask) = match name.as_str() {
            "i" => return Ok(legacy::llc_i(o)),
            "s" => (1, 3),
            "u" => (3, 3),
            "rr" => (0x01, 0x0f),
            "rnr" => (0x05, 0x0f),
            "rej" => (0x09, 0x0f),
            "ui" => (0x03, 0xef),
            "ua" => (0x63, 0xef),
            "disc" => (0x43, 0xef),
            "dm" => (0x0f, 0xef),
            "sabme" => (0x6f, 0xef),
            "test" => (0xe3, 0xef),
            "xid" => (0xaf, 0xef),
            "frmr" => (0x87, 0xef),
            _ => return Self::err_at(nt, format!("unknown LLC type name \"{written}\"")),
        };
        Ok(legacy::llc_control(o, value, mask))
    }

    /// Behind MPLS labels only IPv4 and IPv6 can be tested (libpcap's
    /// `gen_mpls_linktype()`).
    fn link_ok(&self, t: &Token, ethertype: u32) -> Res<()> {
        if self.off.mpls > 0 && ethertype != ast::ETHERTYPE_IP && ethertype != ast::ETHERTYPE_IPV6 {
            return Self::err_at(t, "unsupported protocol over mpls (only ip and ip6)");
        }
        Ok(())
    }

    /// The offsets for an Ethernet address test: after `geneve`, a region
    /// of their own (true only where the inner payload is Ethernet).
    fn ether_off(&self) -> Off {
        match self.geneve {
            Some(_) => Off { linkhdr: super::geneve::VHE, ..self.off },
            None => self.off,
        }
    }

    /// Ethernet addresses exist only while the link is Ethernet.
    fn ether_ok(&self, t: &Token) -> Res<()> {
        if self.off.ppp {
            return Self::err_at(t, "Ethernet addresses need an Ethernet link (inside PPPoE the link is PPP)");
        }
        Ok(())
    }

    /// An `arth` whose operators bind at least as tight as `min`
    /// (`|` 1, `&` 2, shifts 3, `+ -` 4, `* /` 5; `%` and `^` have no
    /// precedence in libpcap's grammar, so they take everything to their
    /// right).
    fn arth(&mut self, min: u8) -> Res<Val> {
        let mut lhs = self.arth_operand()?;
        loop {
            let (op, prec) = match self.peek() {
                Tok::Arith("|") => (BPF_OR, 1),
                Tok::Arith("&") => (BPF_AND, 2),
                Tok::Arith("<<") => (BPF_LSH, 3),
                Tok::Arith(">>") => (BPF_RSH, 3),
                Tok::Arith("+") => (BPF_ADD, 4),
                Tok::Arith("-") => (BPF_SUB, 4),
                Tok::Arith("*") => (BPF_MUL, 5),
                Tok::Slash => (BPF_DIV, 5),
                _ => break,
            };
            if prec < min {
                break;
            }
            let t = self.bump().clone();
            let rhs = self.arth(prec + 1)?;
            lhs = self.binop(&t, op, lhs, rhs)?;
            self.check_arith_depth(&t, lhs.depth)?;
        }
        Ok(lhs)
    }

    /// A unary minus, a primary, and a `%` or `^` that follows it.
    fn arth_operand(&mut self) -> Res<Val> {
        if *self.peek() == Tok::Arith("-") {
            let t = self.here().clone();
            return self.nested(|p| {
                p.bump();
                let v = p.arth_operand()?;
                let depth = if v.a.num().is_some() { 0 } else { v.depth + 1 };
                p.check_arith_depth(&t, depth)?;
                Ok(Val { a: ast::arith_neg(v.a), checks: v.checks, depth })
            });
        }
        let p = self.arth_primary()?;
        let op = match self.peek() {
            Tok::Arith("%") => BPF_MOD,
            Tok::Arith("^") => BPF_XOR,
            _ => return Ok(p),
        };
        let t = self.bump().clone();
        let rhs = self.nested(|p| p.arth(0))?;
        let v = self.binop(&t, op, p, rhs)?;
        self.check_arith_depth(&t, v.depth)?;
        Ok(v)
    }

    /// `l op r` (`gen_arth()`): only the left operand's protocol checks
    /// are kept, as libpcap 1.10 keeps them.
    fn binop(&mut self, t: &Token, op: u16, l: Val, r: Val) -> Res<Val> {
        let fatal = |p: &mut Self, m: &str| {
            let e = ParseError::new(t.col, t.len, m);
            p.fatal = Some(e.clone());
            Err(e)
        };
        match (op, r.a.num()) {
            (BPF_DIV, Some(0)) => return fatal(self, "division by zero"),
            (BPF_MOD, Some(0)) => return fatal(self, "modulus by zero"),
            (BPF_LSH | BPF_RSH, Some(n)) if n > 31 => return fatal(self, "shift by more than 31 bits"),
            _ => {}
        }
        let a = ast::arith_op(op, l.a, r.a);
        // Folded constants take no code.
        let depth = if a.num().is_some() { 0 } else { l.depth.max(r.depth) + 1 };
        Ok(Val { a, checks: l.checks, depth })
    }

    fn arth_primary(&mut self) -> Res<Val> {
        let t = self.here().clone();
        match t.tok.clone() {
            Tok::Num(n) => {
                self.bump();
                Ok(Val::leaf(Arith::Num(n)))
            }
            Tok::Kw("len") => {
                self.bump();
                Ok(Val::leaf(Arith::Len))
            }
            Tok::LParen => self.nested(|p| {
                p.bump();
                let v = p.arth(0)?;
                p.expect_rparen()?;
                Ok(v)
            }),
            Tok::Kw(k) if pname(k).is_some() && *self.peek_at(1) == Tok::Arith("[") => {
                let proto = pname(k).expect("checked");
                self.bump();
                self.bump();
                let index = self.nested(|p| p.arth(0))?;
                let size = if *self.peek() == Tok::Arith(":") {
                    self.bump();
                    let st = self.here().clone();
                    let Tok::Num(n) = st.tok else { return self.unexpected("a size (1, 2 or 4)") };
                    self.bump();
                    match n {
                        1 => BPF_B,
                        2 => BPF_H,
                        4 => BPF_W,
                        _ => {
                            let e = ParseError::new(st.col, st.len, "data size must be 1, 2, or 4");
                            self.fatal = Some(e.clone());
                            return Err(e);
                        }
                    }
                } else {
                    BPF_B
                };
                if *self.peek() != Tok::Arith("]") {
                    return self.unexpected("']'");
                }
                self.bump();
                self.load(&t, proto, index, size)
            }
            _ => self.unexpected("a number, 'len', or a packet-byte access such as ip[0]"),
        }
    }

    /// `proto[index:size]` (`gen_load()`): the value, and the protocol
    /// checks in libpcap's order.
    fn load(&mut self, t: &Token, proto: Proto, index: Val, size: u16) -> Res<Val> {
        let o = self.off;
        let net = o.net();
        let base = match proto {
            Proto::Link => o.linkhdr,
            Proto::Icmp6 => net + 40,
            _ => net,
        };
        let absolute = proto.payload_indexable()
            || matches!(proto, Proto::Link | Proto::Ip | Proto::Ip6 | Proto::Arp | Proto::Rarp | Proto::Icmp6);
        if let Some(i) = index.a.num()
            && absolute
            && base.wrapping_add(i) >= SKF_AD_OFF
        {
            // libpcap emits `ld [k]` with such a k; the kernel reads it as
            // an ancillary field (and refuses the unknown ones).
            let e = ParseError::new(
                t.col,
                t.len,
                format!(
                    "byte offset {} ({}) is outside any packet: offsets from {SKF_AD_OFF:#x} up are the kernel's \
                     ancillary data, not packet bytes",
                    base.wrapping_add(i),
                    i as i32,
                ),
            );
            self.fatal = Some(e.clone());
            return Err(e);
        }
        if matches!(proto, Proto::Arp | Proto::Rarp) || proto.payload_indexable() {
            self.link_ok(t, proto.link_value().expect("a link-layer protocol"))?;
        }
        let depth = index.depth + 1;
        let load = |base| Arith::Load { size, base, index: Box::new(index.a) };
        Ok(match proto {
            Proto::Link => Val { a: load(Base::Abs(o.linkhdr)), checks: index.checks, depth },
            p if p.payload_indexable() || matches!(p, Proto::Ip | Proto::Ip6 | Proto::Arp | Proto::Rarp) => Val {
                a: load(Base::Abs(net)),
                checks: Some(and_opt(index.checks, proto.abbrev(o).expect("a protocol"))),
                depth,
            },
            Proto::Icmp6 => {
                let checks = and_opt(index.checks, ast::linktype(o, ast::ETHERTYPE_IPV6)).and(ast::cmp(
                    ast::Load::Abs { size: BPF_B, off: net + 6 },
                    BPF_JEQ,
                    ast::IPPROTO_ICMPV6,
                ));
                Val { a: load(Base::Abs(net + 40)), checks: Some(checks), depth }
            }
            p if p.link_value().is_some() || matches!(p, Proto::Ah | Proto::Esp) => {
                let e = ParseError::new(t.col, t.len, "unsupported index operation");
                self.fatal = Some(e.clone());
                return Err(e);
            }
            Proto::Default => unreachable!("pname() never returns Default"),
            transport => {
                let checks = ast::linktype(o, ast::ETHERTYPE_IP)
                    .and(and_opt(index.checks, transport.abbrev(o).expect("a protocol").and(ast::not_fragment(o))));
                Val { a: load(Base::AfterIpv4 { msh: net, off: net }), checks: Some(checks), depth }
            }
        })
    }

    fn pqual(&mut self) -> Res<Proto> {
        let p = match self.peek() {
            Tok::Kw(k) if pname(k).is_some() => pname(k).expect("checked"),
            Tok::Kw(k) if *k != "gateway" && LATER.contains(k) => {
                return self.err(super::lexer::other_link(k));
            }
            _ => return Ok(Proto::Default),
        };
        self.bump();
        Ok(p)
    }

    fn dqual(&mut self) -> Res<Option<Dir>> {
        let (first, other) = match self.peek() {
            Tok::Kw("src") => (Dir::Src, "dst"),
            Tok::Kw("dst") => (Dir::Dst, "src"),
            _ => return Ok(None),
        };
        self.bump();
        let joined = if is_or(self.peek()) {
            Dir::Or
        } else if is_and(self.peek()) {
            Dir::And
        } else {
            return Ok(Some(first));
        };
        if *self.peek_at(1) == Tok::Kw(other) {
            self.bump();
            self.bump();
            return Ok(Some(joined));
        }
        Ok(Some(first))
    }

    /// A value with inherited qualifiers `q` (`None`: nothing to inherit).
    /// `id: nid | pnum | ( pid ) | not id`
    fn id(&mut self, q: Option<Qual>) -> Res<(Cond, Option<Qual>)> {
        if is_not(self.peek()) {
            return self.nested(|p| {
                p.bump();
                let (c, q) = p.id(q)?;
                Ok((c.negate(), q))
            });
        }
        if *self.peek() == Tok::LParen {
            return self.nested(|p| p.pid(q));
        }
        self.nid(q)
    }

    /// `( pid )`: values joined by `and`/`or` inside parentheses.
    fn pid(&mut self, q: Option<Qual>) -> Res<(Cond, Option<Qual>)> {
        {
            self.bump();
            // pid: id ((and|or) id)*
            let (mut c, _) = self.id(q)?;
            while let Some(and) = self.conjunction() {
                if !self.starts_id() {
                    return self.unexpected("another value (inside these parentheses, only values)");
                }
                let (rhs, _) = self.id(q)?;
                c = if and { c.and(rhs) } else { c.or(rhs) };
            }
            self.expect_rparen()?;
            Ok((c, q))
        }
    }

    /// A single value (`nid`, `pnum`) under the qualifiers `q`.
    fn nid(&mut self, q: Option<Qual>) -> Res<(Cond, Option<Qual>)> {
        let t = self.bump().clone();
        let Some(qual) = q else {
            return Self::err_at(
                &t,
                "this value has no qualifier to take (the term before it was a bare protocol or a comparison): write host, net, port or proto before it",
            );
        };
        if qual.addr == Addr::Gateway && !matches!(t.tok, Tok::Id(_)) {
            return Self::err_at(&t, "'gateway' requires a name");
        }
        if qual.proto == Proto::Decnet && matches!(t.tok, Tok::Num(_) | Tok::Hid(..) | Tok::BadHid) {
            return Ok((self.decnet(&t, qual)?, Some(qual)));
        }
        if t.tok == Tok::BadHid {
            return Self::err_at(&t, format!("invalid IPv4 address {:?}", self.text(&t)));
        }
        let c = match t.tok.clone() {
            Tok::Num(n) => self.ncode(&t, n, 32, true, qual)?,
            Tok::Hid(v, bits) => {
                if *self.peek() == Tok::Slash {
                    self.bump();
                    let Tok::Num(len) = *self.peek() else { return self.unexpected("a prefix length") };
                    let lt = self.bump().clone();
                    if len > 32 {
                        return Self::err_at(&lt, "an IPv4 prefix length must be at most 32");
                    }
                    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    self.mcode(&t, v, mask, qual, || format!("/{len}"))?
                } else if *self.peek() == Tok::Kw("mask") {
                    self.bump();
                    let Tok::Hid(m, _) = *self.peek() else { return self.unexpected("a netmask such as 255.255.0.0") };
                    self.bump();
                    self.mcode(&t, v, m, qual, || " mask".into())?
                } else {
                    match qual.addr {
                        Addr::Port => return Self::err_at(&t, "'port' cannot qualify an IPv4 address"),
                        Addr::Proto => return Self::err_at(&t, "'proto' cannot qualify an IPv4 address"),
                        _ => self.ncode(&t, v, bits, false, qual)?,
                    }
                }
            }
            Tok::Hid6(a) => {
                let len = if *self.peek() == Tok::Slash {
                    self.bump();
                    let Tok::Num(len) = *self.peek() else { return self.unexpected("a prefix length") };
                    let lt = self.bump().clone();
                    if len > 128 {
                        return Self::err_at(&lt, "an IPv6 prefix length must be at most 128");
                    }
                    len
                } else {
                    128
                };
                self.code6(&t, a, len, qual)?
            }
            Tok::Eid(mac) => {
                if matches!(qual.addr, Addr::Default | Addr::Host) && qual.proto == Proto::Link {
                    self.ether_ok(&t)?;
                    ast::ether_host(self.ether_off(), mac, qual.dir.unwrap_or_default())
                } else {
                    return Self::err_at(&t, "an Ethernet address needs 'ether' (ether host, ether src, ether dst)");
                }
            }
            Tok::Id(name) => self.scode(&t, &name, qual)?,
            _ => return Self::err_at(&t, format!("expected a value, found {}", describe(&t.tok))),
        };
        Ok((c, Some(qual)))
    }

    /// A number or IPv4 address (`bits` significant bits, left-aligned)
    /// under `q` (libpcap's `gen_ncode()`).
    fn ncode(&self, t: &Token, v: u32, bits: u32, bare_number: bool, q: Qual) -> Res<Cond> {
        let dir = q.dir.unwrap_or_default();
        match q.addr {
            Addr::Default | Addr::Host | Addr::Net => {
                if q.proto == Proto::Link {
                    return Self::err_at(t, "an IP address cannot follow 'ether': use an Ethernet address");
                }
                let (mut v, mut mask) = (v, u32::MAX);
                if bare_number && q.addr == Addr::Net {
                    while v != 0 && v & 0xff00_0000 == 0 {
                        v <<= 8;
                        mask <<= 8;
                    }
                } else if bits < 32 {
                    mask <<= 32 - bits;
                }
                self.host4(t, v, mask, q, dir)
            }
            Addr::Port => {
                let proto = self.port_proto(t, q)?;
                if v > 65535 {
                    return Self::err_at(t, format!("port {v} is larger than 65535"));
                }
                Ok(ast::port(self.off, v, v, false, proto, dir))
            }
            Addr::Portrange => self.portrange(t, v, v, q),
            Addr::Proto => self.proto(t, v, q),
            Addr::Gateway => Self::err_at(t, "'gateway' requires a name"),
            Addr::Protochain => self.protochain(t, v, q),
        }
    }

    /// The transport protocols a `port` or `portrange` qualifier allows.
    fn port_proto(&self, t: &Token, q: Qual) -> Res<PortProto> {
        Ok(match q.proto {
            Proto::Default => PortProto::Any,
            Proto::Tcp => PortProto::One(ast::IPPROTO_TCP),
            Proto::Udp => PortProto::One(ast::IPPROTO_UDP),
            Proto::Sctp => PortProto::One(ast::IPPROTO_SCTP),
            p => return Self::err_at(t, format!("'{}' cannot qualify 'port' (only tcp, udp, sctp)", p.name())),
        })
    }

    /// `portrange LO-HI` (either order, as libpcap swaps them).
    fn portrange(&self, t: &Token, a: u32, b: u32, q: Qual) -> Res<Cond> {
        let proto = self.port_proto(t, q)?;
        for v in [a, b] {
            if v > 65535 {
                return Self::err_at(t, format!("illegal port number {v} > 65535"));
            }
        }
        Ok(ast::port(self.off, a.min(b), a.max(b), true, proto, q.dir.unwrap_or_default()))
    }

    /// IPv4 `host`/`net` with the protocol qualifier checked.
    fn host4(&self, t: &Token, v: u32, mask: u32, q: Qual, dir: Dir) -> Res<Cond> {
        let what = if q.addr == Addr::Net { "net" } else { "host" };
        let hp = match q.proto {
            Proto::Default => HostProto::Any,
            Proto::Ip => HostProto::Ip,
            Proto::Arp => {
                self.link_ok(t, ast::ETHERTYPE_ARP)?;
                HostProto::Arp
            }
            Proto::Rarp => {
                self.link_ok(t, ast::ETHERTYPE_ARP)?;
                HostProto::Rarp
            }
            Proto::Link => return Self::err_at(t, format!("'ether' cannot qualify an IPv4 {what}")),
            p => return Self::err_at(t, format!("'{}' cannot qualify an IPv4 {what}", p.name())),
        };
        Ok(ast::host4(self.off, v, mask, hp, dir))
    }

    /// `HID/len` and `HID mask HID` (libpcap's `gen_mcode()`).
    fn mcode(&self, t: &Token, v: u32, mask: u32, q: Qual, how: impl Fn() -> String) -> Res<Cond> {
        if v & !mask != 0 {
            return Self::err_at(t, format!("the address has bits set outside the network part ({})", how()));
        }
        if q.addr != Addr::Net {
            return Self::err_at(t, "a mask or prefix length needs 'net'");
        }
        self.host4(t, v, mask, q, q.dir.unwrap_or_default())
    }

    /// An IPv6 address with prefix length `len` (`gen_mcode6()`).
    fn code6(&self, t: &Token, a: std::net::Ipv6Addr, len: u32, q: Qual) -> Res<Cond> {
        let bits = u128::from(a);
        let mask: u128 = if len == 0 { 0 } else { u128::MAX << (128 - len) };
        if bits & !mask != 0 {
            return Self::err_at(t, format!("the address has bits set outside the /{len} network part"));
        }
        match q.addr {
            Addr::Default | Addr::Host if len != 128 => {
                return Self::err_at(t, "a prefix length needs 'net'");
            }
            Addr::Default | Addr::Host | Addr::Net => {}
            _ => return Self::err_at(t, "only host and net can qualify an IPv6 address"),
        }
        match q.proto {
            Proto::Default | Proto::Ip6 => {}
            Proto::Link => return Self::err_at(t, "'ether' cannot qualify an IPv6 address"),
            p => return Self::err_at(t, format!("'{}' cannot qualify an IPv6 address", p.name())),
        }
        let words = |x: u128| [(x >> 96) as u32, (x >> 64) as u32, (x >> 32) as u32, x as u32];
        Ok(ast::host6(self.off, words(bits), words(mask), q.dir.unwrap_or_default()))
    }

    /// `proto N` under a protocol qualifier (`gen_proto()`).
    fn proto(&self, t: &Token, v: u32, q: Qual) -> Res<Cond> {
        if q.dir.is_some() {
            return Self::err_at(t, "a direction (src, dst) cannot apply to 'proto'");
        }
        Ok(match q.proto {
            Proto::Default => ast::ip_or_ip6_proto(self.off, v),
            Proto::Link => {
                self.link_ok(t, v)?;
                ast::linktype(self.off, v)
            }
            Proto::Ip => ast::ip_proto(self.off, v),
            Proto::Ip6 => ast::ip6_proto(self.off, v),
            Proto::Iso => {
                self.link_ok(t, ast::LLCSAP_ISONS)?;
                legacy::iso_proto(self.off, v)
            }
            Proto::Isis => {
                self.link_ok(t, ast::LLCSAP_ISONS)?;
                legacy::isis_proto(self.off, v)
            }
            Proto::Arp | Proto::Rarp => {
                return Self::err_at(t, format!("{} does not carry another protocol", q.proto.name()));
            }
            Proto::Atalk => return Self::err_at(t, "AppleTalk encapsulation is not specifiable"),
            Proto::Decnet => return Self::err_at(t, "DECNET encapsulation is not specifiable"),
            p @ (Proto::Aarp | Proto::Lat | Proto::Sca | Proto::Moprc | Proto::Mopdl) => {
                return Self::err_at(t, format!("{} does not encapsulate another protocol", p.name().to_uppercase()));
            }
            Proto::Clnp => return Self::err_at(t, "'clnp proto' is not supported"),
            p @ (Proto::Esis | Proto::Stp | Proto::Ipx | Proto::IsisGroup(_)) => {
                return Self::err_at(t, format!("'{} proto' is bogus", p.name()));
            }
            p => {
                return Self::err_at(
                    t,
                    format!("'{} proto' means nothing: {} carries no protocol field", p.name(), p.name()),
                );
            }
        })
    }

    /// A name under `q` (`gen_scode()`), looked up in the files of
    /// [`names`] (never in DNS).
    fn scode(&self, t: &Token, name: &str, q: Qual) -> Res<Cond> {
        match q.addr {
            Addr::Proto => {
                let iso =
                    [("esis", legacy::ISO9542_ESIS), ("isis", legacy::ISO10589_ISIS), ("clnp", legacy::ISO8473_CLNP)];
                let v = if q.proto == Proto::Link {
                    ETHER_PROTOS.iter().chain(LLC_PROTOS).find(|(n, _)| *n == name).map(|&(_, v)| v)
                } else if q.proto == Proto::Iso {
                    let Some(&(_, v)) = iso.iter().find(|(n, _)| *n == name) else {
                        return Self::err_at(t, format!("unknown osi proto '{name}'"));
                    };
                    Some(v)
                } else {
                    names::lookup_protocol(name)
                };
                match v {
                    Some(v) => self.proto(t, v, q),
                    None if q.proto == Proto::Link => Self::err_at(t, format!("unknown ether proto '{name}'")),
                    None => Self::err_at(t, format!("unknown ip proto '{name}' (not in /etc/protocols)")),
                }
            }
            Addr::Port => {
                let proto = self.port_proto(t, q)?;
                let Some((port, of)) = names::lookup_port(name) else {
                    return Self::err_at(t, format!("unknown port '{name}' (not in /etc/services)"));
                };
                let proto = Self::named_port_proto(t, &format!("port '{name}'"), proto, of)?;
                Ok(ast::port(self.off, port, port, false, proto, q.dir.unwrap_or_default()))
            }
            Addr::Portrange => {
                let proto = self.port_proto(t, q)?;
                if let Some((a, b)) = scan_range(name) {
                    return self.portrange(t, a, b, q);
                }
                let side = |s: &str| names::lookup_port(s);
                let ports = name.split_once('-').and_then(|(a, b)| Some((side(a)?, side(b)?)));
                let Some(((a, of_a), (b, of_b))) = ports else {
                    return Self::err_at(t, format!("unknown port in range '{name}' (not in /etc/services)"));
                };
                let of = if of_a == of_b { of_a } else { names::PortOf::Any };
                let proto = Self::named_port_proto(t, &format!("port in range '{name}'"), proto, of)?;
                Ok(ast::port(self.off, a.min(b), a.max(b), true, proto, q.dir.unwrap_or_default()))
            }
            Addr::Net => {
                let v = names::lookup_network(name);
                if v == 0 {
                    return Self::err_at(t, format!("unknown network '{name}' (not in /etc/networks)"));
                }
                self.ncode(t, v, 32, true, q)
            }
            Addr::Gateway => Self::err_at(t, "'gateway' not supported in this configuration (as in libpcap with IPv6)"),
            Addr::Protochain => match names::lookup_protocol(name) {
                Some(v) => self.protochain(t, v, q),
                None => Self::err_at(t, format!("unknown ip proto '{name}' (not in /etc/protocols)")),
            },
            Addr::Default | Addr::Host => self.host_name(t, name, q),
        }
    }

    /// `host NAME`: every address `/etc/hosts` gives the name, IPv4 for
    /// `ip`, IPv6 for `ip6`, or the MAC `/etc/ethers` gives it for `ether`.
    fn host_name(&self, t: &Token, name: &str, q: Qual) -> Res<Cond> {
        let dir = q.dir.unwrap_or_default();
        if q.proto == Proto::Decnet {
            return Self::err_at(t, format!("decnet name support not included, '{name}' cannot be translated"));
        }
        if q.proto == Proto::Link {
            self.ether_ok(t)?;
            return match names::lookup_ether(name) {
                Some(mac) => Ok(ast::ether_host(self.ether_off(), mac, dir)),
                None => Self::err_at(t, format!("unknown ether host '{name}' (not in /etc/ethers)")),
            };
        }
        let addrs = names::lookup_host(name);
        let mut c: Option<Cond> = None;
        for a in addrs {
            let one = match a {
                std::net::IpAddr::V4(_) if q.proto == Proto::Ip6 => continue,
                std::net::IpAddr::V6(_) if q.proto == Proto::Ip => continue,
                std::net::IpAddr::V4(v) => self.host4(t, u32::from(v), u32::MAX, q, dir)?,
                std::net::IpAddr::V6(v) => self.code6(t, v, 128, Qual { addr: Addr::Host, ..q })?,
            };
            c = Some(match c {
                Some(c) => c.or(one),
                None => one,
            });
        }
        c.map_or_else(
            || {
                let family = if q.proto == Proto::Default { "" } else { " for specified address family" };
                Self::err_at(
                    t,
                    format!("unknown host '{name}'{family} (host names are not resolved through DNS, only /etc/hosts)"),
                )
            },
            Ok,
        )
    }

    /// The transports a named port is tested on: what `/etc/services`
    /// says, narrowed by a `tcp`/`udp`/`sctp` qualifier that agrees.
    fn named_port_proto(t: &Token, what: &str, q: PortProto, of: names::PortOf) -> Res<PortProto> {
        use names::PortOf;
        let (tcp, udp) = (ast::IPPROTO_TCP, ast::IPPROTO_UDP);
        match (q, of) {
            (PortProto::Any, PortOf::Any) => Ok(PortProto::Any),
            (PortProto::Any, PortOf::Tcp) => Ok(PortProto::One(tcp)),
            (PortProto::Any, PortOf::Udp) => Ok(PortProto::One(udp)),
            (PortProto::One(p), PortOf::Tcp) if p != tcp => Self::err_at(t, format!("{what} is tcp")),
            (PortProto::One(p), PortOf::Udp) if p != udp => Self::err_at(t, format!("{what} is udp")),
            (one, _) => Ok(one),
        }
    }
}

/// `A.B` as `sscanf("%d.%d")` reads it (decimal, anything after ignored).
fn scan_dotted(s: &str) -> Option<(u32, u32)> {
    let int = |s: &str| -> Option<(u32, usize)> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        Some((s[..end].parse().ok()?, end))
    };
    let (a, n) = int(s)?;
    let (b, _) = int(s[n..].strip_prefix('.')?)?;
    Some((a, b))
}

/// `LO-HI` as libpcap's `sscanf("%d-%d")` reads it: decimal (leading zeros
/// allowed), anything after the second number ignored.
fn scan_range(s: &str) -> Option<(u32, u32)> {
    fn int(s: &str) -> Option<(u32, &str)> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        Some((s[..end].parse().ok()?, &s[end..]))
    }
    let (a, rest) = int(s)?;
    let (b, _) = int(rest.strip_prefix('-')?)?;
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse(s: &str) -> Result<Cond, ParseError> {
        Parser::new(&tokenize(s)?).with_source(s).parse()
    }

    #[test]
    #[cfg_attr(miri, ignore = "builds a tree of 2^17 leaves: minutes under Miri")]
    fn scratch_cells_are_counted_and_limited() {
        // Chains need one scratch cell however long, nested either way.
        let long = (0..40).map(|i| format!("tcp[{i}]")).collect::<Vec<_>>().join(" + ");
        assert!(parse(&format!("{long} = 1")).is_ok());
        let deep = (0..40).fold(String::from("tcp[99]"), |acc, i| format!("tcp[{i}] + ({acc})"));
        assert!(parse(&format!("{deep} = 1")).is_ok());
        // A balanced tree needs one cell per level: 17 levels are more than there are.
        fn balanced(d: u32) -> Arith {
            let leaf = || Arith::Load {
                size: BPF_B,
                base: Base::AfterIpv4 { msh: 14, off: 14 },
                index: Box::new(Arith::Num(d)),
            };
            if d == 0 { leaf() } else { Arith::Bin(BPF_ADD, Box::new(balanced(d - 1)), Box::new(balanced(d - 1))) }
        }
        assert_eq!(balanced(16).cells(None), 16);
        assert_eq!(balanced(17).cells(None), 17);
    }

    #[test]
    fn percent_and_caret_take_everything_to_their_right() {
        // libpcap's grammar gives `%` and `^` no precedence: 4 % 7 ^ 1 << 2 >> 1 | 5 is 4 % (7 ^ (((1 << 2) >> 1) | 5)) = 4 % 0.
        assert_eq!(parse("ip[2:2] * 2 / 4 % 7 ^ 1 << 2 >> 1 | 5 = 5").unwrap_err().message, "modulus by zero");
        assert_eq!(parse("2 + 3 * 4 = 14").unwrap(), Cond::True);
        assert_eq!(parse("2 * 3 % 4 + 1 = 6").unwrap(), Cond::True, "2 * (3 % 5)");
        assert_eq!(parse("-2 + 3 = 1").unwrap(), Cond::True);
        assert_eq!(parse("-(2 % 3) = 0xfffffffe").unwrap(), Cond::True);
        assert_eq!(parse("1 << 3 | 1 = 9").unwrap(), Cond::True);
        assert_eq!(parse("tcp-syn | tcp-ack = 0x12").unwrap(), Cond::True);
    }

    #[test]
    fn and_or_are_left_associative_with_equal_precedence() {
        let o = Off::default();
        let ip = || ast::linktype(o, ast::ETHERTYPE_IP);
        let arp = || ast::linktype(o, ast::ETHERTYPE_ARP);
        let rarp = || ast::linktype(o, ast::ETHERTYPE_REVARP);
        assert_eq!(parse("ip or arp and rarp").unwrap(), ip().or(arp()).and(rarp()));
        assert_eq!(parse("!ip && (arp || rarp)").unwrap(), ip().negate().and(arp().or(rarp())));
        assert_eq!(parse("").unwrap(), Cond::True);
    }

    #[test]
    fn bare_values_inherit_qualifiers() {
        let o = Off::default();
        let h = |a: u32| ast::host4(o, a, u32::MAX, HostProto::Any, Dir::Or);
        assert_eq!(parse("host 198.18.0.1 or 198.18.0.2").unwrap(), h(0xc612_0001).or(h(0xc612_0002)));
        assert_eq!(
            parse("host 198.18.0.1 and not (198.18.0.2 or 198.18.0.3)").unwrap(),
            h(0xc612_0001).and(h(0xc612_0002).or(h(0xc612_0003)).negate())
        );
        let p = |n| ast::port(o, n, n, false, PortProto::One(6), Dir::Or);
        assert_eq!(parse("tcp port 80 or 443").unwrap(), p(80).or(p(443)));
        // A parenthesised term hands on what came before it.
        assert_eq!(
            parse("host 198.18.0.1 or (tcp) or 198.18.0.2").unwrap(),
            h(0xc612_0001).or(ast::ip_or_ip6_proto(o, 6)).or(h(0xc612_0002))
        );
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = |s: &str| parse(s).unwrap_err();
        assert_eq!(e("tcp host 198.18.0.1").column, 10);
        assert_eq!(e("tcp and 80").column, 9);
        assert_eq!(e("198.18.0.1").column, 1);
        assert_eq!(e("ip and").column, 7);
        assert_eq!(e("(ip").column, 4);
        assert_eq!(e("port 70000").column, 6);
        assert_eq!(e("net 198.18.0.1/15").column, 5);
        assert_eq!(e("host 198.18.0.0/15").column, 6);
        assert_eq!(e("ip port 80").column, 9);
        assert_eq!(e("geneve and geneve and geneve and geneve and geneve and geneve").column, 56);
        assert!(
            e("geneve and geneve and geneve and geneve and geneve and geneve").message.starts_with("too many 'geneve'")
        );
        assert_eq!(e("lane").message, "'lane' is only for raw ATM links; libpcap refuses it on Ethernet too");
        assert_eq!(
            e("ip and radio").message,
            "'radio' is not a protocol of an Ethernet link; libpcap refuses it on Ethernet too"
        );
        assert_eq!(e("ip and radio").column, 8);
        assert_eq!(e("fisu").message, "'fisu' is only for MTP2 (SS7) links; libpcap refuses it on Ethernet too");
        assert_eq!(e("geneve 16777216").message, "Geneve VNI 16777216 greater than maximum 16777215");
        assert_eq!(e("mpls and vlan").column, 10);
        assert_eq!(e("mpls and vlan").message, "no VLAN match after MPLS");
        assert_eq!(e("mpls and arp").column, 10);
        assert_eq!(e("pppoes and ether host 2:0:0:0:0:1").column, 23);
        assert_eq!(e("mpls 1048576").message, "MPLS label 1048576 greater than maximum 1048575");
        assert_eq!(e("llc foo").column, 5);
        assert_eq!(e("llc foo").message, "unknown LLC type name \"foo\"");
        assert_eq!(e("decnet host 1.2 and host 1.1023").column, 26);
        assert_eq!(e("decnet proto 5").message, "DECNET encapsulation is not specifiable");
        assert_eq!(e("stp[0] = 1").message, "unsupported index operation");
        assert_eq!(e("pppoes and llc").column, 12);
        assert_eq!(e("ip[0] % 0 = 1").column, 7);
        assert_eq!(e("ip[0:3] = 1").column, 6);
        assert_eq!(e("ip[0] << 32 = 1").column, 7);
        assert_eq!(e("vlan 4096").column, 1);
        assert!(parse("ip6 protochain 6").is_ok());
        assert_eq!(e("tcp protochain 6").column, 16);
        assert_eq!(e("tcp protochain 6").message, "bad protocol applied for 'protochain'");
        assert_eq!(e("host foo").column, 6);
        assert_eq!(e("ip proto tcp").column, 10);
        assert_eq!(e("ip proto \\tcpx").column, 10);
        assert_eq!(e("ether host 198.18.0.1").column, 12);
        assert_eq!(e("host 02:00:00:00:00:01").column, 6);
        assert_eq!(e("ip6 src port 53").column, 14);
        assert_eq!(e("src port 80 proto 6").column, 13);
    }
}
