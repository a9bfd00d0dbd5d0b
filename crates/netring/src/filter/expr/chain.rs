//! `protochain`: walking an IP header chain without a loop.
//!
//! libpcap compiles `protochain P` to a loop over the chain (a backward
//! `ja`), which the kernel's classic BPF checker refuses; libpcap then
//! filters in user space. Its walk, per header: the protocol is `P` (found);
//! it is 59, no next header (not found); an IPv6 hop-by-hop (0),
//! destination options (60), routing (43) or fragment (44) header moves on
//! by `(length + 1) * 8`; an AH header (51) moves on to `(length + 2) * 4`
//! counted from the network header — not from the AH header, as libpcap
//! computes it; anything else is not found. IPv4 starts behind its header
//! and follows only AH.
//!
//! Here the walk is unrolled [`CHAIN_DEPTH`] times (forward jumps only,
//! inside one test's value code): A ends as 1 (found) or 0. A chain with
//! more than `CHAIN_DEPTH` headers before `P` counts as not found, where
//! libpcap keeps walking. Loads past the end of the packet end the program,
//! as in libpcap's loop.

use crate::filter::Instruction;
use crate::filter::code::*;

/// Headers followed before giving up.
pub(crate) const CHAIN_DEPTH: usize = 8;

/// Where an instruction of the walk jumps: the next instruction, a later
/// label, or one of the two ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    Label(usize),
    Found,
    NotFound,
}

/// The value code of `protochain proto` for the header at `net` (IPv4 or
/// IPv6): A = 1 if the chain reaches `proto`, else 0. Uses X and M[0].
pub(crate) fn code(ip6: bool, net: u32, proto: u32) -> Vec<Instruction> {
    // (instruction, jt, jf); labels bind to instruction indexes.
    let mut v: Vec<(Instruction, To, To)> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    let st = |code: u16, k: u32| (Instruction::stmt(code, k), To::Next, To::Next);
    let jeq = |k: u32, t: To, f: To| (Instruction::stmt(BPF_JMP | BPF_JEQ | BPF_K, k), t, f);
    if ip6 {
        v.push(st(BPF_LD | BPF_B | BPF_ABS, net + 6));
        v.push(st(BPF_LDX | BPF_IMM, 40));
    } else {
        v.push(st(BPF_LD | BPF_B | BPF_ABS, net + 9));
        v.push(st(BPF_LDX | BPF_B | BPF_MSH, net));
    }
    for _ in 0..CHAIN_DEPTH {
        let (ext, ah, next) = (labels.len(), labels.len() + 1, labels.len() + 2);
        labels.extend([0, 0, 0]);
        // No next header (59) is not found, as every protocol below is not
        // (so it needs no test of its own).
        v.push(jeq(proto, To::Found, To::Next));
        if ip6 {
            for t in [0, 60, 43, 44] {
                v.push(jeq(t, To::Label(ext), To::Next));
            }
        }
        v.push(jeq(51, To::Label(ah), To::NotFound));
        // Each step leaves the next protocol in A and the new offset in X
        // (M[0] holds the offset in between).
        if ip6 {
            // (length + 1) * 8 bytes on.
            labels[ext] = v.len();
            v.push(st(BPF_LD | BPF_B | BPF_IND, net + 1));
            v.push(st(BPF_ALU | BPF_ADD | BPF_K, 1));
            v.push(st(BPF_ALU | BPF_LSH | BPF_K, 3));
            v.push(st(BPF_ALU | BPF_ADD | BPF_X, 0));
            v.push(st(BPF_ST, 0));
            v.push(st(BPF_LD | BPF_B | BPF_IND, net));
            v.push(st(BPF_LDX | BPF_MEM, 0));
            v.push((Instruction::stmt(BPF_JMP | BPF_JA, 0), To::Label(next), To::Label(next)));
        }
        // AH: (length + 2) * 4 bytes from the network header, as libpcap.
        labels[ah] = v.len();
        v.push(st(BPF_LD | BPF_B | BPF_IND, net + 1));
        v.push(st(BPF_ALU | BPF_ADD | BPF_K, 2));
        v.push(st(BPF_ALU | BPF_LSH | BPF_K, 2));
        v.push(st(BPF_ST, 0));
        v.push(st(BPF_LD | BPF_B | BPF_IND, net));
        v.push(st(BPF_LDX | BPF_MEM, 0));
        labels[next] = v.len();
    }
    // Deeper than CHAIN_DEPTH, or not found: 0; found: 1.
    let not_found = v.len();
    v.push(st(BPF_LD | BPF_IMM, 0));
    v.push((Instruction::stmt(BPF_JMP | BPF_JA, 1), To::Next, To::Next));
    let found = v.len();
    v.push(st(BPF_LD | BPF_IMM, 1));
    let at = |i: usize, to: To| -> u32 {
        let target = match to {
            To::Next => i + 1,
            To::Label(l) => labels[l],
            To::Found => found,
            To::NotFound => not_found,
        };
        (target - i - 1) as u32
    };
    v.iter()
        .enumerate()
        .map(|(i, &(insn, t, f))| {
            if insn.code == BPF_JMP | BPF_JA {
                if t == To::Next { insn } else { Instruction::stmt(insn.code, at(i, t)) }
            } else if insn.class() == BPF_JMP {
                let (jt, jf) = (at(i, t), at(i, f));
                debug_assert!(jt <= 255 && jf <= 255, "protochain jump too far: {jt} {jf}");
                Instruction::jump(insn.code, insn.k, jt as u8, jf as u8)
            } else {
                insn
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{FilterMeta, Program};

    /// `code` as a whole program: accept when A is 1.
    fn program(ip6: bool, proto: u32) -> Program {
        let mut v = code(ip6, 14, proto);
        v.push(Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1));
        v.push(Instruction::stmt(BPF_RET | BPF_K, 100));
        v.push(Instruction::stmt(BPF_RET | BPF_K, 0));
        Program::new(v).expect("the kernel's rules: forward jumps, memory stored before read")
    }

    /// An IPv6 frame whose chain is `headers` (each: next header, length
    /// byte) then `last`.
    fn ip6_frame(first: u8, headers: &[(u8, u8)]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, first, 64];
        ip.resize(40, 0);
        f.extend(ip);
        for &(next, len) in headers {
            let mut h = vec![next, len];
            h.resize((usize::from(len) + 1) * 8, 0);
            f.extend(h);
        }
        f.resize(f.len() + 20, 0);
        f
    }

    #[test]
    fn walks_extension_headers_up_to_the_depth() {
        let p = program(true, 6);
        let run = |f: &[u8]| p.run(f, &FilterMeta::for_frame(f));
        assert_eq!(run(&ip6_frame(6, &[])), 100);
        assert_eq!(run(&ip6_frame(0, &[(60, 1), (43, 0), (6, 0)])), 100);
        assert_eq!(run(&ip6_frame(0, &[(60, 1), (59, 0)])), 0, "no next header");
        assert_eq!(run(&ip6_frame(0, &[(17, 0)])), 0, "another protocol");
        // `n` destination-options headers, then TCP.
        let deep = |n: usize| {
            let mut h = vec![(60u8, 0u8); n - 1];
            h.push((6, 0));
            ip6_frame(60, &h)
        };
        assert_eq!(run(&deep(CHAIN_DEPTH - 1)), 100, "{} headers", CHAIN_DEPTH - 1);
        assert_eq!(run(&deep(CHAIN_DEPTH)), 0, "past the depth (libpcap walks on)");
        // A short frame ends the program, as libpcap's loop does.
        let f = ip6_frame(0, &[(6, 0)]);
        assert_eq!(run(&f[..55]), 0);
    }

    #[test]
    fn ipv4_follows_ah_counting_from_the_network_header() {
        let p = program(false, 17);
        let run = |f: &[u8]| p.run(f, &FilterMeta::for_frame(f));
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[8, 0]);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 51];
        ip.resize(20, 0);
        f.extend(ip);
        // AH: next header 17, length 1 → libpcap's X becomes (1 + 2) * 4 = 12 from the IPv4 header.
        f.extend([17, 1, 0, 0]);
        f.resize(80, 0);
        assert_eq!(run(&f), 100);
        f[34] = 6;
        assert_eq!(run(&f), 0);
    }
}
