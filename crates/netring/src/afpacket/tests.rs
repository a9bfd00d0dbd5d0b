//! Setup and error paths of [`CaptureBuilder::build`],
//! [`InjectorBuilder::build`] and [`RawSender::open`] against the fake
//! kernel of `sys::call::fake`: unprivileged, nothing reaches the kernel.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::{Capture, Fanout, FanoutMode, Injector, RawSender, TpacketVersion};
use crate::error::Error;
use crate::source::{PacketSink, SinkSlot};
use crate::sys::call::{Syscall, fake};
use crate::sys::errno::{EINVAL, ENODEV, ENOMEM, ENOPROTOOPT, ENOTSOCK, EPERM};
use crate::sys::tpacket as tp;

/// The fake reports every interface with this index.
const IFINDEX: u32 = fake::IFINDEX as u32;

fn name(e: &Error) -> String {
    format!("{e:?}")
}

/// `(level, option, value)` of every `setsockopt`, and the address of every
/// `bind` as `(-1, -1, sockaddr)`, in order.
fn options() -> Vec<(i64, i64, Vec<u8>)> {
    fake::calls()
        .into_iter()
        .filter_map(|c| match c.call {
            "setsockopt" => Some((c.level, c.name, c.bytes)),
            "bind" => Some((-1, -1, c.bytes)),
            _ => None,
        })
        .collect()
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// A `sockaddr_ll` as `bind_packet` builds it.
fn sockaddr_ll(protocol: u16, ifindex: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(tp::AF_PACKET as u16).to_ne_bytes());
    b.extend_from_slice(&protocol.to_be_bytes());
    b.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    b.extend_from_slice(&[0; 12]); // hatype, pkttype, halen, addr[8]
    b
}

fn refuse_option(option: i32, errno: i32) -> fake::Guard {
    fake::install(move |call| match call {
        Syscall::SetSockOpt { name, .. } if *name == option => fake::errno(errno),
        _ => None,
    })
}

// ---- Capture ----

#[test]
fn capture_setup_sets_exactly_these_options_in_this_order() {
    let _k = fake::install_default();
    let cap = Capture::builder()
        .interface("eth0")
        .block_size(64 << 10)
        .block_count(4)
        .frame_size(2048)
        .retire_timeout(Duration::from_millis(10))
        .snaplen(128)
        .build()
        .unwrap();
    let calls: Vec<_> = fake::calls().iter().map(|c| c.call).collect();
    // socket(AF_PACKET), the ifindex lookup (a throwaway socket and its
    // ioctl), five options, the ring mapping, bind, the MTU lookup.
    assert_eq!(
        calls,
        [
            "socket",
            "socket",
            "ioctl",
            "setsockopt",
            "setsockopt",
            "setsockopt",
            "setsockopt",
            "setsockopt",
            "mmap",
            "bind",
            "socket",
            "ioctl"
        ]
    );
    let first = &fake::calls()[0];
    assert_eq!((first.level, first.name, first.len), (tp::AF_PACKET.into(), 3, 0), "AF_PACKET, SOCK_RAW, protocol 0");
    let (sol_packet, sol_socket) = (i64::from(tp::SOL_PACKET), i64::from(tp::SOL_SOCKET));
    let opts = options();
    assert_eq!(opts.len(), 6);
    assert_eq!(opts[0], (sol_packet, tp::PACKET_VERSION.into(), tp::TPACKET_V3.to_ne_bytes().to_vec()));
    // The snap length as a one-instruction filter (`ret #128`): a
    // `struct sock_fprog` of length 1 (the pointer is the process's).
    assert_eq!((opts[1].0, opts[1].1), (sol_socket, tp::SO_ATTACH_FILTER.into()));
    assert_eq!(opts[1].2.len(), 16);
    assert_eq!(opts[1].2[..2], 1u16.to_ne_bytes());
    let soft = tp::SOF_TIMESTAMPING_RX_SOFTWARE | tp::SOF_TIMESTAMPING_SOFTWARE;
    assert_eq!(opts[2], (sol_socket, tp::SO_TIMESTAMPING.into(), soft.to_ne_bytes().to_vec()));
    assert_eq!(
        opts[3],
        (sol_packet, tp::PACKET_TIMESTAMP.into(), tp::SOF_TIMESTAMPING_SOFTWARE.to_ne_bytes().to_vec())
    );
    // tpacket_req3: block size, blocks, frame size, frames, retire timeout
    // (ms), private area, feature word.
    assert_eq!(opts[4], (sol_packet, tp::PACKET_RX_RING.into(), words(&[64 << 10, 4, 2048, 128, 10, 0, 0])));
    assert_eq!(opts[5], (-1, -1, sockaddr_ll(tp::ETH_P_ALL, IFINDEX)));
    let mmap = fake::calls().into_iter().find(|c| c.call == "mmap").unwrap();
    assert_eq!((mmap.len, mmap.name), (4 * (64 << 10), 0), "the whole ring, offset 0");
    assert_eq!((cap.ifindex(), cap.block_count(), cap.snaplen()), (IFINDEX, 4, Some(128)));
}

#[test]
fn capture_options_in_full_promiscuous_rxhash_ignore_outgoing_fanout() {
    let _k = fake::install(|call| match call {
        // The group the kernel reports back (with UNIQUE_ID, its choice).
        Syscall::GetSockOpt { name, value, .. } if *name == tp::PACKET_FANOUT => {
            value[..4].copy_from_slice(&0x0006_0123u32.to_ne_bytes());
            Some(Ok(4))
        }
        _ => None,
    });
    let cap = Capture::builder()
        .interface("eth0")
        .block_size(64 << 10)
        .block_count(2)
        .promiscuous(true)
        .rxhash(true)
        .ignore_outgoing(true)
        .fanout(Fanout::new(0x123, FanoutMode::Cpu))
        .build()
        .unwrap();
    assert_eq!(cap.fanout_group(), Some(0x123));
    let sol_packet = i64::from(tp::SOL_PACKET);
    let opts: Vec<_> = options().into_iter().map(|(l, n, b)| ((l, n), b)).collect();
    let names: Vec<_> = opts.iter().map(|o| o.0).collect();
    assert_eq!(
        names,
        [
            (sol_packet, tp::PACKET_VERSION.into()),
            (sol_packet, tp::PACKET_IGNORE_OUTGOING.into()),
            (tp::SOL_SOCKET.into(), tp::SO_TIMESTAMPING.into()),
            (sol_packet, tp::PACKET_TIMESTAMP.into()),
            (sol_packet, tp::PACKET_RX_RING.into()),
            (-1, -1),
            (sol_packet, tp::PACKET_ADD_MEMBERSHIP.into()),
            (sol_packet, tp::PACKET_FANOUT.into()),
        ],
        "no filter without a snap length; membership and fanout after bind"
    );
    assert_eq!(opts[1].1, 1i32.to_ne_bytes());
    assert_eq!(opts[4].1[24..28], tp::TP_FT_REQ_FILL_RXHASH.to_ne_bytes(), "rxhash in the feature word");
    // packet_mreq: ifindex, PACKET_MR_PROMISC, address length 0, no address.
    let mut mreq = (IFINDEX as i32).to_ne_bytes().to_vec();
    mreq.extend_from_slice(&tp::PACKET_MR_PROMISC.to_ne_bytes());
    mreq.extend_from_slice(&[0; 10]);
    assert_eq!(opts[6].1, mreq);
    // The fanout word: group id | (PACKET_FANOUT_CPU | no flags) << 16.
    assert_eq!(opts[7].1, (0x123u32 | (u32::from(tp::PACKET_FANOUT_CPU) << 16)).to_ne_bytes());
}

#[test]
fn capture_without_cap_net_raw_names_it() {
    let _k = fake::install(|call| match call {
        Syscall::Socket { .. } => fake::errno(EPERM),
        _ => None,
    });
    match Capture::open("eth0") {
        Err(e @ Error::PermissionDenied { capability: "CAP_NET_RAW", .. }) => {
            assert!(e.to_string().contains("socket(AF_PACKET, SOCK_RAW)"), "{e}");
            assert!(e.to_string().contains("CAP_NET_RAW"), "{e}");
        }
        other => panic!("{:?}", other.map(drop)),
    }
}

#[test]
fn promiscuous_membership_refused_names_the_capability() {
    let _k = refuse_option(tp::PACKET_ADD_MEMBERSHIP, EPERM);
    let e = Capture::builder().interface("eth0").block_count(2).promiscuous(true).build().unwrap_err();
    match &e {
        Error::PermissionDenied { call, capability, .. } => {
            assert_eq!(*call, "setsockopt(PACKET_ADD_MEMBERSHIP)");
            assert_eq!(*capability, "CAP_NET_ADMIN");
        }
        _ => panic!("{}", name(&e)),
    }
    assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
    // Without promiscuous mode the membership is never asked for.
    let _k = refuse_option(tp::PACKET_ADD_MEMBERSHIP, EPERM);
    assert!(Capture::builder().interface("eth0").block_count(2).build().is_ok());
}

#[test]
fn a_missing_interface_is_interface_not_found() {
    // The index lookup (SIOCGIFINDEX) finds no such device.
    let _k = fake::install(|call| match call {
        Syscall::Ioctl { .. } => fake::errno(ENODEV),
        _ => None,
    });
    match Capture::open("nrt-gone0") {
        Err(Error::InterfaceNotFound { name }) => assert_eq!(name, "nrt-gone0"),
        other => panic!("{:?}", other.map(drop)),
    }
    // The interface disappears between the lookup and bind.
    let _k = fake::install(|call| match call {
        Syscall::Bind { .. } => fake::errno(ENODEV),
        _ => None,
    });
    match Capture::builder().interface("nrt-gone0").block_count(2).build() {
        Err(Error::InterfaceNotFound { name }) => assert_eq!(name, "nrt-gone0"),
        other => panic!("{:?}", other.map(drop)),
    }
}

#[test]
fn ignore_outgoing_on_an_old_kernel_is_unsupported() {
    let _k = refuse_option(tp::PACKET_IGNORE_OUTGOING, ENOPROTOOPT);
    match Capture::builder().interface("eth0").block_count(2).ignore_outgoing(true).build() {
        Err(e @ Error::Unsupported { feature: "PACKET_IGNORE_OUTGOING", .. }) => {
            assert!(e.to_string().contains("Linux 4.20"), "{e}")
        }
        other => panic!("{:?}", other.map(drop)),
    }
}

#[test]
fn a_fanout_group_the_kernel_refuses_is_named() {
    let _k = refuse_option(tp::PACKET_FANOUT, EINVAL);
    match Capture::builder().interface("eth0").block_count(2).fanout(Fanout::new(9, FanoutMode::Hash)).build() {
        Err(e @ Error::InvalidConfig { name: "fanout", .. }) => assert!(e.to_string().contains("group 9"), "{e}"),
        other => panic!("{:?}", other.map(drop)),
    }
}

/// The smaller-ring fallback: the request goes through the sys layer's one
/// `PACKET_RX_RING` call, which the fake makes refuse rings above a limit
/// with `ENOMEM`.
#[test]
fn enomem_halves_the_block_count_down_to_the_minimum() {
    // The fake kernel refuses ring requests above `limit` bytes with
    // ENOMEM, and counts the refusals.
    let refusals = Rc::new(Cell::new(0u32));
    let limited = |limit: u64| {
        refusals.set(0);
        let refusals = Rc::clone(&refusals);
        fake::install(move |call| match call {
            Syscall::SetSockOpt { name: tp::PACKET_RX_RING, value, .. } => {
                let word = |i: usize| u64::from(u32::from_ne_bytes(value[i..i + 4].try_into().unwrap()));
                let too_big = word(0) * word(4) > limit;
                too_big.then(|| {
                    refusals.set(refusals.get() + 1);
                    Err(io::Error::from_raw_os_error(ENOMEM))
                })
            }
            _ => None,
        })
    };
    let refused = || refusals.get();
    let b = || Capture::builder().interface("lo").block_size(64 << 10).block_count(64);
    // 64 × 64 KiB = 4 MiB: refused, 32 (2 MiB) refused, 16 (1 MiB) taken.
    let _fake = limited(1 << 20);
    let cap = b().min_block_count(4).build().unwrap();
    assert_eq!(cap.block_count(), 16);
    assert_eq!(refused(), 2);
    // Never below the minimum the caller allows: 32 blocks at least.
    let _fake = limited(1 << 20);
    match b().min_block_count(32).build() {
        Err(e @ Error::InvalidConfig { .. }) => {
            let m = e.to_string();
            assert!(m.contains("ENOMEM") && m.contains("32 blocks is the fewest allowed"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(refused(), 2, "64 refused, then 32 refused, then no further try");
    // The block count itself turns the fallback off.
    let _fake = limited(1 << 20);
    assert!(b().min_block_count(64).build().is_err());
    assert_eq!(refused(), 1);
    let _fake = limited(u64::MAX);
    assert_eq!(b().build().unwrap().block_count(), 64);
}

#[test]
fn stats_add_up_the_kernel_readings() {
    // PACKET_STATISTICS resets on every read: the fake hands out
    // 100 packets (5 of them dropped, 1 freeze), then 10, then nothing.
    let readings = Rc::new(Cell::new(0u32));
    let r = Rc::clone(&readings);
    let _k = fake::install(move |call| match call {
        Syscall::GetSockOpt { name: tp::PACKET_STATISTICS, value, .. } => {
            let w = match r.get() {
                0 => [100, 5, 1],
                1 => [10, 0, 0],
                _ => [0, 0, 0],
            };
            r.set(r.get() + 1);
            value.copy_from_slice(&words(&w));
            Some(Ok(12))
        }
        _ => None,
    });
    let mut cap = Capture::builder().interface("eth0").block_count(2).build().unwrap();
    let first = cap.stats().unwrap();
    assert_eq!((first.packets, first.drops, first.freezes), (95, 5, 1), "tp_packets counts the drops too");
    let second = cap.stats().unwrap();
    assert_eq!((second.packets, second.drops, second.freezes), (105, 5, 1), "cumulative since opening");
    let d = second - first;
    assert_eq!((d.packets, d.drops, d.freezes), (10, 0, 0), "an interval is the difference of two readings");
    assert_eq!(cap.stats().unwrap(), second, "a reading of zero changes nothing");
    assert_eq!(readings.get(), 3, "one PACKET_STATISTICS read per call");
}

// ---- Injector ----

#[test]
fn injector_setup_sets_exactly_these_options_in_this_order() {
    let _k = fake::install_default();
    let inj = Injector::builder().interface("eth0").frame_count(16).qdisc_bypass(true).build().unwrap();
    // The fake's interface: MTU 1500, Ethernet: 2048-byte slots, two to a
    // page-sized block, 8 blocks.
    let page = crate::sys::page_size() as u32;
    let per_block = page / 2048;
    let blocks = 16u32.div_ceil(per_block);
    let sol_packet = i64::from(tp::SOL_PACKET);
    assert_eq!(
        options(),
        [
            (sol_packet, tp::PACKET_VERSION.into(), tp::TPACKET_V2.to_ne_bytes().to_vec()),
            (sol_packet, tp::PACKET_LOSS.into(), 0i32.to_ne_bytes().to_vec()),
            (sol_packet, tp::PACKET_QDISC_BYPASS.into(), 1i32.to_ne_bytes().to_vec()),
            (sol_packet, tp::PACKET_TX_RING.into(), words(&[page, blocks, 2048, blocks * per_block])),
            (-1, -1, sockaddr_ll(0, IFINDEX)),
        ]
    );
    assert_eq!((inj.ifindex(), inj.frame_size(), inj.max_frame_len()), (IFINDEX, 2048, 1514));
    assert_eq!(inj.frame_count(), (blocks * per_block) as usize);
}

#[test]
fn injector_v3_ring_request_is_a_tpacket_req3_and_einval_means_unsupported() {
    let _k = fake::install_default();
    Injector::builder().interface("eth0").frame_count(16).version(TpacketVersion::V3).build().unwrap();
    let ring = options().into_iter().find(|o| o.1 == i64::from(tp::PACKET_TX_RING)).unwrap();
    assert_eq!(ring.2.len(), 28, "tpacket_req3");
    assert_eq!(ring.2[16..], [0; 12], "every V3-only field zero");
    let _k = refuse_option(tp::PACKET_TX_RING, EINVAL);
    match Injector::builder().interface("eth0").version(TpacketVersion::V3).build() {
        Err(e @ Error::Unsupported { feature: "PACKET_TX_RING with TPACKET_V3", .. }) => {
            assert!(e.to_string().contains("Linux 4.11"), "{e}")
        }
        other => panic!("{:?}", other.map(drop)),
    }
    // Under V2 the same errno is no feature question: the call is named.
    let _k = refuse_option(tp::PACKET_TX_RING, EINVAL);
    match Injector::open("eth0") {
        Err(e @ Error::Io { call: "setsockopt(PACKET_TX_RING)", .. }) => assert_eq!(e.raw_os_error(), Some(EINVAL)),
        other => panic!("{:?}", other.map(drop)),
    }
}

#[test]
fn injector_errors_name_the_capability_the_interface_and_the_ring_size() {
    let _k = fake::install(|call| match call {
        Syscall::Socket { domain, .. } if *domain == tp::AF_PACKET => fake::errno(EPERM),
        _ => None,
    });
    match Injector::open("eth0") {
        Err(Error::PermissionDenied { capability: "CAP_NET_RAW", call, .. }) => {
            assert_eq!(call, "socket(AF_PACKET, SOCK_RAW)")
        }
        other => panic!("{:?}", other.map(drop)),
    }
    let _k = fake::install(|call| match call {
        Syscall::Ioctl { .. } => fake::errno(ENODEV),
        _ => None,
    });
    assert!(matches!(Injector::open("nrt-gone0"), Err(Error::InterfaceNotFound { name }) if name == "nrt-gone0"));
    let _k = refuse_option(tp::PACKET_TX_RING, ENOMEM);
    match Injector::open("eth0") {
        Err(e @ Error::InvalidConfig { name: "TX ring size", .. }) => assert!(e.to_string().contains("ENOMEM"), "{e}"),
        other => panic!("{:?}", other.map(drop)),
    }
}

// ---- RawSender ----

#[test]
fn raw_sender_binds_with_protocol_zero_and_names_what_fails() {
    let _k = fake::install_default();
    let mut s = RawSender::open("eth0").unwrap();
    assert_eq!(s.ifindex(), IFINDEX);
    s.set_qdisc_bypass(true).unwrap();
    assert_eq!(
        options(),
        [
            (-1, -1, sockaddr_ll(0, IFINDEX)),
            (tp::SOL_PACKET.into(), tp::PACKET_QDISC_BYPASS.into(), 1i32.to_ne_bytes().to_vec())
        ]
    );
    let _k = fake::install(|call| match call {
        Syscall::Socket { .. } => fake::errno(EPERM),
        _ => None,
    });
    assert!(matches!(RawSender::open("eth0"), Err(Error::PermissionDenied { capability: "CAP_NET_RAW", .. })));
    let _k = fake::install(|call| match call {
        Syscall::Ioctl { .. } => fake::errno(ENODEV),
        _ => None,
    });
    assert!(matches!(RawSender::open("nrt-gone0"), Err(Error::InterfaceNotFound { .. })));
}

#[test]
#[cfg_attr(miri, ignore = "send(2) on the fake's eventfd")]
fn raw_sender_as_a_packet_sink_checks_the_length_and_keeps_frames_queued_on_a_socket_error() {
    let _k = fake::install_default();
    let mut s = RawSender::open("eth0").unwrap();
    // The fake's interface: MTU 1500 and an Ethernet header.
    assert_eq!(PacketSink::max_frame_len(&s), 1514);
    match s.allocate(1515) {
        Err(Error::FrameTooLarge { len: 1515, limit: 1514, .. }) => {}
        other => panic!("{:?}", other.map(|o| o.map(|slot| slot.len()))),
    }
    // The fake's socket is an eventfd: the real sendmmsg(2) fails with
    // ENOTSOCK, an error about the socket rather than the frame (which
    // the kernel would count as rejected and skip): flush returns it and
    // the frame stays queued, for as long as the socket fails.
    let mut slot = s.allocate(60).unwrap().expect("a raw sender always has room");
    slot.fill(0xab);
    assert_eq!(&slot[..], &[0xab; 60][..]);
    slot.send();
    assert_eq!(s.flush().unwrap_err().raw_os_error(), Some(ENOTSOCK));
    let st = s.tx_stats();
    assert_eq!((st.queued, st.sent, st.rejected, st.pending), (1, 0, 0, 1));
    assert_eq!(s.flush().unwrap_err().raw_os_error(), Some(ENOTSOCK), "tried again at the next flush");
    // The trait's send queues a copy like a slot; draining returns the
    // socket's error too, with both frames still queued.
    assert!(PacketSink::send(&mut s, &[0; 60]).unwrap());
    assert_eq!(s.tx_stats().pending, 2);
    assert_eq!(s.wait_drained(None).unwrap_err().raw_os_error(), Some(ENOTSOCK));
    let st = s.tx_stats();
    assert_eq!((st.queued, st.sent, st.rejected, st.pending), (2, 0, 0, 2));
}
