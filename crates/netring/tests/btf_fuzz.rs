//! The BTF fuzz target's property (`fuzz/fuzz_targets/btf.rs`), checked
//! with proptest so it runs everywhere, without nightly or cargo-fuzz: the
//! BTF reader never panics on any bytes; well-formed blobs walk back
//! exactly as built, and any one byte changed in them is still walked
//! safely.
//!
//! Unprivileged; uses the private `_fuzz` entry points (not API).

use netring::bpf::btf::{Btf, BtfBuilder};
use netring::fuzz_internals::check_btf;
use proptest::prelude::*;

/// A blob of `records` (kind, vlen, name); extra bytes sized for the kind.
fn blob(records: &[(u8, u16, String)]) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    for (kind, vlen, name) in records {
        let extra = match kind {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 | 19 => 12 * usize::from(*vlen),
            6 | 13 => 8 * usize::from(*vlen),
            _ => 0,
        };
        b.record(name, *kind, *vlen, 1, &vec![0xa5; extra]);
    }
    b.build()
}

fn records() -> impl Strategy<Value = Vec<(u8, u16, String)>> {
    proptest::collection::vec((1u8..=19, 0u16..4, "[a-z_]{0,12}"), 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_refused_or_walked_inside(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_btf(&bytes);
    }

    #[test]
    fn built_blobs_walk_back_exactly(recs in records()) {
        let bytes = blob(&recs);
        prop_assert_eq!(check_btf(&bytes), recs.len());
        let btf = Btf::parse(bytes).unwrap();
        for (t, (kind, vlen, name)) in btf.types().zip(&recs) {
            prop_assert_eq!(t.vlen, *vlen);
            prop_assert_eq!(btf.name(t.name_off), Some(name.as_str()));
            if *kind == 12 && !name.is_empty() {
                let first = recs.iter().position(|(k, _, n)| *k == 12 && n == name).unwrap() as u32 + 1;
                prop_assert_eq!(btf.func_id(name), Some(first));
            }
        }
    }

    #[test]
    fn one_byte_changed_is_still_walked_safely(recs in records(), at in any::<prop::sample::Index>(), v in any::<u8>()) {
        let mut bytes = blob(&recs);
        let i = at.index(bytes.len());
        bytes[i] = v;
        check_btf(&bytes);
    }
}

/// The fuzz target's seeds (`fuzz/corpus/btf/`) are what they claim to be.
#[test]
fn the_checked_in_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/btf");
    let min = std::fs::read(dir.join("kfunc-min")).unwrap();
    assert_eq!(check_btf(&min), 4);
    assert_eq!(Btf::parse(min).unwrap().func_id("bpf_xdp_metadata_rx_hash"), Some(4));
    assert_eq!(check_btf(&std::fs::read(dir.join("header-only")).unwrap()), 0);
    assert_eq!(Btf::parse(std::fs::read(dir.join("header-only")).unwrap()).unwrap().types().count(), 0);
}
