//! The classic BPF interpreter never panics or loops on any program and
//! any packet, valid or not; a program the validator accepts runs to a
//! return.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::filter::{FilterMeta, Instruction, interp, validate};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize % 64).min(rest.len() / 8);
    let (code, packet) = rest.split_at(n * 8);
    let insns: Vec<Instruction> = code
        .chunks_exact(8)
        .map(|c| {
            Instruction::new(u16::from_le_bytes([c[0], c[1]]), c[2], c[3], u32::from_le_bytes([c[4], c[5], c[6], c[7]]))
        })
        .collect();
    let meta = FilterMeta { vlan_tci: packet.first().map(|&b| b as u16), ..FilterMeta::for_frame(packet) };
    let v = interp::run(&insns, packet, &meta);
    if validate(&insns).is_ok() {
        // Deterministic: the same program on the same packet, the same answer.
        assert_eq!(v, interp::run(&insns, packet, &meta));
    }
});
