//! Helpers for the CLI tests that drive `netring` inside the namespaces of
//! a private veth link.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use netring::testkit::{End, VethLink, require_tool};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_netring");

/// Fail naming the capabilities unless the test can build veth links, and
/// naming `ip` unless it is on PATH (the tests run `ip netns exec`).
pub fn require_root() {
    netring::testkit::require_veth_privileges();
    require_tool("ip");
}

/// A fresh private veth link.
pub fn veth() -> VethLink {
    require_root();
    VethLink::new().expect("veth link")
}

/// `netring ARGS` inside `end`'s namespace.
pub fn netring_in(end: &End, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", end.ns.name(), BIN]).args(args);
    c
}

/// Spawn `cmd` with piped stdout and stderr, wait for its first stderr
/// line (which must contain `ready`, e.g. "listening on"), then keep
/// draining stderr so the child never blocks on it. Returns the child and
/// that first line.
pub fn spawn_ready(cmd: &mut Command, ready: &str) -> (Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn netring");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains(ready), "netring did not start (no {ready:?}): {first}");
    std::thread::spawn(move || for _ in err.lines() {});
    (child, first)
}

/// Wait for `child` to exit, killing it (and failing) after `limit`.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("netring did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The one JSON object on stdout.
pub fn json_of(out: &Output) -> serde_json::Value {
    let s = String::from_utf8_lossy(&out.stdout);
    let mut lines = s.lines();
    let v = serde_json::from_str(lines.next().expect("one JSON line")).expect("valid JSON");
    assert!(lines.next().is_none(), "stdout carries exactly one JSON object: {s}");
    v
}

/// A path in the temp directory, unique to this process.
pub fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("netring-tx-{}-{name}", std::process::id()))
}

/// tcpdump capturing `-i any` in `end`'s namespace into a pcap file.
pub struct Tcpdump {
    child: Child,
    file: PathBuf,
}

impl Tcpdump {
    /// Start `tcpdump -i any -c want` for the test EtherType; returns once it listens.
    pub fn any(end: &End, file: &std::path::Path, want: u64) -> Self {
        use std::io::BufRead;
        require_tool("tcpdump");
        let mut child = Command::new("ip")
            .args(["netns", "exec", end.ns.name(), "tcpdump", "-i", "any", "-nn", "-U", "-c", &want.to_string(), "-w"])
            .arg(file)
            .args(["ether", "proto", "0x88b5"])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn tcpdump");
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("listening on") {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "tcpdump did not start");
        }
        std::thread::spawn(move || for _ in err.lines() {});
        Self { child, file: file.to_owned() }
    }

    /// Wait (up to 10 s) for tcpdump to exit; the records' bytes.
    pub fn finish_records(self) -> Vec<Vec<u8>> {
        let _ = finish(self.child, Duration::from_secs(10));
        let mut r = netring::pcap::Reader::open(&self.file).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec.data.to_vec());
        }
        out
    }
}

/// A 1 MiB tmpfs of the test's own (a disk that fills up), unmounted on drop.
pub struct SmallDisk(pub PathBuf);

impl SmallDisk {
    /// Mount it on a new scratch directory named `name`.
    pub fn mount(name: &str) -> Self {
        let dir = scratch(name);
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"]).arg(&dir).status().unwrap();
        assert!(ok.success(), "mount a 1 MiB tmpfs on {}", dir.display());
        Self(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}
