//! The netlink reply parser never panics and always ends: any bytes taken
//! as a receive buffer give messages that lie inside it, in order, without
//! overlapping, at most one per 16-byte header; every message parses as a
//! link, an address and a route without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::fuzz_internals::netlink_reply;

fuzz_target!(|data: &[u8]| {
    let r = netlink_reply(data);
    let n = r.messages.len() + r.done + r.acks + r.errnos.len();
    assert!(n <= data.len() / 16, "{n} messages in {} bytes", data.len());
    let mut end = 0;
    for (_, m) in &r.messages {
        assert!(m.start >= end && m.end <= data.len() && m.len() >= 16, "{m:?} in {} bytes", data.len());
        end = m.end;
    }
    assert!(r.errnos.iter().all(|&e| e != 0));
});
