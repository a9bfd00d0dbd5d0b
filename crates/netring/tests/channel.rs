//! `ChannelCapture` over a real veth link: a slow consumer under both
//! backpressure policies gets exactly what was not dropped, and every loss
//! is counted in exactly one place; a stop drains; a deleted interface ends
//! the channel with its error. Needs root.
#![cfg(feature = "channel")]

mod common;

use std::time::{Duration, Instant};

use common::{frame, link, seq_of};
use netring::channel::{Backpressure, ChannelCapture};
use netring::testkit::VethLink;
use netring::{Capture, CaptureBuilder, Error, OwnedPacket, RawSender};

const WAIT: Duration = Duration::from_secs(10);

fn channel(
    l: &VethLink,
    capture: impl FnOnce(CaptureBuilder) -> CaptureBuilder + Send,
    cap: usize,
    p: Backpressure,
) -> ChannelCapture {
    l.b.run(|n| {
        let b = capture(Capture::builder().interface(n).retire_timeout(Duration::from_millis(10)));
        ChannelCapture::builder(b).capacity(cap).backpressure(p).build()
    })
    .unwrap()
    .unwrap()
}

fn send(l: &VethLink, frames: &[Vec<u8>]) {
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for f in frames {
        tx.send(f).unwrap();
    }
}

/// Stop, then take every item until the channel ends (bounded in time).
fn stop_and_drain(cap: &ChannelCapture) -> Vec<OwnedPacket> {
    cap.stop();
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::new();
    loop {
        let left = deadline.checked_duration_since(Instant::now()).expect("the channel ends after a stop");
        match cap.receiver().recv_timeout(left) {
            Ok(item) => out.push(item.expect("no error")),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn drop_policy_keeps_what_fits_and_counts_the_rest() {
    let l = link();
    let cap = channel(&l, |b| b, 64, Backpressure::Drop);
    let sent: Vec<_> = (0..1000).map(|i| frame(i, 200)).collect();
    send(&l, &sent);
    // The consumer sleeps: the thread fills the channel and drops the rest.
    std::thread::sleep(Duration::from_millis(300));
    let got = stop_and_drain(&cap);
    let s = cap.stats();
    assert_eq!(got.len(), 64, "exactly the channel's capacity arrived");
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.data(), &sent[i][..], "the first 64 frames, in order, byte for byte");
    }
    assert_eq!((s.delivered, s.dropped), (64, 936), "{s:?}");
    assert_eq!((s.kernel.packets, s.kernel.drops), (1000, 0), "the kernel lost nothing: {s:?}");
}

#[test]
fn block_policy_loses_only_in_the_kernel_and_says_so() {
    let l = link();
    // A tiny ring: four 4 KiB blocks hold a dozen 1000-byte frames.
    let cap = channel(&l, |b| b.block_size(4096).block_count(4), 8, Backpressure::Block);
    let sent: Vec<_> = (0..500).map(|i| frame(i, 1000)).collect();
    send(&l, &sent);
    std::thread::sleep(Duration::from_millis(300));
    let got = stop_and_drain(&cap);
    let s = cap.stats();
    assert_eq!(s.dropped, 0, "Block never drops in user space");
    assert!(s.kernel.drops > 0, "the ring overflowed behind the blocked thread: {s:?}");
    assert_eq!(s.kernel.packets + s.kernel.drops, 500, "{s:?}");
    assert_eq!(got.len() as u64, s.kernel.packets, "every frame the kernel put in the ring arrived");
    assert_eq!(s.delivered, s.kernel.packets);
    let mut last = None;
    for p in &got {
        let seq = seq_of(p.data()).unwrap();
        assert_eq!(p.data(), &sent[seq as usize][..], "frame {seq} byte for byte");
        assert!(last.is_none_or(|l| seq > l), "in order, none twice");
        last = Some(seq);
    }
}

#[test]
fn stop_drains_the_block_the_kernel_was_filling() {
    let l = link();
    // A long retire timeout: the frames sit in an unretired block at stop.
    let cap = channel(&l, |b| b.retire_timeout(Duration::from_millis(200)), 100, Backpressure::Block);
    let sent: Vec<_> = (0..5).map(|i| frame(i, 100)).collect();
    send(&l, &sent);
    let got = stop_and_drain(&cap);
    assert_eq!(got.iter().map(|p| p.data().to_vec()).collect::<Vec<_>>(), sent);
}

#[test]
fn a_deleted_interface_reaches_the_consumer_and_ends_the_channel() {
    let l = link();
    let cap = channel(&l, |b| b, 100, Backpressure::Block);
    let sent: Vec<_> = (0..10).map(|i| frame(i, 100)).collect();
    send(&l, &sent);
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let item = cap.receiver().recv_timeout(WAIT).expect("frames");
        got.push(item.unwrap().data);
    }
    assert_eq!(got, sent);
    l.b.delete().unwrap();
    let mut errors = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.checked_duration_since(Instant::now()).expect("the channel ends after the error");
        match cap.receiver().recv_timeout(left) {
            Ok(Err(e)) => errors.push(e),
            Ok(Ok(p)) => panic!("no frame after the deletion: {p:?}"),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        matches!(errors.last(), Some(Error::InterfaceGone { name }) if *name == l.b.name),
        "the last item names the deleted interface: {errors:?}"
    );
    assert!(errors[..errors.len() - 1].iter().all(|e| matches!(e, Error::InterfaceDown { .. })), "{errors:?}");
    assert!(cap.recv().is_none(), "ended, not hanging");
}
