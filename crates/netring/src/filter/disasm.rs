//! Program listings exactly as `tcpdump -d`, `-dd` and `-ddd` print them
//! (libpcap's `bpf_image()` and `bpf_dump()`), so a program can be compared
//! with tcpdump's line by line.

use std::fmt::Write as _;

use super::Instruction;
use super::code::*;

/// Which of tcpdump's three listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listing {
    /// `-d`: one readable line per instruction, `(000) ldh      [12]`.
    Human,
    /// `-dd`: a C array body, `{ 0x28, 0, 0, 0x0000000c },`.
    CArray,
    /// `-ddd`: the instruction count, then `code jt jf k` in decimal.
    Decimal,
}

/// The whole program in the chosen listing, one line per instruction,
/// each ending in a newline.
pub fn listing(insns: &[Instruction], kind: Listing) -> String {
    let mut out = String::new();
    match kind {
        Listing::Human => {
            for (pc, insn) in insns.iter().enumerate() {
                out.push_str(&image(insn, pc));
                out.push('\n');
            }
        }
        Listing::CArray => {
            for i in insns {
                let _ = writeln!(out, "{{ 0x{:x}, {}, {}, 0x{:08x} }},", i.code, i.jt, i.jf, i.k);
            }
        }
        Listing::Decimal => {
            let _ = writeln!(out, "{}", insns.len());
            for i in insns {
                let _ = writeln!(out, "{} {} {} {}", i.code, i.jt, i.jf, i.k);
            }
        }
    }
    out
}

/// Parse a `-ddd` listing (what `tcpdump -ddd` prints) back into
/// instructions; `None` if it is not one (wrong count, bad number).
pub fn parse_decimal(text: &str) -> Option<Vec<Instruction>> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let n: usize = lines.next()?.parse().ok()?;
    let mut out = Vec::with_capacity(n);
    for line in lines {
        let mut f = line.split_ascii_whitespace();
        let mut next = || f.next()?.parse::<u32>().ok();
        let (code, jt, jf, k) = (next()?, next()?, next()?, next()?);
        out.push(Instruction::new(u16::try_from(code).ok()?, u8::try_from(jt).ok()?, u8::try_from(jf).ok()?, k));
    }
    (out.len() == n).then_some(out)
}

/// Name libpcap prints for an ancillary load at `SKF_AD_OFF + off`.
fn ancillary_name(off: u32) -> Option<&'static str> {
    Some(match off {
        SKF_AD_PROTOCOL => "proto",
        SKF_AD_PKTTYPE => "type",
        SKF_AD_IFINDEX => "ifidx",
        SKF_AD_NLATTR => "nla",
        SKF_AD_NLATTR_NEST => "nlan",
        SKF_AD_MARK => "mark",
        SKF_AD_QUEUE => "queue",
        SKF_AD_HATYPE => "hatype",
        SKF_AD_RXHASH => "rxhash",
        SKF_AD_CPU => "cpu",
        SKF_AD_ALU_XOR_X => "xor_x",
        SKF_AD_VLAN_TAG => "vlan_tci",
        SKF_AD_VLAN_TAG_PRESENT => "vlanp",
        SKF_AD_PAY_OFFSET => "poff",
        SKF_AD_RANDOM => "random",
        SKF_AD_VLAN_TPID => "vlan_tpid",
        _ => return None,
    })
}

/// One instruction as `tcpdump -d` prints it at index `pc` (jump targets
/// are absolute instruction numbers).
pub fn image(insn: &Instruction, pc: usize) -> String {
    let k = insn.k;
    let signed = k as i32;
    let (op, operand): (&str, String) = match insn.code {
        0x06 => ("ret", format!("#{signed}")),
        0x16 => ("ret", String::new()),
        c @ (0x20 | 0x28 | 0x30) => {
            let op = ["ld", "ldh", "ldb"][((c & 0x18) >> 3) as usize];
            let operand = match k.checked_sub(SKF_AD_OFF).and_then(ancillary_name) {
                Some(name) => format!("[{name}]"),
                None => format!("[{signed}]"),
            };
            (op, operand)
        }
        0x80 => ("ld", "#pktlen".into()),
        c @ (0x40 | 0x48 | 0x50) => (["ld", "ldh", "ldb"][((c & 0x18) >> 3) as usize], format!("[x + {signed}]")),
        0x00 => ("ld", format!("#0x{k:x}")),
        0x01 => ("ldx", format!("#0x{k:x}")),
        0x81 => ("ldx", "#pktlen".into()),
        0x60 => ("ld", format!("M[{signed}]")),
        0x61 => ("ldx", format!("M[{signed}]")),
        0xb1 => ("ldxb", format!("4*([{signed}]&0xf)")),
        0x02 => ("st", format!("M[{signed}]")),
        0x03 => ("stx", format!("M[{signed}]")),
        0x05 => ("ja", format!("{}", (pc as u32).wrapping_add(1).wrapping_add(k) as i32)),
        0x07 => ("tax", String::new()),
        0x87 => ("txa", String::new()),
        0x84 => ("neg", String::new()),
        c if c & 0x07 == BPF_ALU && c != 0x8c && (c & 0xf0 <= BPF_XOR) => {
            let (op, hex) = match c & 0xf0 {
                BPF_ADD => ("add", false),
                BPF_SUB => ("sub", false),
                BPF_MUL => ("mul", false),
                BPF_DIV => ("div", false),
                BPF_MOD => ("mod", false),
                BPF_AND => ("and", true),
                BPF_OR => ("or", true),
                BPF_XOR => ("xor", true),
                BPF_LSH => ("lsh", false),
                _ => ("rsh", false),
            };
            let operand = match (c & BPF_X != 0, hex) {
                (true, _) => "x".to_owned(),
                (false, true) => format!("#0x{k:x}"),
                (false, false) => format!("#{signed}"),
            };
            (op, operand)
        }
        // Conditional jumps, known or not, print both targets.
        c if c & 0x07 == BPF_JMP && c & 0xf0 != BPF_JA => {
            let (op, operand) = match c & 0xf0 {
                BPF_JEQ => ("jeq", None),
                BPF_JGT => ("jgt", None),
                BPF_JGE => ("jge", None),
                BPF_JSET => ("jset", None),
                _ => ("unimp", Some(format!("0x{c:x}"))),
            };
            let operand = operand.unwrap_or_else(|| if c & BPF_X != 0 { "x".to_owned() } else { format!("#0x{k:x}") });
            let (jt, jf) = (pc + 1 + insn.jt as usize, pc + 1 + insn.jf as usize);
            return format!("({pc:03}) {op:<8} {operand:<16} jt {jt}\tjf {jf}");
        }
        c => ("unimp", format!("0x{c:x}")),
    };
    format!("({pc:03}) {op:<8} {operand}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prog() -> Vec<Instruction> {
        vec![
            Instruction::new(0x28, 0, 0, 12),
            Instruction::new(0x15, 0, 1, 0x88b5),
            Instruction::new(0x6, 0, 0, 262144),
            Instruction::new(0x6, 0, 0, 0),
        ]
    }

    #[test]
    fn three_listings_as_tcpdump_prints_them() {
        // `tcpdump -y EN10MB -d 'ether proto 0x88b5'` and friends.
        assert_eq!(
            listing(&prog(), Listing::Human),
            "(000) ldh      [12]\n(001) jeq      #0x88b5          jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n"
        );
        assert_eq!(
            listing(&prog(), Listing::CArray),
            "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x000088b5 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n"
        );
        assert_eq!(listing(&prog(), Listing::Decimal), "4\n40 0 0 12\n21 0 1 34997\n6 0 0 262144\n6 0 0 0\n");
    }

    #[test]
    fn decimal_round_trips() {
        let text = listing(&prog(), Listing::Decimal);
        assert_eq!(parse_decimal(&text), Some(prog()));
        assert_eq!(parse_decimal("2\n6 0 0 1\n"), None, "count mismatch");
        assert_eq!(parse_decimal("1\n6 0 0\n"), None);
        assert_eq!(parse_decimal("1\n70000 0 0 0\n"), None);
    }

    #[test]
    fn every_opcode_prints_as_libpcap_bpf_image() {
        // Lines `pc code jt jf k<TAB>image`, produced by libpcap 1.10's own
        // bpf_image() for every opcode byte and k values around the edges.
        let golden = include_str!("../../tests/data/filter/bpf_image.tsv");
        let (mut n, mut bad) = (0, Vec::new());
        // Under Miri, a sample: the formatting code is the same for all.
        let step = if cfg!(miri) { 25 } else { 1 };
        for line in golden.lines().step_by(step) {
            let (input, want) = line.split_once('\t').expect("tab");
            let f: Vec<u32> = input.split(' ').map(|x| x.parse().unwrap()).collect();
            let insn = Instruction::new(f[1] as u16, f[2] as u8, f[3] as u8, f[4]);
            let got = image(&insn, f[0] as usize);
            if got != want {
                bad.push(format!("{input}: ours {got:?}, libpcap {want:?}"));
            }
            n += 1;
        }
        assert!(bad.is_empty(), "{} of {n} differ:\n{}", bad.len(), bad.join("\n"));
        assert!(n * step > 1000);
    }
}
