//! Tokens of the pcap-filter language, each with the column it starts at.
//!
//! Numbers are read as libpcap reads them: decimal, `0x` hexadecimal, and
//! octal with a leading `0`. A run of letters, digits and `.:-_` is one word:
//! a number, an IPv4 address (`198.18`, `198.18.0.1`), an IPv6 address, a MAC
//! address (`02:00:00:00:00:01`, `02-00-…`, `2.0.0.0.0.1`, `0200.0000.0001`,
//! `020000000001` — twelve hex digits are a MAC, as in libpcap's scanner), a
//! keyword, or a name. A
//! backslash makes the next word a name even if it is a keyword
//! (`ip proto \tcp`).

use std::net::Ipv6Addr;

use super::ParseError;

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Num(u32),
    /// Dotted IPv4 address or prefix: the value left-aligned and how many
    /// bits were given (8 per part).
    Hid(u32, u32),
    Hid6(Ipv6Addr),
    /// Two dotted numbers that are no IPv4 prefix (`1.1023`): only a DECnet
    /// address can be written so.
    BadHid,
    Eid([u8; 6]),
    /// A name (possibly one escaped with a backslash).
    Id(String),
    /// A keyword, lower case.
    Kw(&'static str),
    LParen,
    RParen,
    Not,
    And,
    Or,
    Slash,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
    /// Arithmetic and byte-access punctuation: not in the core grammar.
    Arith(&'static str),
    End,
}

/// A token and where it starts (1-based column) and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: usize,
    pub len: usize,
}

/// Keywords of the core grammar.
const CORE: &[&str] = &[
    "dst",
    "src",
    "host",
    "net",
    "mask",
    "port",
    "proto",
    "broadcast",
    "multicast",
    "and",
    "or",
    "not",
    "len",
    "less",
    "greater",
    "ether",
    "fddi",
    "tr",
    "wlan",
    "link",
    "ip",
    "ip6",
    "arp",
    "rarp",
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "sctp",
    "portrange",
    "byte",
    "inbound",
    "outbound",
    "ifindex",
    "vlan",
    "igmp",
    "igrp",
    "pim",
    "vrrp",
    "carp",
    "ah",
    "esp",
    "protochain",
    "geneve",
    "mpls",
    "pppoed",
    "pppoes",
    "atalk",
    "aarp",
    "decnet",
    "lat",
    "sca",
    "moprc",
    "mopdl",
    "iso",
    "esis",
    "es-is",
    "isis",
    "is-is",
    "l1",
    "l2",
    "iih",
    "lsp",
    "snp",
    "psnp",
    "csnp",
    "clnp",
    "stp",
    "ipx",
    "netbeui",
    "llc",
];

/// Why libpcap refuses keyword `k` of [`LATER`] on an Ethernet link: it
/// belongs to another link type.
pub(crate) fn other_link(k: &str) -> String {
    let why = match k {
        "gateway" => "is not supported in this configuration (as in libpcap with IPv6)",
        "radio" => "is not a protocol of an Ethernet link",
        "ra" | "ta" | "addr1" | "addr2" | "addr3" | "addr4" | "type" | "subtype" | "dir" | "direction" => {
            "needs 802.11 headers"
        }
        "ppp" | "slip" => "names a link layer that an Ethernet link is not",
        "on" | "ifname" | "rnr" | "rulenum" | "reason" | "rset" | "ruleset" | "srnr" | "subrulenum" | "action" => {
            "is only for pflog links"
        }
        "fisu" | "lssu" | "msu" | "sio" | "opc" | "dpc" | "sls" | "hfisu" | "hlssu" | "hmsu" | "hsio" | "hopc"
        | "hdpc" | "hsls" => "is only for MTP2 (SS7) links",
        _ => "is only for raw ATM links",
    };
    format!("'{k}' {why}; libpcap refuses it on Ethernet too")
}

/// The rest of libpcap's keywords: outside the core grammar (part 2), but
/// never taken for names.
pub(crate) const LATER: &[&str] = &[
    "gateway",
    "radio",
    "ra",
    "ta",
    "addr1",
    "addr2",
    "addr3",
    "addr4",
    "type",
    "subtype",
    "dir",
    "direction",
    "ppp",
    "slip",
    "lane",
    "metac",
    "bcc",
    "oam",
    "oamf4",
    "oamf4ec",
    "oamf4sc",
    "sc",
    "ilmic",
    "connectmsg",
    "metaconnect",
    "on",
    "ifname",
    "rnr",
    "rulenum",
    "reason",
    "rset",
    "ruleset",
    "srnr",
    "subrulenum",
    "action",
    "fisu",
    "lssu",
    "msu",
    "sio",
    "opc",
    "dpc",
    "sls",
    "hfisu",
    "hlssu",
    "hmsu",
    "hsio",
    "hopc",
    "hdpc",
    "hsls",
];

/// Named constants of the byte-access grammar (libpcap's scanner turns
/// them into numbers).
const CONSTANTS: &[(&str, u32)] = &[
    ("icmptype", 0),
    ("icmpcode", 1),
    ("icmp-echoreply", 0),
    ("icmp-unreach", 3),
    ("icmp-sourcequench", 4),
    ("icmp-redirect", 5),
    ("icmp-echo", 8),
    ("icmp-routeradvert", 9),
    ("icmp-routersolicit", 10),
    ("icmp-timxceed", 11),
    ("icmp-paramprob", 12),
    ("icmp-tstamp", 13),
    ("icmp-tstampreply", 14),
    ("icmp-ireq", 15),
    ("icmp-ireqreply", 16),
    ("icmp-maskreq", 17),
    ("icmp-maskreply", 18),
    ("icmp6type", 0),
    ("icmp6code", 1),
    ("icmp6-destinationunreach", 1),
    ("icmp6-packettoobig", 2),
    ("icmp6-timeexceeded", 3),
    ("icmp6-parameterproblem", 4),
    ("icmp6-echo", 128),
    ("icmp6-echoreply", 129),
    ("icmp6-multicastlistenerquery", 130),
    ("icmp6-multicastlistenerreportv1", 131),
    ("icmp6-multicastlistenerdone", 132),
    ("icmp6-routersolicit", 133),
    ("icmp6-routeradvert", 134),
    ("icmp6-neighborsolicit", 135),
    ("icmp6-neighboradvert", 136),
    ("icmp6-redirect", 137),
    ("icmp6-routerrenum", 138),
    ("icmp6-nodeinformationquery", 139),
    ("icmp6-nodeinformationresponse", 140),
    ("icmp6-ineighbordiscoverysolicit", 141),
    ("icmp6-ineighbordiscoveryadvert", 142),
    ("icmp6-multicastlistenerreportv2", 143),
    ("icmp6-homeagentdiscoveryrequest", 144),
    ("icmp6-homeagentdiscoveryreply", 145),
    ("icmp6-mobileprefixsolicit", 146),
    ("icmp6-mobileprefixadvert", 147),
    ("icmp6-certpathsolicit", 148),
    ("icmp6-certpathadvert", 149),
    ("icmp6-multicastrouteradvert", 151),
    ("icmp6-multicastroutersolicit", 152),
    ("icmp6-multicastrouterterm", 153),
    ("tcpflags", 13),
    ("tcp-fin", 0x01),
    ("tcp-syn", 0x02),
    ("tcp-rst", 0x04),
    ("tcp-push", 0x08),
    ("tcp-ack", 0x10),
    ("tcp-urg", 0x20),
    ("tcp-ece", 0x40),
    ("tcp-cwr", 0x80),
];

fn keyword(word: &str) -> Option<&'static str> {
    CORE.iter().chain(LATER).copied().find(|k| k.eq_ignore_ascii_case(word))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '_')
}

/// Split `src` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Inside `[...]`, `:` separates an offset from a size.
    let mut brackets = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let punct2 = match two.as_str() {
            "&&" => Some(Tok::And),
            "||" => Some(Tok::Or),
            ">=" => Some(Tok::Ge),
            "<=" => Some(Tok::Le),
            "==" => Some(Tok::Eq),
            "!=" => Some(Tok::Ne),
            "<<" => Some(Tok::Arith("<<")),
            ">>" => Some(Tok::Arith(">>")),
            _ => None,
        };
        if let Some(tok) = punct2 {
            out.push(Token { tok, col, len: 2 });
            i += 2;
            continue;
        }
        let punct1 = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '!' => Some(Tok::Not),
            '/' => Some(Tok::Slash),
            '>' => Some(Tok::Gt),
            '<' => Some(Tok::Lt),
            '=' => Some(Tok::Eq),
            '+' => Some(Tok::Arith("+")),
            '-' => Some(Tok::Arith("-")),
            '*' => Some(Tok::Arith("*")),
            '%' => Some(Tok::Arith("%")),
            '&' => Some(Tok::Arith("&")),
            '|' => Some(Tok::Arith("|")),
            '^' => Some(Tok::Arith("^")),
            ':' if brackets > 0 => Some(Tok::Arith(":")),
            '[' => Some(Tok::Arith("[")),
            ']' => Some(Tok::Arith("]")),
            _ => None,
        };
        if let Some(tok) = punct1 {
            match c {
                '[' => brackets += 1,
                ']' => brackets = brackets.saturating_sub(1),
                _ => {}
            }
            out.push(Token { tok, col, len: 1 });
            i += 1;
            continue;
        }
        if c == '\\' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && !chars[j].is_whitespace() && !matches!(chars[j], '!' | '(' | ')') {
                j += 1;
            }
            if j == start {
                return Err(ParseError::new(col, 1, "a backslash must be followed by a name"));
            }
            let name: String = chars[start..j].iter().collect();
            out.push(Token { tok: Tok::Id(name), col, len: j - i });
            i = j;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == ':' && chars.get(i + 1) == Some(&':')) {
            return Err(ParseError::new(col, 1, format!("unexpected character {c:?}")));
        }
        let mut j = i;
        while j < chars.len() && is_word_char(chars[j]) && !(brackets > 0 && chars[j] == ':') {
            j += 1;
        }
        let word: String = chars[i..j].iter().collect();
        let tok = classify(&word).map_err(|m| ParseError::new(col, j - i, m))?;
        out.push(Token { tok, col, len: j - i });
        i = j;
    }
    out.push(Token { tok: Tok::End, col: chars.len() + 1, len: 0 });
    Ok(out)
}

/// A number as libpcap's `stoulen()` reads it.
fn number(word: &str) -> Result<u32, String> {
    let (digits, radix, what) = if let Some(h) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        (h, 16, "hexadecimal")
    } else if word.len() > 1 && word.starts_with('0') {
        (&word[1..], 8, "octal")
    } else {
        (word, 10, "decimal")
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("number {word} contains a non-{what} digit"));
    }
    u32::from_str_radix(digits, radix).map_err(|_| format!("number {word} does not fit in 32 bits"))
}

fn classify(word: &str) -> Result<Tok, String> {
    if word.contains(':') {
        if let Some(mac) = mac(word, ':') {
            return Ok(Tok::Eid(mac));
        }
        return word
            .parse::<Ipv6Addr>()
            .map(Tok::Hid6)
            .map_err(|_| format!("{word:?} is neither an IPv6 nor an Ethernet address"));
    }
    if let Some(mac) = mac(word, '-').or_else(|| mac(word, '.')).or_else(|| mac_wide(word)) {
        return Ok(Tok::Eid(mac));
    }
    let starts_digit = word.starts_with(|c: char| c.is_ascii_digit());
    if starts_digit && word.chars().all(|c| c.is_ascii_digit() || c == '.') {
        if !word.contains('.') {
            return number(word).map(Tok::Num);
        }
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
            return Err(format!("invalid IPv4 address {word:?}"));
        }
        let mut v: u32 = 0;
        for p in &parts {
            let n = number(p).ok().filter(|&n| n <= 255);
            if n.is_none() && parts.len() == 2 {
                // Not IPv4, but maybe a DECnet AREA.NODE (`decnet host 1.1023`).
                return Ok(Tok::BadHid);
            }
            let n = n.ok_or_else(|| format!("invalid IPv4 address {word:?}"))?;
            v = (v << 8) | n;
        }
        let bits = 8 * parts.len() as u32;
        return Ok(Tok::Hid(if bits == 32 { v } else { v << (32 - bits) }, bits));
    }
    if starts_digit && (word.starts_with("0x") || word.starts_with("0X")) {
        return number(word).map(Tok::Num);
    }
    if let Some(k) = keyword(word) {
        return Ok(Tok::Kw(k));
    }
    if let Some(&(_, v)) = CONSTANTS.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)) {
        return Ok(Tok::Num(v));
    }
    if starts_digit && word.chars().all(|c| c.is_ascii_alphanumeric()) && word.len() <= 10 {
        // `08`, `1a`: libpcap reads these as malformed numbers.
        return number(word).map(Tok::Num);
    }
    Ok(Tok::Id(word.to_owned()))
}

/// `aa:bb:cc:dd:ee:ff` (one or two hex digits per part) with `sep`.
fn mac(word: &str, sep: char) -> Option<[u8; 6]> {
    let parts: Vec<&str> = word.split(sep).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

/// The two notations of libpcap's scanner with four or twelve hex digits
/// a group: `0011.2233.4455` and `001122334455`.
fn mac_wide(word: &str) -> Option<[u8; 6]> {
    let digits: String = match word.len() {
        14 if word.split('.').all(|g| g.len() == 4) && word.split('.').count() == 3 => word.replace('.', ""),
        12 => word.to_owned(),
        _ => return None,
    };
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_numbers_and_addresses() {
        assert_eq!(
            toks("tcp port 0x50 or 010"),
            vec![Tok::Kw("tcp"), Tok::Kw("port"), Tok::Num(80), Tok::Kw("or"), Tok::Num(8), Tok::End]
        );
        assert_eq!(toks("198.18")[0], Tok::Hid(0xc612_0000, 16));
        assert_eq!(toks("198.18.0.1")[0], Tok::Hid(0xc612_0001, 32));
        assert_eq!(toks("2:0:0:0:0:1")[0], Tok::Eid([2, 0, 0, 0, 0, 1]));
        assert_eq!(toks("02-00-00-00-00-ff")[0], Tok::Eid([2, 0, 0, 0, 0, 0xff]));
        // The other notations of libpcap's scanner; twelve digits are a MAC, not a number.
        assert_eq!(toks("2.0.0.0.a.FF")[0], Tok::Eid([2, 0, 0, 0, 0xa, 0xff]));
        assert_eq!(toks("0200.0000.00ff")[0], Tok::Eid([2, 0, 0, 0, 0, 0xff]));
        assert_eq!(toks("0200000000Ff")[0], Tok::Eid([2, 0, 0, 0, 0, 0xff]));
        assert_eq!(toks("020000000001")[0], Tok::Eid([2, 0, 0, 0, 0, 1]));
        assert_eq!(toks("deadbeef0001")[0], Tok::Eid([0xde, 0xad, 0xbe, 0xef, 0, 1]));
        assert_eq!(toks("deadbeef")[0], Tok::Id("deadbeef".into()));
        assert_eq!(toks("1.2.3.4")[0], Tok::Hid(0x0102_0304, 32));
        assert_eq!(toks("2001:2::1")[0], Tok::Hid6("2001:2::1".parse().unwrap()));
        assert_eq!(toks("::1")[0], Tok::Hid6(Ipv6Addr::LOCALHOST));
        assert_eq!(toks("\\tcp")[0], Tok::Id("tcp".into()));
        assert_eq!(toks("gre")[0], Tok::Id("gre".into()));
        assert_eq!(toks("TCP")[0], Tok::Kw("tcp"));
    }

    #[test]
    fn punctuation() {
        assert_eq!(
            toks("!(a)&&b||c>=1<=2==3!=4=5>6<7/8"),
            vec![
                Tok::Not,
                Tok::LParen,
                Tok::Id("a".into()),
                Tok::RParen,
                Tok::And,
                Tok::Id("b".into()),
                Tok::Or,
                Tok::Id("c".into()),
                Tok::Ge,
                Tok::Num(1),
                Tok::Le,
                Tok::Num(2),
                Tok::Eq,
                Tok::Num(3),
                Tok::Ne,
                Tok::Num(4),
                Tok::Eq,
                Tok::Num(5),
                Tok::Gt,
                Tok::Num(6),
                Tok::Lt,
                Tok::Num(7),
                Tok::Slash,
                Tok::Num(8),
                Tok::End
            ]
        );
    }

    #[test]
    fn errors_name_the_column() {
        let e = tokenize("port 080").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (6, "number 080 contains a non-octal digit"));
        let e = tokenize("host 256.1.1.1").unwrap_err();
        assert_eq!(e.column, 6);
        assert!(tokenize("port 4294967296").unwrap_err().message.contains("32 bits"));
        assert_eq!(tokenize("ip # x").unwrap_err().column, 4);
        assert!(tokenize("1:2:3").is_err());
    }
}
