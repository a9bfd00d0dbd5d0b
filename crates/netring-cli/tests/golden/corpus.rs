//! A capture file covering every protocol `netring capture` prints, built
//! from crafted frames (etherparse's builder, ARP and DNS by hand) and
//! written with netring's own pcap / pcapng writers.

use std::path::Path;

use netring::parse::etherparse::PacketBuilder;
use netring::pcap::{CaptureWriter, FileFormat};
use netring::{LinkType, Timestamp};

const C_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const S_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const BCAST: [u8; 6] = [0xff; 6];
const C_IP: [u8; 4] = [198, 18, 0, 1];
const S_IP: [u8; 4] = [198, 18, 0, 2];
const DNS_IP: [u8; 4] = [198, 19, 0, 53];
const C_IP6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const S_IP6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const LL_IP6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 1];
const ALL_ROUTERS6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/// All MLDv2-capable routers.
const MLD_IP6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16];
/// Solicited-node multicast address of S_IP6.
const SNM_IP6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2];

/// One record: frame bytes and its wire length (≥ the bytes kept).
pub struct Frame {
    pub data: Vec<u8>,
    pub wire: u32,
    /// Left out of the snap-length sweep: a protocol tcpdump decodes
    /// further than netring (its cut forms would need listing too), or an
    /// IPv4 option, whose cut `-v` forms netring does not reproduce.
    pub unswept: bool,
}

fn frame(data: Vec<u8>) -> Frame {
    let wire = data.len() as u32;
    Frame { data, wire, unswept: false }
}

fn unswept(mut f: Frame) -> Frame {
    f.unswept = true;
    f
}

fn build(b: impl FnOnce(&mut Vec<u8>)) -> Frame {
    let mut out = Vec::new();
    b(&mut out);
    frame(out)
}

/// Pad to the 60-byte Ethernet minimum, as a real link would.
fn padded(mut f: Frame) -> Frame {
    if f.data.len() < 60 {
        f.data.resize(60, 0);
        f.wire = 60;
    }
    f
}

/// Set the IPv4 id and DF bit of the header at `off` and fix its checksum.
fn ipv4_id(mut f: Frame, off: usize, id: u16, df: bool) -> Frame {
    let h = &mut f.data[off..];
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6] = if df { 0x40 } else { 0 };
    h[10] = 0;
    h[11] = 0;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let mut sum = 0u32;
    for w in h[..ihl].chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f
}

/// Recompute the checksum of the IPv4 header `h`.
fn fix_ipv4_sum(h: &mut [u8]) {
    h[10] = 0;
    h[11] = 0;
    let mut sum = 0u32;
    for w in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4], dst: [u8; 6]) -> Frame {
    let mut d = Vec::new();
    d.extend_from_slice(&dst);
    d.extend_from_slice(&sha);
    d.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4]);
    d.extend_from_slice(&op.to_be_bytes());
    d.extend_from_slice(&sha);
    d.extend_from_slice(&spa);
    d.extend_from_slice(&tha);
    d.extend_from_slice(&tpa);
    frame(d)
}

fn tcp_opts_syn(tsval: u32, tsecr: u32) -> Vec<u8> {
    let mut o = vec![2, 4, 0x05, 0xb4, 4, 2, 8, 10];
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&tsecr.to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, 7]);
    o
}

fn tcp_opts_ts(tsval: u32, tsecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&tsecr.to_be_bytes());
    o
}

/// A DNS message: header, one question, and answers of type A.
fn dns(id: u16, flags: u16, name: &str, qtype: u16, answers: &[[u8; 4]], counts: (u16, u16)) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&id.to_be_bytes());
    d.extend_from_slice(&flags.to_be_bytes());
    d.extend_from_slice(&1u16.to_be_bytes());
    d.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    d.extend_from_slice(&counts.0.to_be_bytes());
    d.extend_from_slice(&counts.1.to_be_bytes());
    for label in name.split('.').filter(|l| !l.is_empty()) {
        d.push(label.len() as u8);
        d.extend_from_slice(label.as_bytes());
    }
    d.push(0);
    d.extend_from_slice(&qtype.to_be_bytes());
    d.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        d.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4]);
        d.extend_from_slice(a);
    }
    d
}

/// Neighbour discovery body: target address and a link-layer address option.
fn nd(target: [u8; 16], opt_type: u8, mac: [u8; 6]) -> Vec<u8> {
    let mut d = target.to_vec();
    d.extend_from_slice(&[opt_type, 1]);
    d.extend_from_slice(&mac);
    d
}

/// The frames of the corpus, in order.
pub fn frames() -> Vec<Frame> {
    let eth = |s, d| PacketBuilder::ethernet2(s, d);
    let (cisn, sisn) = (1_000_000_000u32, 4_000_000_000u32);
    let cport = 41000u16;
    let mut v = vec![
        // ARP who-has (padded, as on the wire) and its reply.
        padded(arp(1, C_MAC, C_IP, [0; 6], S_IP, BCAST)),
        arp(2, S_MAC, S_IP, C_MAC, C_IP, C_MAC),
        // ping and its reply.
        ipv4_id(
            build(|o| {
                eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).icmpv4_echo_request(0x1c2d, 1).write(o, &[0x5a; 56]).unwrap()
            }),
            14,
            0x4a11,
            true,
        ),
        ipv4_id(
            build(|o| {
                eth(S_MAC, C_MAC).ipv4(S_IP, C_IP, 64).icmpv4_echo_reply(0x1c2d, 1).write(o, &[0x5a; 56]).unwrap()
            }),
            14,
            0x0e01,
            false,
        ),
    ];
    // A TCP session: handshake, data both ways, FIN both ways.
    let tcp = |from_client: bool, id: u16, seq: u32, ack: Option<u32>, flags: &str, opts: Vec<u8>, payload: &[u8]| {
        let (sm, dm, si, di, sp, dp) =
            if from_client { (C_MAC, S_MAC, C_IP, S_IP, cport, 9000) } else { (S_MAC, C_MAC, S_IP, C_IP, 9000, cport) };
        let win = if flags.contains('S') { 64240 } else { 502 };
        let f = build(|o| {
            let mut b = eth(sm, dm).ipv4(si, di, 64).tcp(sp, dp, seq, win);
            if let Some(a) = ack {
                b = b.ack(a);
            }
            for c in flags.chars() {
                b = match c {
                    'S' => b.syn(),
                    'F' => b.fin(),
                    'P' => b.psh(),
                    'R' => b.rst(),
                    _ => b,
                };
            }
            b.options_raw(&opts).unwrap().write(o, payload).unwrap();
        });
        ipv4_id(f, 14, id, true)
    };
    v.push(tcp(true, 0x3001, cisn, None, "S", tcp_opts_syn(100, 0), b""));
    v.push(tcp(false, 0, sisn, Some(cisn + 1), "S", tcp_opts_syn(200, 100), b""));
    v.push(tcp(true, 0x3002, cisn + 1, Some(sisn.wrapping_add(1)), "", tcp_opts_ts(101, 200), b""));
    v.push(tcp(true, 0x3003, cisn + 1, Some(sisn.wrapping_add(1)), "P", tcp_opts_ts(102, 200), b"hello world\n"));
    v.push(tcp(false, 0x9001, sisn.wrapping_add(1), Some(cisn + 13), "", tcp_opts_ts(201, 102), b""));
    v.push(tcp(false, 0x9002, sisn.wrapping_add(1), Some(cisn + 13), "P", tcp_opts_ts(202, 102), &[b'x'; 300]));
    v.push(tcp(true, 0x3004, cisn + 13, Some(sisn.wrapping_add(301)), "F", tcp_opts_ts(103, 202), b""));
    v.push(tcp(false, 0x9003, sisn.wrapping_add(301), Some(cisn + 14), "F", tcp_opts_ts(203, 103), b""));
    v.push(tcp(true, 0x3005, cisn + 14, Some(sisn.wrapping_add(302)), "", tcp_opts_ts(104, 203), b""));
    // A reset to a closed port, without options.
    v.push(ipv4_id(
        build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).tcp(41001, 9001, 5, 0).rst().write(o, b"").unwrap()),
        14,
        0x3006,
        false,
    ));
    // UDP to an ordinary port, and the port unreachable it draws.
    let udp = build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).udp(40000, 9999).write(o, &[7; 32]).unwrap());
    let udp = ipv4_id(udp, 14, 0x3007, true);
    let quoted = udp.data[14..14 + 28].to_vec();
    v.push(udp);
    v.push(ipv4_id(
        build(|o| eth(S_MAC, C_MAC).ipv4(S_IP, C_IP, 64).icmpv4_raw(3, 3, [0; 4]).write(o, &quoted).unwrap()),
        14,
        0x9004,
        false,
    ));
    // A host unreachable.
    v.push(ipv4_id(
        build(|o| eth(S_MAC, C_MAC).ipv4(S_IP, C_IP, 64).icmpv4_raw(3, 1, [0; 4]).write(o, &quoted).unwrap()),
        14,
        0x9005,
        false,
    ));
    // DNS: A query and answer, AAAA query and NXDomain.
    let q = dns(0x1234, 0x0100, "example.com", 1, &[], (0, 0));
    let r = dns(0x1234, 0x8580, "example.com", 1, &[[198, 19, 0, 80]], (0, 0));
    v.push(ipv4_id(
        build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, DNS_IP, 64).udp(53001, 53).write(o, &q).unwrap()),
        14,
        1,
        false,
    ));
    v.push(ipv4_id(
        build(|o| eth(S_MAC, C_MAC).ipv4(DNS_IP, C_IP, 64).udp(53, 53001).write(o, &r).unwrap()),
        14,
        2,
        false,
    ));
    let q = dns(0x1235, 0x0100, "nothing.example", 28, &[], (0, 0));
    let r = dns(0x1235, 0x8183, "nothing.example", 28, &[], (0, 0));
    v.push(ipv4_id(
        build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, DNS_IP, 64).udp(53002, 53).write(o, &q).unwrap()),
        14,
        3,
        false,
    ));
    v.push(ipv4_id(
        build(|o| eth(S_MAC, C_MAC).ipv4(DNS_IP, C_IP, 64).udp(53, 53002).write(o, &r).unwrap()),
        14,
        4,
        false,
    ));
    // IPv6: ND, echo, TCP, UDP, port unreachable.
    v.push(build(|o| {
        eth(C_MAC, [0x33, 0x33, 0xff, 0, 0, 2])
            .ipv6(C_IP6, SNM_IP6, 255)
            .icmpv6_raw(135, 0, [0; 4])
            .write(o, &nd(S_IP6, 1, C_MAC))
            .unwrap()
    }));
    v.push(build(|o| {
        eth(S_MAC, C_MAC)
            .ipv6(S_IP6, C_IP6, 255)
            .icmpv6_raw(136, 0, [0x60, 0, 0, 0])
            .write(o, &nd(S_IP6, 2, S_MAC))
            .unwrap()
    }));
    v.push(build(|o| {
        eth(C_MAC, [0x33, 0x33, 0, 0, 0, 2])
            .ipv6(LL_IP6, ALL_ROUTERS6, 255)
            .icmpv6_raw(133, 0, [0; 4])
            .write(o, &[])
            .unwrap()
    }));
    v.push(build(|o| {
        eth(C_MAC, S_MAC).ipv6(C_IP6, S_IP6, 64).icmpv6_echo_request(7, 1).write(o, &[0x61; 56]).unwrap()
    }));
    v.push(build(|o| eth(S_MAC, C_MAC).ipv6(S_IP6, C_IP6, 64).icmpv6_echo_reply(7, 1).write(o, &[0x61; 56]).unwrap()));
    v.push(build(|o| {
        eth(C_MAC, S_MAC)
            .ipv6(C_IP6, S_IP6, 64)
            .tcp(41002, 9000, 77, 64800)
            .syn()
            .options_raw(&tcp_opts_syn(300, 0))
            .unwrap()
            .write(o, b"")
            .unwrap()
    }));
    let udp6 = build(|o| eth(C_MAC, S_MAC).ipv6(C_IP6, S_IP6, 64).udp(40001, 9999).write(o, &[9; 20]).unwrap());
    let quoted6 = udp6.data[14..].to_vec();
    v.push(udp6);
    v.push(build(|o| eth(S_MAC, C_MAC).ipv6(S_IP6, C_IP6, 64).icmpv6_raw(1, 4, [0; 4]).write(o, &quoted6).unwrap()));
    // An MLDv2 report behind a hop-by-hop header (router alert), as any
    // IPv6 host sends when it joins a group.
    let mut mld = vec![58, 0, 5, 2, 0, 0, 1, 0];
    let mut body = vec![143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0];
    body.extend_from_slice(&SNM_IP6);
    let sum = {
        let mut s = 0u32;
        for a in [LL_IP6, MLD_IP6] {
            for w in a.chunks(2) {
                s += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
        }
        s += body.len() as u32 + 58;
        for w in body.chunks(2) {
            s += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    };
    body[2..4].copy_from_slice(&sum.to_be_bytes());
    mld.extend_from_slice(&body);
    let mut f = [[0x33, 0x33, 0, 0, 0, 0x16], C_MAC].concat();
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(mld.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 1]);
    f.extend_from_slice(&LL_IP6);
    f.extend_from_slice(&MLD_IP6);
    f.extend_from_slice(&mld);
    v.push(frame(f));
    // A VLAN-tagged datagram (VID 10, priority 3).
    let mut tagged = build(|o| {
        eth(C_MAC, S_MAC)
            .single_vlan(netring::parse::etherparse::VlanId::try_new(10).unwrap())
            .ipv4(C_IP, S_IP, 64)
            .udp(40002, 9999)
            .write(o, &[1; 18])
            .unwrap()
    });
    tagged.data[14] |= 3 << 5;
    v.push(ipv4_id(tagged, 18, 0x3008, false));
    // A UDP datagram in two fragments (the first with the UDP header).
    let mut frag1 = build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).udp(40004, 9999).write(o, &[3; 1000]).unwrap());
    frag1.data.truncate(14 + 20 + 8 + 512);
    frag1.wire = frag1.data.len() as u32;
    frag1.data[14 + 2..14 + 4].copy_from_slice(&(20u16 + 520).to_be_bytes());
    let mut frag1 = ipv4_id(frag1, 14, 0x300c, false);
    frag1.data[14 + 6] |= 0x20;
    fix_ipv4_sum(&mut frag1.data[14..34]);
    v.push(frag1);
    let mut frag2 = build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).udp(1, 2).write(o, &[3; 480]).unwrap());
    frag2.data[14 + 9] = 17;
    let mut frag2 = ipv4_id(frag2, 14, 0x300c, false);
    frag2.data[14 + 6..14 + 8].copy_from_slice(&(520u16 / 8).to_be_bytes());
    fix_ipv4_sum(&mut frag2.data[14..34]);
    v.push(frag2);
    // An unknown EtherType behind a VLAN tag.
    let mut tagged_exp = [C_MAC, S_MAC].concat();
    tagged_exp.extend_from_slice(&[0x81, 0x00, 0x00, 0x14, 0x88, 0xb5]);
    tagged_exp.extend((0..42u8).map(|i| i.wrapping_mul(3)));
    v.push(frame(tagged_exp));
    // -v details: ECN bits, an IPv4 option, an IPv6 traffic class and
    // flow label; and DNS over TCP.
    let udp_tos = |tos: u8| {
        let mut f = build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).udp(40005, 9999).write(o, &[5; 10]).unwrap());
        f.data[15] = tos;
        fix_ipv4_sum(&mut f.data[14..34]);
        f
    };
    v.push(udp_tos(0x02));
    v.push(udp_tos(0xbb));
    let mut ra = build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 1).udp(40006, 9999).write(o, &[6; 10]).unwrap());
    ra.data.splice(34..34, [0x94, 4, 0, 0]);
    ra.data[14] = 0x46;
    ra.data[16..18].copy_from_slice(&(24u16 + 18).to_be_bytes());
    fix_ipv4_sum(&mut ra.data[14..38]);
    ra.wire = ra.data.len() as u32;
    v.push(unswept(ra));
    let q = dns(0x1236, 0x0100, "example.com", 1, &[], (0, 0));
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    v.push(ipv4_id(
        build(|o| {
            eth(C_MAC, S_MAC).ipv4(C_IP, DNS_IP, 64).tcp(41005, 53, 100, 502).ack(200).psh().write(o, &framed).unwrap()
        }),
        14,
        0x300d,
        true,
    ));
    let mut flow = build(|o| eth(C_MAC, S_MAC).ipv6(C_IP6, S_IP6, 64).udp(40007, 9999).write(o, &[7; 4]).unwrap());
    flow.data[14..18].copy_from_slice(&0x6ab1_2345u32.to_be_bytes());
    v.push(flow);
    // An IP protocol nobody decodes.
    let mut raw = build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).udp(1, 2).write(o, &[0; 2]).unwrap());
    raw.data[14 + 9] = 253;
    v.push(ipv4_id(raw, 14, 0x3009, false));
    // Protocols tcpdump decodes further than netring: HTTP on port 80, NTP.
    v.push(unswept(ipv4_id(
        build(|o| {
            eth(C_MAC, S_MAC)
                .ipv4(C_IP, S_IP, 64)
                .tcp(41003, 80, 7_000, 502)
                .ack(9_000)
                .psh()
                .write(o, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .unwrap()
        }),
        14,
        0x300a,
        true,
    )));
    let mut ntp = [0u8; 48];
    ntp[0] = 0x23;
    v.push(unswept(ipv4_id(
        build(|o| eth(C_MAC, S_MAC).ipv4(C_IP, S_IP, 64).udp(40003, 123).write(o, &ntp).unwrap()),
        14,
        0x300b,
        false,
    )));
    // A segment cut by a snap length of 80 bytes.
    let mut cut = build(|o| {
        eth(S_MAC, C_MAC).ipv4(S_IP, C_IP, 64).tcp(9000, 41004, 1, 502).ack(1).write(o, &[b'y'; 200]).unwrap()
    });
    cut.data.truncate(80);
    v.push(ipv4_id(cut, 14, 0x9006, true));
    // An IEEE 802.3 frame with an LLC header of a SAP nobody decodes.
    let mut llc = [S_MAC, C_MAC].concat();
    llc.extend_from_slice(&23u16.to_be_bytes());
    llc.extend_from_slice(&[0x10, 0x11, 0x03]);
    llc.extend(0..20u8);
    llc.resize(60, 0);
    v.push(frame(llc));
    // An experimental EtherType.
    let mut exp = [S_MAC, C_MAC].concat();
    exp.extend_from_slice(&[0x88, 0xb5]);
    exp.extend((0..46u8).map(|i| i.wrapping_mul(7)));
    v.push(frame(exp));
    v
}

/// Write the corpus to `path` in `format`: record `k` at a time stamp with
/// irregular gaps (and sub-microsecond digits, which pcap readers in
/// microsecond mode must cut, not round).
pub fn write(path: &Path, format: FileFormat) {
    write_cut(path, format, 262_144);
}

/// [`write`] with every record cut to `snaplen` bytes, leaving out the
/// frames marked [`Frame::unswept`].
pub fn write_cut(path: &Path, format: FileFormat, snaplen: u32) {
    let mut w = CaptureWriter::create_with(path, format, snaplen, LinkType::Ethernet, Some("veth0")).unwrap();
    let mut ns: u64 = 1_796_605_893 * 1_000_000_000 + 429_879_287;
    for (k, f) in frames().into_iter().enumerate() {
        if f.unswept && snaplen < 262_144 {
            continue;
        }
        let cut = &f.data[..f.data.len().min(snaplen as usize)];
        w.write(Timestamp::from_nanos(ns), f.wire, cut).unwrap();
        ns += 1_000 * (37 + 1_013 * (k as u64 % 5) * (k as u64 % 3)) + 999;
        if k == 8 {
            ns += 3_600_000_000_000 + 61_000_000_000;
        }
    }
    w.finish(None).unwrap();
}
