//! eBPF programs assembled and loaded by netring, attached to AF_PACKET
//! captures over a real veth link: a socket filter (`SO_ATTACH_BPF`) and a
//! fanout selector (`PACKET_FANOUT_EBPF`). Needs root.

mod common;

use std::time::Duration;

use common::{DST, ETHERTYPE, collect, frame, frame_to, link, seq_of};
use netring::afpacket::{Fanout, FanoutMode};
use netring::bpf::{EbpfProgram, Insn, ProgramType, Reg, programs};
use netring::{Capture, Error, RawSender};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn an_ebpf_socket_filter_keeps_one_ethertype_truncated_in_the_kernel() {
    let l = link();
    let prog =
        EbpfProgram::load(ProgramType::SocketFilter, "nrt_ethertype", &programs::accept_ethertype(ETHERTYPE, 80))
            .expect("the verifier accepts the filter");
    assert!(prog.id().unwrap() > 0);
    let mut cap = l.b.run(|n| Capture::builder().interface(n).ebpf_filter(prog).build()).unwrap().unwrap();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for i in 0..20u64 {
        let ty = if i % 2 == 0 { ETHERTYPE } else { 0x88b6 };
        tx.send(&frame_to(DST, i, 200, ty)).unwrap();
    }
    let got = collect(&mut cap, 10, WAIT);
    assert_eq!(
        got.iter().map(|p| seq_of(p.data()).unwrap()).collect::<Vec<_>>(),
        (0..20).step_by(2).collect::<Vec<_>>()
    );
    for p in &got {
        assert_eq!(p.data(), &frame(seq_of(p.data()).unwrap(), 200)[..80], "kept 80 bytes, exactly");
        assert_eq!(p.original_len(), 200);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(cap.next_batch().is_none());
    assert_eq!(cap.stats().unwrap().packets, 10, "the odd frames never reached the socket");

    // Replace it live: now everything passes whole.
    let all =
        EbpfProgram::load(ProgramType::SocketFilter, "nrt_all", &[Insn::mov64_imm(Reg::R0, -1), Insn::exit()]).unwrap();
    cap.set_ebpf_filter(&all).unwrap();
    tx.send(&frame_to(DST, 100, 300, 0x88b6)).unwrap();
    let b = cap.next_batch_blocking(Some(WAIT)).unwrap().expect("a batch");
    assert_eq!(b.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![300]);
}

#[test]
fn an_ebpf_filter_cannot_be_combined_with_a_snap_length() {
    let prog = EbpfProgram::load(ProgramType::SocketFilter, "nrt_all", &[Insn::mov64_imm(Reg::R0, -1), Insn::exit()]);
    let Ok(prog) = prog else { panic!("load needs CAP_BPF: run as root ({prog:?})") };
    match Capture::builder().interface("lo").snaplen(10).ebpf_filter(prog).build() {
        Err(e @ Error::InvalidConfig { .. }) => assert!(e.to_string().contains("cannot be combined"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_verifier_log_explains_a_refused_program() {
    common::require_root();
    // Reads r2 before anything wrote it.
    let bad = [Insn::mov64_reg(Reg::R0, Reg::R2), Insn::exit()];
    match EbpfProgram::load(ProgramType::SocketFilter, "nrt_bad", &bad) {
        Err(e @ Error::BpfLoad { .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with("bpf(BPF_PROG_LOAD) of nrt_bad failed"), "{msg}");
            assert!(msg.contains("verifier log") && msg.contains("R2 !read_ok"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ebpf_fanout_sends_each_frame_to_the_member_the_program_picks() {
    let l = link();
    // Member = low 32 bits of the sequence number (bytes 4..8 after the
    // Ethernet header) modulo the group size: even → first, odd → second.
    let prog = EbpfProgram::load(ProgramType::SocketFilter, "nrt_fanout", &programs::fanout_by_word(4)).unwrap();
    let group = 0x4e52;
    let mut members: Vec<Capture> = (0..2)
        .map(|_| {
            let f = Fanout::new(group, FanoutMode::Ebpf(prog.clone()));
            l.b.run(|n| Capture::builder().interface(n).fanout(f).build()).unwrap().unwrap()
        })
        .collect();
    assert!(members.iter().all(|m| m.fanout_group() == Some(group)));
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for i in 0..100u64 {
        tx.send(&frame(i, 100)).unwrap();
    }
    for (k, m) in members.iter_mut().enumerate() {
        let got = collect(m, 50, WAIT);
        let seqs: Vec<u64> = got.iter().map(|p| seq_of(p.data()).unwrap()).collect();
        assert_eq!(seqs, (0..100).filter(|s| s % 2 == k as u64).collect::<Vec<_>>(), "member {k}");
        assert!(got.iter().all(|p| p.data() == &frame(seq_of(p.data()).unwrap(), 100)[..]));
    }
}
