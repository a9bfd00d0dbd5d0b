//! Frame templates over real links: a [`FrameGen`] writes a template once
//! per sink buffer and then only the sequence number, relying on
//! [`SinkSlot::buffer_index`] and the promise that a buffer keeps its
//! bytes. On each sink — TX ring (16 slots), `sendmmsg` buffers, AF_XDP
//! UMEM frames — frames arrive byte for byte after many laps, after the
//! frame length shrinks and grows, and (TX ring) after the kernel refused
//! a frame in between. Needs root.

mod common;

use std::time::Duration;

use common::{collect, link};
use netring::testkit::{FrameGen, Payload, SeqFrames, VethLink};
use netring::{Capture, Injector, PacketSink, RawSender, SinkSlot, XdpMode, XdpSocket};

const WAIT: Duration = Duration::from_secs(10);
/// (first sequence number, frames, length) of each phase.
const PHASES: [(u64, u64, usize); 4] = [(0, 100, 1514), (100, 100, 60), (200, 100, 700), (300, 100, 1514)];

/// Frame `seq`, from `SeqFrames` alone (see `Payload`).
fn expected(payload: Payload, seq: u64, len: usize) -> Vec<u8> {
    let g = SeqFrames::default();
    let mut v = match payload {
        Payload::Seq => g.build(0, len),
        Payload::Zero => {
            let mut v = vec![0; len];
            v[..14].copy_from_slice(&g.build(0, len)[..14]);
            v
        }
        _ => g.build(seq, len),
    };
    v[14..22].copy_from_slice(&seq.to_be_bytes());
    v
}

/// Send every phase through `sink`; `runt`: queue a 10-byte frame, which
/// the kernel refuses, before the third phase.
fn send<S: PacketSink>(sink: &mut S, payload: Payload, runt: bool) {
    let mut frames = FrameGen::new(sink, SeqFrames::default(), payload, None);
    for (i, (first, n, len)) in PHASES.into_iter().enumerate() {
        if runt && i == 2 {
            let mut slot = sink.allocate(10).unwrap().expect("room");
            slot.fill(0xee);
            slot.send();
        }
        for seq in first..first + n {
            let generation = sink.buffer_generation();
            let mut slot = sink.allocate_blocking(len, Some(WAIT)).unwrap().expect("room within 10 s");
            frames.write(&mut slot, generation, seq);
            slot.send();
            if seq % 8 == 7 {
                let _ = sink.flush(); // the refused runt's error, if any
            }
        }
        let _ = sink.flush();
    }
    assert!(sink.wait_drained(Some(WAIT)).unwrap());
}

fn check(cap: &mut Capture, payload: Payload, what: &str) {
    let total: u64 = PHASES.iter().map(|p| p.1).sum();
    let got = collect(cap, total as usize, WAIT);
    assert_eq!(got.len() as u64, total, "{what}");
    let mut seq = 0;
    for (first, n, len) in PHASES {
        for s in first..first + n {
            assert_eq!(got[seq].data(), &expected(payload, s, len)[..], "{what}: frame {s}");
            seq += 1;
        }
    }
}

fn receiver(l: &VethLink) -> Capture {
    l.b.run(|i| Capture::builder().interface(i).block_count(64).build()).unwrap().unwrap()
}

#[test]
fn templates_survive_laps_length_changes_and_a_refused_frame_on_the_tx_ring() {
    let l = link();
    for payload in [Payload::Seq, Payload::Zero, Payload::Pattern] {
        let mut cap = receiver(&l);
        let mut inj = l.a.run(|i| Injector::builder().interface(i).frame_count(16).build()).unwrap().unwrap();
        assert_eq!(inj.buffer_count(), 16);
        send(&mut inj, payload, true);
        let s = inj.tx_stats();
        assert_eq!((s.sent, s.rejected), (400, 1), "{payload:?}");
        assert_eq!(inj.buffer_generation(), 1, "the refusal moved queued frames: one new generation");
        check(&mut cap, payload, &format!("TX ring, {payload:?}"));
    }
}

#[test]
fn templates_survive_laps_and_length_changes_in_sendmmsg_buffers() {
    let l = link();
    for payload in [Payload::Seq, Payload::Zero] {
        let mut cap = receiver(&l);
        let mut raw = l.a.run(RawSender::open).unwrap().unwrap();
        assert_eq!(raw.buffer_count(), RawSender::SINK_BUFFERS);
        send(&mut raw, payload, false);
        assert_eq!(PacketSink::tx_stats(&mut raw).sent, 400);
        check(&mut cap, payload, &format!("sendmmsg, {payload:?}"));
    }
}

#[test]
fn templates_survive_laps_and_length_changes_in_umem_frames() {
    let l = link();
    for payload in [Payload::Seq, Payload::Zero] {
        let mut cap = receiver(&l);
        // 64 UMEM frames: six laps of 400 frames.
        let mut sock =
            l.a.run(|i| {
                XdpSocket::builder()
                    .interface(i)
                    .mode(XdpMode::Tx)
                    .frame_count(64)
                    .tx_ring_size(32)
                    .completion_ring_size(64)
                    .build()
            })
            .unwrap()
            .unwrap();
        assert_eq!(sock.buffer_count(), 64);
        send(&mut sock, payload, false);
        assert_eq!(sock.xdp_stats().unwrap().completed, 400);
        check(&mut cap, payload, &format!("AF_XDP, {payload:?}"));
    }
}

/// Every slot index names one buffer: each of a sink's buffers is handed
/// out, none outside `0..buffer_count()`.
#[test]
fn buffer_indices_cover_the_sink_exactly() {
    let l = link();
    let mut inj = l.a.run(|i| Injector::builder().interface(i).frame_count(16).build()).unwrap().unwrap();
    let mut seen = Vec::new();
    for seq in 0..40u64 {
        let mut slot = inj.allocate_blocking(60, Some(WAIT)).unwrap().unwrap();
        seen.push(slot.buffer_index());
        slot.copy_from_slice(&common::frame(seq, 60));
        slot.send();
        inj.flush().unwrap();
    }
    assert_eq!(seen, (0..40).map(|i| i % 16).collect::<Vec<_>>(), "the TX ring's slots in ring order");
}
