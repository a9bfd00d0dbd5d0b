//! The netlink reply parser never panics and always ends: any bytes taken
//! as a receive buffer give messages that lie inside it, in order, without
//! overlapping, at most one per 16-byte header; every message parses as a
//! link, an address and a route without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::fuzz_internals::check_netlink;

fuzz_target!(|data: &[u8]| {
    check_netlink(data);
});
