//! AF_XDP under faults, over real veth links in private namespaces: the
//! interface going down, coming back, or being deleted under a blocked
//! reader (the kernel wakes no AF_XDP wait for any of these), queue ids
//! beyond the active ones, and frames too short to be Ethernet. Needs root;
//! fails naming what is missing otherwise.

mod common;

use std::time::{Duration, Instant};

use common::{frame, link, seq_of};
use netring::afxdp::XdpQueueSet;
use netring::testkit::{VethConfig, VethLink};
use netring::{Error, PacketSink, RawSender, XdpMode, XdpSocket};

const WAIT: Duration = Duration::from_secs(5);

fn rx_socket(l: &VethLink) -> XdpSocket {
    l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).build()).unwrap().unwrap()
}

/// Blocking reads (10 s each) on a thread until `reads` of them failed:
/// each error with the time its read took.
fn read_until_error<S: netring::PacketSource + Send + 'static>(
    mut src: S,
    reads: usize,
) -> std::thread::JoinHandle<(Vec<(Error, Duration)>, S)> {
    std::thread::spawn(move || {
        let mut errors = Vec::new();
        while errors.len() < reads {
            let t0 = Instant::now();
            match src.next_batch_blocking(Some(Duration::from_secs(10))) {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("a blocking read waited 10 s instead of failing"),
                Err(e) => errors.push((e, t0.elapsed())),
            }
        }
        (errors, src)
    })
}

#[test]
fn deleting_the_interface_ends_a_blocked_af_xdp_read_within_a_second() {
    let l = link();
    let sock = rx_socket(&l);
    let t = read_until_error(sock, 2);
    std::thread::sleep(Duration::from_millis(300));
    let deleted = Instant::now();
    l.a.delete().unwrap(); // the peer's deletion takes our end with it
    let (errors, _) = t.join().unwrap();
    // Deleting an interface that is up takes it down first: a look in
    // between may see it down.
    let gone = errors.iter().position(|(e, _)| matches!(e, Error::InterfaceGone { .. }));
    let gone = gone.unwrap_or_else(|| panic!("InterfaceGone reported: {errors:?}"));
    assert!(errors[..gone].iter().all(|(e, _)| matches!(e, Error::InterfaceDown { .. })), "{errors:?}");
    assert!(deleted.elapsed() < Duration::from_secs(1), "noticed {:?} after the deletion", deleted.elapsed());
    match &errors[gone].0 {
        Error::InterfaceGone { name } => assert_eq!(name, &l.b.name),
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_deleted_interface_is_reported_on_every_later_read_at_once() {
    let l = link();
    let sock = rx_socket(&l);
    let t = read_until_error(sock, 1);
    std::thread::sleep(Duration::from_millis(200));
    l.b.set_down().unwrap();
    let (errors, sock) = t.join().unwrap();
    assert!(matches!(errors[0].0, Error::InterfaceDown { .. }), "{errors:?}");
    assert!(errors[0].1 < Duration::from_secs(1), "{errors:?}");
    // While down, the wait looks again by itself: a deletion is noticed.
    let t = read_until_error(sock, 2);
    std::thread::sleep(Duration::from_millis(300));
    l.b.delete().unwrap();
    let (errors, _) = t.join().unwrap();
    assert!(matches!(errors[0].0, Error::InterfaceGone { .. }), "not down twice: {errors:?}");
    assert!(errors[0].1 < Duration::from_millis(300) + Duration::from_secs(1), "{errors:?}");
    assert!(matches!(errors[1].0, Error::InterfaceGone { .. }), "gone is sticky: {errors:?}");
    assert!(errors[1].1 < Duration::from_millis(50), "{errors:?}");
}

#[test]
fn an_interface_down_then_up_again_is_reported_once_and_receiving_resumes() {
    let l = link();
    let sock = rx_socket(&l);
    let t = read_until_error(sock, 1);
    std::thread::sleep(Duration::from_millis(200));
    l.b.set_down().unwrap();
    let (errors, mut sock) = t.join().unwrap();
    match &errors[0] {
        (Error::InterfaceDown { name }, took) => {
            assert_eq!(name, &l.b.name);
            assert!(*took < Duration::from_secs(1), "{took:?}");
        }
        e => panic!("{e:?}"),
    }
    l.b.set_up().unwrap();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let deadline = Instant::now() + WAIT;
    let mut seq = 0;
    let mut got = None;
    // The peer needs carrier again before frames flow.
    while got.is_none() && Instant::now() < deadline {
        let _ = tx.send(&frame(seq, 64));
        seq += 1;
        if let Some(b) = sock.next_batch_blocking(Some(Duration::from_millis(100))).expect("no second error") {
            got = b.iter().find_map(|p| seq_of(p.data()));
        }
    }
    assert!(got.is_some(), "the socket receives again once the interface is back up");
}

#[test]
fn deleting_the_interface_ends_a_blocked_read_of_every_queue() {
    let l = VethConfig::default().queues(2).create().expect("veth");
    let set = l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).build_all_queues()).unwrap().unwrap();
    let set = XdpQueueSet::new(set).unwrap();
    assert_eq!(set.sockets().len(), 2);
    let t = read_until_error(set, 2);
    std::thread::sleep(Duration::from_millis(300));
    let deleted = Instant::now();
    l.b.delete().unwrap();
    let (errors, _) = t.join().unwrap();
    let gone = errors.iter().position(|(e, _)| matches!(e, Error::InterfaceGone { .. }));
    let gone = gone.unwrap_or_else(|| panic!("InterfaceGone reported: {errors:?}"));
    // Down at most once for the interface, not once per queue.
    assert!(gone <= 1 && errors[..gone].iter().all(|(e, _)| matches!(e, Error::InterfaceDown { .. })), "{errors:?}");
    assert!(deleted.elapsed() < Duration::from_secs(1), "{:?}", deleted.elapsed());
}

#[test]
fn sending_on_a_downed_interface_says_down_and_on_a_deleted_one_deleted() {
    let l = link();
    let mut sock = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build()).unwrap().unwrap();
    l.a.set_down().unwrap();
    assert!(sock.send(&frame(0, 64)).unwrap());
    match sock.flush() {
        Err(Error::InterfaceDown { name }) => assert_eq!(name, l.a.name),
        r => panic!("expected InterfaceDown, got {r:?}"),
    }
    l.a.delete().unwrap();
    match sock.flush() {
        Err(Error::InterfaceGone { name }) => assert_eq!(name, l.a.name),
        r => panic!("expected InterfaceGone, got {r:?}"),
    }
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn deleting_the_interface_ends_an_async_af_xdp_read() {
    let l = link();
    let mut sock = netring::tokio::AsyncXdpSocket::new(rx_socket(&l)).unwrap();
    let deleted = Instant::now() + Duration::from_millis(300);
    let name = l.b.name.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(deleted.saturating_duration_since(Instant::now()));
        l.b.delete().unwrap();
        l
    });
    let mut errors = Vec::new();
    while !matches!(errors.last(), Some(Error::InterfaceGone { .. })) {
        match tokio::time::timeout(Duration::from_secs(10), sock.recv()).await {
            Ok(Ok(p)) => assert!(seq_of(p.data()).is_none(), "no test frame was sent"),
            Ok(Err(e)) => errors.push(e),
            Err(_) => panic!("an async read waited 10 s instead of failing: {errors:?}"),
        }
    }
    assert!(deleted.elapsed() < Duration::from_secs(1), "noticed {:?} after the deletion", deleted.elapsed());
    assert!(
        errors.len() <= 2 && matches!(&errors[..], [.., Error::InterfaceGone { name: n }] if *n == name),
        "{errors:?}"
    );
    drop(t.join().unwrap());
}

/// A default veth uses 1 of the 2 queues it has each way (`ethtool -l`):
/// "every queue" means the active one, and queue 1 is refused naming that.
#[test]
fn every_queue_of_a_default_veth_is_its_one_active_queue() {
    let l = VethConfig::default().create().expect("veth");
    let info = l.b.run(netring::interface::link_info).unwrap().unwrap();
    assert_eq!((info.rx_queues, info.tx_queues), (2, 2), "veth allocates 2 queues each way");
    let socks = l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).build_all_queues()).unwrap().unwrap();
    assert_eq!(socks.iter().map(XdpSocket::queue).collect::<Vec<_>>(), [0]);
    drop(socks);
    for q in [1, 5] {
        match l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).queue(q).build()).unwrap() {
            Err(e @ Error::InvalidConfig { .. }) => assert_eq!(
                e.to_string(),
                format!(
                    "invalid queue = {q}: is not active: {:?} has 1 active queue (queue 0; 2 possible: ethtool -L \
                     raises the count)",
                    l.b.name
                )
            ),
            r => panic!("queue {q}: {r:?}"),
        }
    }
}

/// Frames shorter than an Ethernet header (an empty one too) are rejected
/// and counted the same on both transmit paths: AF_PACKET's kernel refuses
/// them, AF_XDP's would send them (and the veth peer drop them unseen), so
/// the AF_XDP socket keeps them back. What is long enough arrives.
#[test]
fn frames_shorter_than_an_ethernet_header_are_rejected_alike_on_both_paths() {
    use netring::{Capture, Injector, TxStats};
    const LENS: [usize; 6] = [0, 5, 13, 14, 60, 1];
    fn run<S: PacketSink>(sink: &mut S) -> TxStats {
        for (i, &len) in LENS.iter().enumerate() {
            let f = frame(i as u64, 60);
            assert!(sink.send(&f[..len]).unwrap(), "length {len} is taken");
        }
        sink.flush().unwrap();
        assert!(sink.wait_drained(Some(WAIT)).unwrap());
        sink.tx_stats()
    }
    let l = link();
    let from_us = |d: &[u8]| d.len() >= 12 && d[6..12] == common::SRC;
    let mut cap = l.b.run(Capture::open).unwrap().unwrap();
    let mut stats = Vec::new();
    for xdp in [false, true] {
        let s = if xdp {
            run(&mut l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build()).unwrap().unwrap())
        } else {
            run(&mut l.a.run(Injector::open).unwrap().unwrap())
        };
        let got = netring::testkit::collect(&mut cap, 3, Duration::from_millis(500), from_us).unwrap();
        assert_eq!(got.iter().map(|p| p.data().len()).collect::<Vec<_>>(), [14, 60], "xdp {xdp}");
        assert_eq!(got[1].data(), &frame(4, 60)[..], "xdp {xdp}");
        stats.push((s.queued, s.sent, s.bytes, s.rejected, s.pending));
    }
    assert_eq!(stats[0], (6, 2, 74, 4, 0), "AF_PACKET");
    assert_eq!(stats[1], stats[0], "AF_XDP counts as AF_PACKET does");
}
