//! AF_PACKET fanout over a real veth link: every mode the kernel has that a
//! veth can drive (the eBPF mode is in `ebpf.rs`) and every flag. Frames
//! are IPv4/UDP in 198.18.0.0/15 or numbered raw frames; each test checks
//! that every frame arrived exactly once and on the member the mode
//! promises. Needs root.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{collect, collect_udp, frame, link, seq_of, udp_flow_seq, udp_frame};
use netring::afpacket::{Fanout, FanoutFlags, FanoutMode};
use netring::filter::{Instruction, Program, code::*};
use netring::testkit::{VethLink, on_cpu};
use netring::{Capture, RawSender};

const WAIT: Duration = Duration::from_secs(5);
/// A short wait for "nothing more comes".
const QUIET: Duration = Duration::from_millis(300);

fn members(l: &VethLink, n: usize, f: &Fanout, ring: (usize, usize)) -> Vec<Capture> {
    (0..n)
        .map(|_| {
            let f = f.clone();
            l.b.run(|name| {
                Capture::builder()
                    .interface(name)
                    .block_size(ring.0)
                    .block_count(ring.1)
                    .retire_timeout(Duration::from_millis(5))
                    .fanout(f)
                    .build()
            })
            .unwrap()
            .unwrap()
        })
        .collect()
}

fn sender(l: &VethLink) -> RawSender {
    l.a.run(RawSender::open).unwrap().unwrap()
}

/// Per member: the (flow, seq) of each UDP frame it received, in order.
fn drain_udp(ms: &mut [Capture], total: usize) -> Vec<Vec<(u16, u64)>> {
    let mut got: Vec<Vec<(u16, u64)>> = vec![Vec::new(); ms.len()];
    let deadline = std::time::Instant::now() + WAIT;
    while got.iter().map(Vec::len).sum::<usize>() < total && std::time::Instant::now() < deadline {
        for (m, g) in ms.iter_mut().zip(got.iter_mut()) {
            g.extend(
                collect_udp(m, usize::MAX, Duration::from_millis(20)).iter().filter_map(|p| udp_flow_seq(p.data())),
            );
        }
    }
    for (m, g) in ms.iter_mut().zip(got.iter_mut()) {
        g.extend(collect_udp(m, usize::MAX, QUIET).iter().filter_map(|p| udp_flow_seq(p.data())));
    }
    got
}

fn assert_each_once(got: &[Vec<(u16, u64)>], sent: &[(u16, u64)]) {
    let mut all: Vec<_> = got.iter().flatten().copied().collect();
    all.sort_unstable();
    let mut want = sent.to_vec();
    want.sort_unstable();
    let missing: Vec<_> = want.iter().filter(|x| all.binary_search(x).is_err()).take(10).collect();
    assert!(
        all == want,
        "every frame exactly once over the group: {} of {}; first missing {missing:?}",
        all.len(),
        want.len()
    );
}

/// Rollover is decided from a room estimate (`packet_rcv_has_room()`: is the
/// block a quarter of the ring ahead free?), not from the frame's actual
/// fit, so a stalled member can still freeze on the odd frame: each frame
/// arrives at most once, and delivered + dropped = sent, exactly.
fn assert_at_most_once(got: &[Vec<(u16, u64)>], drops: u64, n: u64) {
    let all: BTreeSet<_> = got.iter().flatten().copied().collect();
    let delivered = got.iter().map(Vec::len).sum::<usize>();
    assert_eq!(all.len(), delivered, "no frame twice");
    assert_eq!(delivered as u64 + drops, n, "delivered + dropped = sent");
}

#[test]
fn hash_keeps_each_flow_on_one_member_and_delivers_every_frame_once() {
    let l = link();
    let mut ms = members(&l, 3, &Fanout::new(0x7101, FanoutMode::Hash), (1 << 16, 64));
    let tx = sender(&l);
    let mut sent = Vec::new();
    for seq in 0..1600u64 {
        let flow = (seq % 16) as u16;
        tx.send(&udp_frame(flow, seq, 60 + (seq as usize % 200))).unwrap();
        sent.push((flow, seq));
    }
    let got = drain_udp(&mut ms, sent.len());
    assert_each_once(&got, &sent);
    let mut owner: BTreeMap<u16, usize> = BTreeMap::new();
    for (k, g) in got.iter().enumerate() {
        for &(flow, _) in g {
            let o = *owner.entry(flow).or_insert(k);
            assert_eq!(o, k, "flow {flow} seen on members {o} and {k}");
        }
        // Within a member, each flow's frames keep their order.
        for flow in 0..16 {
            let seqs: Vec<_> = g.iter().filter(|x| x.0 == flow).map(|x| x.1).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "flow {flow} in order on member {k}");
        }
    }
    let used: BTreeSet<_> = owner.values().collect();
    assert!(used.len() >= 2, "16 flows spread over more than one of 3 members: {owner:?}");
    for m in &mut ms {
        assert_eq!(m.stats().unwrap().drops, 0);
    }
}

#[test]
fn load_balance_is_strict_round_robin() {
    let l = link();
    let mut ms = members(&l, 3, &Fanout::new(0x7102, FanoutMode::LoadBalance), (1 << 16, 64));
    let tx = sender(&l);
    let sent: Vec<_> = (0..300u64).map(|s| (0u16, s)).collect();
    for &(f, s) in &sent {
        tx.send(&udp_frame(f, s, 64)).unwrap();
    }
    let got = drain_udp(&mut ms, sent.len());
    assert_each_once(&got, &sent);
    for (k, g) in got.iter().enumerate() {
        assert_eq!(g.len(), 100, "member {k}: a third each");
        assert!(g.windows(2).all(|w| w[1].1 == w[0].1 + 3), "member {k} gets every third frame: {:?}", &g[..6]);
    }
}

#[test]
fn cpu_mode_picks_the_member_of_the_receiving_cpu() {
    let l = link();
    let mut ms = members(&l, 2, &Fanout::new(0x7103, FanoutMode::Cpu), (1 << 16, 64));
    // veth delivers on the sending CPU (netif_rx to that CPU's backlog).
    for cpu in [1usize, 0] {
        let tx = sender(&l);
        on_cpu(cpu, || {
            for s in 0..50u64 {
                tx.send(&udp_frame(cpu as u16, s, 64)).unwrap();
            }
        });
        let got = drain_udp(&mut ms, 50);
        assert_eq!(got[cpu].len(), 50, "sent on CPU {cpu}: all on member {cpu} % 2: {got:?}");
        assert!(got[1 - cpu].is_empty(), "none on the other member: {got:?}");
    }
}

#[test]
fn random_mode_spreads_every_frame_once() {
    let l = link();
    let mut ms = members(&l, 2, &Fanout::new(0x7104, FanoutMode::Random), (1 << 16, 64));
    let tx = sender(&l);
    let sent: Vec<_> = (0..1000u64).map(|s| (0u16, s)).collect();
    for &(f, s) in &sent {
        tx.send(&udp_frame(f, s, 64)).unwrap();
    }
    let got = drain_udp(&mut ms, sent.len());
    assert_each_once(&got, &sent);
    // One flow, yet both members: the choice is not by flow. (Both empty-or-
    // full has probability 2^-999.)
    assert!(got.iter().all(|g| !g.is_empty()), "{:?}", got.iter().map(Vec::len).collect::<Vec<_>>());
}

#[test]
fn queue_mapping_follows_the_receive_queue() {
    let l = link();
    let mut ms = members(&l, 2, &Fanout::new(0x7105, FanoutMode::QueueMapping), (1 << 16, 64));
    let tx = sender(&l);
    let sent: Vec<_> = (0..200u64).map(|s| ((s % 8) as u16, s)).collect();
    for &(f, s) in &sent {
        tx.send(&udp_frame(f, s, 64)).unwrap();
    }
    let got = drain_udp(&mut ms, sent.len());
    assert_each_once(&got, &sent);
    // A single-queue veth records receive queue 0 for every frame: all on
    // member 0 % 2, whatever the flow.
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![200, 0], "one queue, one member");
}

#[test]
fn cbpf_mode_sends_each_frame_to_the_member_the_program_returns() {
    let l = link();
    // Fanout programs see the packet from its network header: the low byte
    // of the sequence number of a numbered frame is at offset 7.
    let prog = Program::new(vec![
        Instruction::stmt(BPF_LD | BPF_B | BPF_ABS, 7),
        Instruction::stmt(BPF_ALU | BPF_AND | BPF_K, 1),
        Instruction::stmt(BPF_RET | BPF_A, 0),
    ])
    .unwrap();
    let mut ms = members(&l, 2, &Fanout::new(0x7106, FanoutMode::Cbpf(prog)), (1 << 16, 64));
    let tx = sender(&l);
    for i in 0..100u64 {
        tx.send(&frame(i, 100)).unwrap();
    }
    for (k, m) in ms.iter_mut().enumerate() {
        let got = collect(m, 50, WAIT);
        let seqs: Vec<u64> = got.iter().map(|p| seq_of(p.data()).unwrap()).collect();
        assert_eq!(seqs, (0..100).filter(|s| s % 2 == k as u64).collect::<Vec<_>>(), "member {k}");
    }
}

/// Send `n` frames from CPU 0 (so CPU mode picks member 0) and return what
/// each member holds afterwards, and the drops.
fn flood_member_zero(ms: &mut [Capture], l: &VethLink, n: u64) -> (Vec<Vec<(u16, u64)>>, u64) {
    let tx = sender(l);
    on_cpu(0, || {
        for s in 0..n {
            tx.send(&udp_frame(0, s, 200)).unwrap();
        }
    });
    // Sending is synchronous on veth: the drops are final now.
    let drops: u64 = ms.iter_mut().map(|m| m.stats().unwrap().drops).sum();
    (drain_udp(ms, (n - drops) as usize), drops)
}

#[test]
fn rollover_flag_moves_frames_to_another_member_when_one_stalls() {
    let l = link();
    const N: u64 = 2000;
    // Member 0 has a tiny ring (4 × 4 KiB) and is not read while frames
    // arrive; member 1 has room for all of them.
    let tiny = (4096, 4);
    let f = Fanout::new(0x7107, FanoutMode::Cpu).flags(FanoutFlags::ROLLOVER);
    let mut ms = vec![members(&l, 1, &f, tiny).remove(0), members(&l, 1, &f, (1 << 20, 8)).remove(0)];
    let (got, drops) = flood_member_zero(&mut ms, &l, N);
    assert_at_most_once(&got, drops, N);
    assert!(drops < 20, "the overflow went to member 1, not to the floor: {drops} dropped");
    assert!(!got[0].is_empty() && got[0].len() < 200, "member 0 took what its ring holds: {}", got[0].len());
    assert!(got[1].len() > 1800, "rollover engaged: {}", got[1].len());

    // Without the flag, the same stall loses frames on member 0.
    let l = link();
    let f = Fanout::new(0x7108, FanoutMode::Cpu);
    let mut ms = vec![members(&l, 1, &f, tiny).remove(0), members(&l, 1, &f, (1 << 20, 8)).remove(0)];
    let (got, drops) = flood_member_zero(&mut ms, &l, N);
    assert!(got[1].is_empty());
    assert_at_most_once(&got, drops, N);
    assert!(drops > 1800, "what member 0 could not hold was dropped, and counted: {drops}");
}

#[test]
fn rollover_mode_fills_one_member_then_the_next() {
    let l = link();
    const N: u64 = 2000;
    let f = Fanout::new(0x7109, FanoutMode::Rollover);
    let mut ms = vec![members(&l, 1, &f, (4096, 4)).remove(0), members(&l, 1, &f, (1 << 20, 8)).remove(0)];
    let tx = sender(&l);
    for s in 0..N {
        tx.send(&udp_frame(0, s, 200)).unwrap();
    }
    let drops = ms.iter_mut().map(|m| m.stats().unwrap().drops).sum::<u64>();
    let got = drain_udp(&mut ms, (N - drops) as usize);
    assert_at_most_once(&got, drops, N);
    assert!(drops < 20, "{drops} dropped");
    assert!(
        !got[0].is_empty() && got[0].len() < 200,
        "the first member, until its ring is short of room: {}",
        got[0].len()
    );
    assert!(got[1].len() > 1800, "then the next: {}", got[1].len());
    // Member 0's frames come first: rollover sticks to the member it moved to.
    assert!(got[0].iter().all(|x| x.1 < 200), "{:?}", got[0]);
}

#[test]
fn defrag_flag_reassembles_fragments_before_choosing() {
    for defrag in [false, true] {
        let l = link();
        let flags = if defrag { FanoutFlags::DEFRAG } else { FanoutFlags::empty() };
        let mut ms = members(&l, 2, &Fanout::new(0x710a, FanoutMode::Hash).flags(flags), (1 << 16, 64));
        let tx = sender(&l);
        // One 1208-byte UDP datagram (8 + 1200) in two fragments: 1000 + 208.
        let whole = udp_frame(3, 77, 14 + 20 + 8 + 1200);
        let payload = &whole[34..];
        for (off, part, more) in [(0usize, &payload[..1000], true), (1000, &payload[1000..], false)] {
            let mut f = whole[..34].to_vec();
            f.extend_from_slice(part);
            let ip = &mut f[14..34];
            ip[2..4].copy_from_slice(&((20 + part.len()) as u16).to_be_bytes());
            ip[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
            let frag = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            ip[6..8].copy_from_slice(&frag.to_be_bytes());
            ip[10..12].copy_from_slice(&[0, 0]);
            let sum = common::ipv4_checksum(ip);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            tx.send(&f).unwrap();
        }
        let mut lens = Vec::new();
        for m in &mut ms {
            while let Some(b) = m.next_batch_blocking(Some(QUIET)).unwrap() {
                lens.extend(b.iter().filter(|p| p.data().get(12..14) == Some(&[8, 0])).map(|p| p.len()));
            }
        }
        if defrag {
            assert_eq!(lens, vec![whole.len()], "one reassembled datagram");
        } else {
            lens.sort_unstable();
            assert_eq!(lens, vec![14 + 20 + 208, 14 + 20 + 1000], "two fragments");
        }
    }
}

#[test]
fn unique_id_lets_the_kernel_pick_a_free_group() {
    let l = link();
    let first = members(&l, 1, &Fanout::new(0, FanoutMode::LoadBalance).flags(FanoutFlags::UNIQUE_ID), (1 << 16, 16));
    // The kernel's choice (`fanout_next_id`, which starts at 0 after boot,
    // so 0 itself is a valid answer), read back with getsockopt.
    let id = first[0].fanout_group().expect("joined");
    // Others join by that id (the flag is only for the first).
    let mut ms = first;
    ms.extend(members(&l, 1, &Fanout::new(id, FanoutMode::LoadBalance), (1 << 16, 16)));
    assert_eq!(ms[1].fanout_group(), Some(id));
    let tx = sender(&l);
    let sent: Vec<_> = (0..100u64).map(|s| (0u16, s)).collect();
    for &(f, s) in &sent {
        tx.send(&udp_frame(f, s, 64)).unwrap();
    }
    let got = drain_udp(&mut ms, 100);
    assert_each_once(&got, &sent);
    assert_eq!((got[0].len(), got[1].len()), (50, 50));
    // A second unique group on the same interface gets another id.
    let other = members(&l, 1, &Fanout::new(0, FanoutMode::LoadBalance).flags(FanoutFlags::UNIQUE_ID), (1 << 16, 16));
    assert_ne!(other[0].fanout_group(), Some(id));
}

#[test]
fn ignore_outgoing_flag_hides_what_the_host_sends() {
    for ignore in [false, true] {
        let l = link();
        let flags = if ignore { FanoutFlags::IGNORE_OUTGOING } else { FanoutFlags::empty() };
        let f = Fanout::new(0x710b, FanoutMode::Hash).flags(flags);
        // Members on end a, which both sends (outgoing) and receives.
        let mut ms: Vec<Capture> = (0..2)
            .map(|_| l.a.run(|n| Capture::builder().interface(n).fanout(f.clone()).build()).unwrap().unwrap())
            .collect();
        let out = sender(&l);
        let inbound = l.b.run(RawSender::open).unwrap().unwrap();
        for s in 0..10u64 {
            out.send(&udp_frame(1, s, 64)).unwrap();
            inbound.send(&udp_frame(2, 100 + s, 64)).unwrap();
        }
        let got = drain_udp(&mut ms, if ignore { 10 } else { 20 });
        let flows: BTreeSet<u16> = got.iter().flatten().map(|x| x.0).collect();
        let n: usize = got.iter().map(Vec::len).sum();
        if ignore {
            assert_eq!((flows, n), ([2].into(), 10), "only the frames arriving");
        } else {
            assert_eq!((flows, n), ([1, 2].into(), 20), "sent and arriving");
        }
    }
}
