//! Built-in programs, assembled here in Rust: no compiler, no object file.

pub use super::xdp::XDP_PASS;
use super::{ArrayMap, Asm, Insn, Reg, RxKfuncs, XdpRxMetaPlacement, XskMap, helper, op};
use crate::filter::Program;

/// Offset of `rx_queue_index` in `struct xdp_md`.
const XDP_MD_RX_QUEUE_INDEX: i16 = 16;

/// The XDP program behind [`XdpSocket`](crate::XdpSocket):
///
/// ```c
/// return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
/// ```
///
/// Frames of a queue with a socket in `map` go to that socket; frames of any
/// other queue go on to the kernel's stack (the flags argument's low bits are
/// the action when the lookup fails, Linux 5.3+).
pub fn xsk_redirect(map: &XskMap) -> Vec<Insn> {
    let [lo, hi] = Insn::ld_map_fd(Reg::R1, map.raw_fd());
    vec![
        Insn::ldx_mem(op::W, Reg::R2, Reg::R1, XDP_MD_RX_QUEUE_INDEX),
        lo,
        hi,
        Insn::mov64_imm(Reg::R3, XDP_PASS),
        Insn::call(helper::REDIRECT_MAP),
        Insn::exit(),
    ]
}

/// [`xsk_redirect`] behind a classic BPF filter: frames `filter` accepts
/// go to the socket, the others on to the kernel's stack (`XDP_PASS`), as
/// if no program were attached.
///
/// The filter is translated to eBPF (every packet load checked against
/// `data_end`; see [`crate::filter::expr`] for compiling one). Compile it
/// for [`Target::Offline`](crate::filter::expr::Target::Offline): XDP sees
/// the frame's bytes as they arrived, VLAN tags included. Its accept length
/// does not matter: XDP hands over whole frames.
///
/// # Errors
/// [`Error::InvalidFilter`](crate::Error::InvalidFilter) for an ancillary
/// load without meaning in XDP (anything but packet type, interface index
/// and VLAN presence).
pub fn xsk_redirect_filtered(map: &XskMap, filter: &Program) -> crate::Result<Vec<Insn>> {
    let mut a = Asm::new();
    let (accept, reject) = (a.label(), a.label());
    super::cbpf::translate(filter, &mut a, accept, reject)?;
    a.bind(accept);
    let [lo, hi] = Insn::ld_map_fd(Reg::R1, map.raw_fd());
    a.push([Insn::ldx_mem(op::W, Reg::R2, Reg::R6, XDP_MD_RX_QUEUE_INDEX), lo, hi]);
    a.push([Insn::mov64_imm(Reg::R3, XDP_PASS), Insn::call(helper::REDIRECT_MAP), Insn::exit()]);
    a.bind(reject);
    a.push([Insn::mov64_imm(Reg::R0, XDP_PASS), Insn::exit()]);
    a.finish()
}

/// [`xsk_redirect`] (behind `filter`, as [`xsk_redirect_filtered`], if
/// given) that first writes an [`XdpRxMeta`](super::XdpRxMeta) area for
/// each frame it redirects, placed as `placement` says: the program's
/// `CLOCK_TAI` time (`bpf_ktime_get_tai_ns`, Linux 6.1) and whatever the
/// XDP metadata kfuncs of `kfuncs` give (device time, RX hash, VLAN tag).
/// With any kfunc, load the program device-bound
/// ([`EbpfProgram::load_device_bound`](super::EbpfProgram::load_device_bound)).
///
/// With [`XdpRxMetaPlacement::Prefix`], a frame no socket takes is shrunk
/// back (`bpf_xdp_adjust_head(ctx, 32)`) before it goes on to the stack.
///
/// # Errors
/// As [`xsk_redirect_filtered`].
pub fn xsk_redirect_meta(
    map: &XskMap,
    filter: Option<&Program>,
    kfuncs: &RxKfuncs,
    placement: XdpRxMetaPlacement,
) -> crate::Result<Vec<Insn>> {
    let mut a = Asm::new();
    let (accept, pass) = (a.label(), a.label());
    match filter {
        Some(f) => super::cbpf::translate(f, &mut a, accept, pass)?,
        None => {
            a.push([Insn::mov64_reg(Reg::R6, Reg::R1)]);
        }
    }
    a.bind(accept);
    super::rxmeta::emit(&mut a, kfuncs, placement, pass);
    let [lo, hi] = Insn::ld_map_fd(Reg::R1, map.raw_fd());
    a.push([Insn::ldx_mem(op::W, Reg::R2, Reg::R6, XDP_MD_RX_QUEUE_INDEX), lo, hi]);
    a.push([Insn::mov64_imm(Reg::R3, XDP_PASS), Insn::call(helper::REDIRECT_MAP)]);
    if placement == XdpRxMetaPlacement::Prefix {
        // Not redirected: take the area off again before the stack sees it.
        let out = a.label();
        a.jump_imm(op::JNE, Reg::R0, XDP_PASS, out);
        a.push([
            Insn::mov64_reg(Reg::R1, Reg::R6),
            Insn::mov64_imm(Reg::R2, super::XdpRxMeta::LEN as i32),
            Insn::call(helper::XDP_ADJUST_HEAD),
            Insn::mov64_imm(Reg::R0, XDP_PASS),
        ]);
        a.bind(out);
    }
    a.push([Insn::exit()]);
    // (Only when something jumps there: the verifier refuses unreachable
    // instructions.)
    if filter.is_some() || placement == XdpRxMetaPlacement::Prefix {
        a.bind(pass);
        a.push([Insn::mov64_imm(Reg::R0, XDP_PASS), Insn::exit()]);
    }
    a.finish()
}

/// `XDP_DROP`, the verdict that drops a frame.
pub const XDP_DROP: i32 = 1;

/// An XDP program that counts every frame in value 0 of `counter` and
/// drops it: the most a device can take in through XDP, the ceiling any
/// receiver behind it can reach.
///
/// ```c
/// __u64 *n = bpf_map_lookup_elem(&counter, &(__u32){0});
/// if (n) __sync_fetch_and_add(n, 1);
/// return XDP_DROP;
/// ```
pub fn xdp_count_drop(counter: &ArrayMap) -> Vec<Insn> {
    let [lo, hi] = Insn::ld_map_fd(Reg::R1, counter.raw_fd());
    vec![
        lo,
        hi,
        Insn::st_mem(op::W, Reg::R10, -4, 0),
        Insn::mov64_reg(Reg::R2, Reg::R10),
        Insn::alu64_imm(op::ADD, Reg::R2, -4),
        Insn::call(helper::MAP_LOOKUP_ELEM),
        Insn::jmp_imm(op::JEQ, Reg::R0, 0, 2),
        Insn::mov64_imm(Reg::R1, 1),
        Insn::atomic_add(op::DW, Reg::R0, Reg::R1, 0),
        Insn::mov64_imm(Reg::R0, XDP_DROP),
        Insn::exit(),
    ]
}

/// A socket filter that keeps frames of one EtherType, up to `snaplen`
/// bytes each, and drops every other frame:
///
/// ```c
/// return load_half(skb, 12) == ethertype ? snaplen : 0;
/// ```
///
/// (For AF_PACKET `SOCK_RAW` sockets the filter sees the frame from its
/// Ethernet header.)
pub fn accept_ethertype(ethertype: u16, snaplen: u32) -> Vec<Insn> {
    let mut a = Asm::new();
    let drop = a.label();
    a.push([Insn::mov64_reg(Reg::R6, Reg::R1), Insn::ld_abs(op::H, 12)]);
    a.jump_imm(op::JNE, Reg::R0, i32::from(ethertype), drop);
    // `snaplen` ≤ u32::MAX: load it zero-extended.
    a.push(Insn::ld_imm64(Reg::R0, u64::from(snaplen)));
    a.push([Insn::exit()]);
    a.bind(drop);
    a.push([Insn::mov64_imm(Reg::R0, 0), Insn::exit()]);
    a.finish().expect("labels bound")
}

/// A fanout selector that sends each frame to member
/// `(big-endian u32 at offset off of the network header) % members`:
/// a stable, content-chosen spread (the kernel takes the result modulo the
/// group size).
///
/// ```c
/// return load_word(skb, off);
/// ```
pub fn fanout_by_word(off: i32) -> Vec<Insn> {
    vec![Insn::mov64_reg(Reg::R6, Reg::R1), Insn::ld_abs(op::W, off), Insn::exit()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_ethertype_jumps_to_the_drop_path() {
        let p = accept_ethertype(0x88b5, 100);
        assert_eq!(p.len(), 8);
        assert_eq!(p[2].code, op::JMP | op::JNE | op::K);
        assert_eq!(p[2].imm, 0x88b5);
        assert_eq!(2 + 1 + i64::from(p[2].off), 6, "jumps to r0 = 0");
        assert_eq!(p[3].imm, 100);
    }
}
