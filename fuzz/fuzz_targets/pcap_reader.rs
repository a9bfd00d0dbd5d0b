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
use netring::Error;
use netring::packet::Timestamp;
use netring::pcap::{PcapNgWriter, PcapWriter, Reader};

type Rec = (Timestamp, u32, Vec<u8>);

/// Read everything: the records, and the error's offset if one ended it.
fn read_all(bytes: &[u8]) -> (Vec<Rec>, Option<u64>) {
    let mut r = match Reader::new(bytes, "fuzz") {
        Ok(r) => r,
        Err(Error::CorruptFile { offset, .. }) => return (Vec::new(), Some(offset)),
        Err(e) => panic!("not a corrupt-file error: {e}"),
    };
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                assert!(rec.data.len() <= rec.original_len as usize, "captured bytes within the original length");
                assert!(rec.data.len() <= bytes.len(), "a record no longer than the file");
                out.push((rec.timestamp, rec.original_len, rec.data.to_vec()));
            }
            Ok(None) => return (out, None),
            Err(Error::CorruptFile { offset, .. }) => {
                assert!(offset <= bytes.len() as u64, "offset {offset} past the end ({} bytes)", bytes.len());
                assert!(matches!(r.next_record(), Ok(None)), "nothing after an error");
                return (out, Some(offset));
            }
            Err(e) => panic!("not a corrupt-file error: {e}"),
        }
    }
}

/// A valid file of the records `spec` describes, and each record's extent.
fn build(ng: bool, spec: &[u8]) -> (Vec<u8>, Vec<Rec>, Vec<(u64, u64)>) {
    let recs: Vec<Rec> = spec
        .iter()
        .enumerate()
        .map(|(i, &l)| (Timestamp::new(i as u64, 1000 * i as u32), l as u32 + 3, vec![l; l as usize]))
        .collect();
    let mut extents = Vec::new();
    let bytes = if ng {
        let mut w = PcapNgWriter::new(Vec::new(), 65535, None).unwrap();
        for (ts, orig, d) in &recs {
            let start = w.bytes();
            w.write(*ts, *orig, d).unwrap();
            extents.push((start, w.bytes()));
        }
        w.finish(None).unwrap()
    } else {
        let mut w = PcapWriter::new(Vec::new(), 65535).unwrap();
        for (ts, orig, d) in &recs {
            let start = w.bytes();
            w.write(*ts, *orig, d).unwrap();
            extents.push((start, w.bytes()));
        }
        w.into_inner().unwrap()
    };
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
