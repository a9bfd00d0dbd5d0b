//! Shared pieces of the privileged integration tests over
//! [`netring::testkit`]: the test frames' addresses, UDP flow frames,
//! tcpdump alongside a capture.
#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod filter_corpus;

use std::time::{Duration, Instant};

use netring::testkit::{SeqFrames, VethLink};

/// Experimental EtherType used by every test frame (IEEE 802 local experimental 1).
pub const ETHERTYPE: u16 = netring::testkit::EXPERIMENTAL_ETHERTYPE;
/// Source MAC of test frames.
pub const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Destination MAC of test frames (nobody's: the receiver sees "other host").
pub const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Fail loudly, naming what is missing, unless the test can reach real links.
pub fn require_root() {
    netring::testkit::require_veth_privileges();
}

/// A fresh veth link between two private namespaces (IPv6 off).
pub fn link() -> VethLink {
    require_root();
    VethLink::new().expect("create veth link")
}

/// Frame `seq` of `len` bytes to `dst` with `ethertype` (see [`netring::testkit::SeqFrames`]).
pub fn frame_to(dst: [u8; 6], seq: u64, len: usize, ethertype: u16) -> Vec<u8> {
    SeqFrames { dst, src: SRC, ethertype }.build(seq, len)
}

/// Frame `seq` of `len` bytes with the test EtherType to [`DST`].
pub fn frame(seq: u64, len: usize) -> Vec<u8> {
    frame_to(DST, seq, len, ETHERTYPE)
}

/// The sequence number of a test frame, if it is one.
pub fn seq_of(data: &[u8]) -> Option<u64> {
    SeqFrames::default().seq(data)
}

/// Read test frames from `cap` (any backend) until `want` have arrived or
/// `limit` passes. Returns every test frame as (bytes, metadata), in arrival order.
pub fn collect<S: netring::PacketSource>(cap: &mut S, want: usize, limit: Duration) -> Vec<netring::OwnedPacket> {
    collect_where(cap, want, limit, |d| seq_of(d).is_some())
}

/// Read the packets whose bytes pass `keep` until `want` or `limit`.
pub fn collect_where<S: netring::PacketSource>(
    cap: &mut S,
    want: usize,
    limit: Duration,
    keep: impl Fn(&[u8]) -> bool,
) -> Vec<netring::OwnedPacket> {
    netring::testkit::collect(cap, want, limit, keep).expect("blocking read")
}

/// The frames of a classic pcap file (either timestamp precision, native
/// byte order, as tcpdump writes it).
pub fn pcap_frames(path: &std::path::Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).expect("read pcap");
    let magic = u32::from_ne_bytes(b[0..4].try_into().unwrap());
    assert!(magic == 0xa1b2c3d4 || magic == 0xa1b23c4d, "native-order pcap magic, got {magic:#x}");
    let mut off = 24;
    let mut out = Vec::new();
    while off + 16 <= b.len() {
        let caplen = u32::from_ne_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push(b[off + 16..off + 16 + caplen].to_vec());
        off += 16 + caplen;
    }
    assert_eq!(off, b.len(), "no trailing partial record");
    out
}

/// tcpdump capturing our EtherType on one end of a link, into a file.
pub struct Tcpdump {
    child: std::process::Child,
    file: std::path::PathBuf,
}

impl Tcpdump {
    /// Start `tcpdump -c want` in `end`'s namespace and wait until it listens.
    pub fn start(end: &netring::testkit::End, file: &std::path::Path, want: u64) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", end.ns.name(), "tcpdump", "-i", &end.name, "-nn", "-U", "-B", "32768"])
            .args(["-c", &want.to_string(), "-w"])
            .arg(file)
            .args(["ether", "proto", "0x88b5"])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn tcpdump");
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        assert!(line.contains("listening on"), "tcpdump did not start: {line}");
        std::thread::spawn(move || for _ in err.lines() {});
        Self { child, file: file.to_owned() }
    }

    /// Wait (up to 10 s) for tcpdump to exit after its count; the frames.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = std::process::Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pcap_frames(&self.file)
    }
}

/// An Ethernet + IPv4 + UDP frame of flow `flow` (198.18.0.1:1000+flow →
/// 198.19.0.1:2000+flow, benchmark range only) carrying `seq` as its first
/// eight payload bytes; `len` bytes in all (at least 50).
pub fn udp_frame(flow: u16, seq: u64, len: usize) -> Vec<u8> {
    let len = len.max(50);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&DST);
    f[6..12].copy_from_slice(&SRC);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[198, 18, 0, 1]);
    ip[16..20].copy_from_slice(&[198, 19, 0, 1]);
    let sum = ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&(1000 + flow).to_be_bytes());
    udp[2..4].copy_from_slice(&(2000 + flow).to_be_bytes());
    udp[4..6].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f[42..50].copy_from_slice(&seq.to_be_bytes());
    f
}

/// The one's complement header checksum of an IPv4 header (checksum field zero).
pub fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// (flow, seq) of a frame built by [`udp_frame`].
pub fn udp_flow_seq(data: &[u8]) -> Option<(u16, u64)> {
    (data.len() >= 50 && data[12..14] == [0x08, 0x00] && data[23] == 17).then(|| {
        (u16::from_be_bytes([data[34], data[35]]) - 1000, u64::from_be_bytes(data[42..50].try_into().expect("8 bytes")))
    })
}

/// Every UDP test frame `cap` delivers until `want` or `limit`.
pub fn collect_udp<S: netring::PacketSource>(cap: &mut S, want: usize, limit: Duration) -> Vec<netring::OwnedPacket> {
    collect_where(cap, want, limit, |d| udp_flow_seq(d).is_some())
}
