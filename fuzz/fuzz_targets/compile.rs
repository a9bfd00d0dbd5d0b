//! Every program the compiler produces is one the kernel accepts (the
//! kernel's own validation rules), for both targets and both optimizer
//! levels, and the optimizer never changes a verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::filter::expr::{self, Optimize, Target};
use netring::filter::{FilterMeta, validate};

/// A TCP/IPv4 frame behind an 802.1Q tag, and cuts of it.
const FRAME: [u8; 66] = [
    2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 5, 8, 0, 0x46, 0, 0, 48, 0, 1, 0x20, 0, 64, 6, 0, 0, 198, 18, 0, 1,
    198, 18, 0, 2, 1, 1, 1, 1, 0, 80, 1, 187, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for target in [Target::Offline, Target::LiveAfPacket] {
        let on = expr::compile_with(text, 262_144, target, Optimize::Full);
        let off = expr::compile_with(text, 262_144, target, Optimize::Off);
        match (on, off) {
            (Ok(on), Ok(off)) => {
                validate(on.instructions()).expect("compiled programs validate");
                validate(off.instructions()).expect("compiled programs validate");
                for cut in [0, 13, 14, 17, 18, 30, 40, 55, FRAME.len()] {
                    let f = &FRAME[..cut];
                    for meta in [
                        FilterMeta::for_frame(f),
                        FilterMeta { vlan_tci: Some(5), pkttype: 4, ..FilterMeta::for_frame(f) },
                    ] {
                        assert_eq!(on.run(f, &meta), off.run(f, &meta), "{text:?} on {cut} bytes");
                    }
                }
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{text:?}: optimizer levels disagree on compiling: {:?} / {:?}", a.err(), b.err()),
        }
    }
});
