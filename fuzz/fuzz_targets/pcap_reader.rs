//! The pcap/pcapng reader never panics on any bytes: each record it yields
//! lies inside the file, no longer than its original length; an error is a
//! corrupt-file error naming a byte offset inside the file, after which the
//! reader yields nothing. Input bytes starting with `!` build a valid file
//! from the rest (pcap or pcapng, records of chosen lengths) and then cut it
//! or change one byte: every record that ends before the damage is read back
//! exactly as written, and a cut file yields exactly the records before the
//! cut, then names the offset of the first incomplete one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::fuzz_internals::{Record, read_all_checked as read_all, write_file};
use netring::packet::Timestamp;

/// A valid file of the records `spec` describes, and each record's extent.
fn build(ng: bool, spec: &[u8]) -> (Vec<u8>, Vec<Record>, Vec<(u64, u64)>) {
    let recs: Vec<Record> = spec
        .iter()
        .enumerate()
        .map(|(i, &l)| (Timestamp::new(i as u64, 1000 * i as u32), l as u32 + 3, vec![l; l as usize]))
        .collect();
    let (bytes, extents) = write_file(ng, &recs, None);
    (bytes, recs, extents)
}

fuzz_target!(|data: &[u8]| {
    let [b'!', ng, cut, pos_lo, pos_hi, value, spec @ ..] = data else {
        read_all(data);
        return;
    };
    let (file, recs, extents) = build(ng & 1 == 1, &spec[..spec.len().min(64)]);
    let pos = usize::from(u16::from_le_bytes([*pos_lo, *pos_hi])) % (file.len() + 1);
    if cut & 1 == 1 {
        let (got, err) = read_all(&file[..pos]);
        let whole = extents.iter().take_while(|e| e.1 <= pos as u64).count();
        assert_eq!(got, recs[..whole], "the records before the cut, exactly");
        if let Some(&(start, _)) = extents.get(whole).filter(|e| e.0 < pos as u64) {
            assert_eq!(err, Some(start), "the first incomplete record is named");
        }
    } else if pos < file.len() {
        let mut bad = file.clone();
        bad[pos] = *value;
        let (got, _) = read_all(&bad);
        let before = extents.iter().take_while(|e| e.1 <= pos as u64).count();
        assert!(got.len() >= before, "{} records read, {before} end before the damage at {pos}", got.len());
        for (g, r) in got.iter().zip(&recs).take(before) {
            assert_eq!(g, r, "a record that ends before the damage reads back as written");
        }
    }
});
