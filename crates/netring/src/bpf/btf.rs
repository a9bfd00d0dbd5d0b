//! A small reader of BPF Type Format (BTF) data, enough to find a kernel
//! function by name and learn its BTF type id — what a kfunc call
//! instruction carries in its immediate.
//!
//! Format from the kernel's `Documentation/bpf/btf.rst`: a header
//! (`struct btf_header`), then a type section of `struct btf_type` records
//! (12 bytes each, followed by kind-specific data whose length follows from
//! the kind and `vlen`), then a string section of NUL-terminated names.
//! Type ids count the records from 1 (0 is `void`). The kernel exposes its
//! own BTF at `/sys/kernel/btf/vmlinux` (`CONFIG_DEBUG_INFO_BTF`, Linux 5.4+).
//!
//! Every offset and length in the data is checked before use: a truncated
//! or hostile blob yields an error or `None`, never a panic or a read out
//! of bounds.

use std::path::Path;

use crate::error::{Error, Result};

/// `BTF_MAGIC`, in the byte order of the data.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Size of `struct btf_header` (version 1).
const HEADER_LEN: usize = 24;
/// Size of `struct btf_type`.
const TYPE_LEN: usize = 12;

/// The kind of a BTF type (`BTF_KIND_*`), the ones this reader names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BtfKind {
    /// `BTF_KIND_INT`
    Int,
    /// `BTF_KIND_PTR`
    Ptr,
    /// `BTF_KIND_STRUCT`
    Struct,
    /// `BTF_KIND_ENUM`
    Enum,
    /// `BTF_KIND_FUNC`: a function (its `type` is a `FUNC_PROTO`).
    Func,
    /// `BTF_KIND_FUNC_PROTO`
    FuncProto,
    /// Any other kind, by number.
    Other(u8),
}

impl BtfKind {
    fn of(k: u8) -> Self {
        match k {
            1 => Self::Int,
            2 => Self::Ptr,
            4 => Self::Struct,
            6 => Self::Enum,
            12 => Self::Func,
            13 => Self::FuncProto,
            k => Self::Other(k),
        }
    }
}

/// The kind's number (inverse of `BtfKind::of`).
fn kind_number(k: BtfKind) -> u8 {
    match k {
        BtfKind::Int => 1,
        BtfKind::Ptr => 2,
        BtfKind::Struct => 4,
        BtfKind::Enum => 6,
        BtfKind::Func => 12,
        BtfKind::FuncProto => 13,
        BtfKind::Other(k) => k,
    }
}

/// Bytes of kind-specific data after the `btf_type` record of kind `kind`
/// with `vlen` members; `None` for an unknown kind (the rest of the section
/// cannot be walked then).
fn extra_len(kind: u8, vlen: usize) -> Option<usize> {
    Some(match kind {
        // INT: one u32 of encoding; ARRAY: struct btf_array; VAR: linkage;
        // DECL_TAG: component index.
        1 | 14 | 17 => 4,
        3 => 12,
        // STRUCT, UNION: struct btf_member; DATASEC: btf_var_secinfo;
        // ENUM64: btf_enum64.
        4 | 5 | 15 | 19 => vlen * 12,
        // ENUM: btf_enum; FUNC_PROTO: btf_param.
        6 | 13 => vlen * 8,
        // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG.
        2 | 7 | 8 | 9 | 10 | 11 | 12 | 16 | 18 => 0,
        _ => return None,
    })
}

/// One type record, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfType {
    /// Type id (1 for the first record).
    pub id: u32,
    /// Kind.
    pub kind: BtfKind,
    /// Offset of the name in the string section (0: anonymous).
    pub name_off: u32,
    /// `vlen`: members, parameters, enumerators.
    pub vlen: u16,
    /// `size` or `type`, depending on the kind.
    pub size_or_type: u32,
}

/// BTF data: checked header, type and string sections.
#[derive(Debug, Clone)]
pub struct Btf {
    data: Vec<u8>,
    /// Byte range of the type section in `data`.
    types: std::ops::Range<usize>,
    /// Byte range of the string section in `data`.
    strings: std::ops::Range<usize>,
}

fn corrupt(offset: usize, what: impl Into<String>) -> Error {
    Error::CorruptFile { path: "<btf>".into(), offset: offset as u64, what: what.into() }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

impl Btf {
    /// The running kernel's BTF ([`VMLINUX_BTF`]).
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the file is missing (a kernel built
    /// without `CONFIG_DEBUG_INFO_BTF`); [`Error::File`] when it cannot be
    /// read; [`Error::CorruptFile`] as [`parse`](Self::parse).
    pub fn vmlinux() -> Result<Self> {
        Self::read(Path::new(VMLINUX_BTF))
    }

    /// The BTF in file `path`.
    ///
    /// # Errors
    /// As [`vmlinux`](Self::vmlinux).
    pub fn read(path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::Unsupported {
                    feature: "kernel BTF",
                    detail: format!(
                        "{} is missing: the kernel needs CONFIG_DEBUG_INFO_BTF (Linux 5.4+)",
                        path.display()
                    ),
                }
            } else {
                Error::File { op: "reading", path: path.to_owned(), source }
            }
        })?;
        Self::parse(data)
    }

    /// Check the header of `data` (native byte order, version 1) and that
    /// both sections lie inside it.
    ///
    /// # Errors
    /// [`Error::CorruptFile`] naming the problem and its offset.
    pub fn parse(data: Vec<u8>) -> Result<Self> {
        let h =
            data.get(..HEADER_LEN).ok_or_else(|| corrupt(0, format!("{} bytes, shorter than a header", data.len())))?;
        let magic = u16::from_ne_bytes([h[0], h[1]]);
        if magic != BTF_MAGIC {
            let why = if magic == BTF_MAGIC.swap_bytes() { "BTF of the other byte order" } else { "no BTF magic" };
            return Err(corrupt(0, format!("{why} ({magic:#06x})")));
        }
        if h[2] != 1 {
            return Err(corrupt(2, format!("BTF version {} (1 expected)", h[2])));
        }
        let field = |i: usize| u32_at(h, 4 + 4 * i).map_or(0, |v| v as usize);
        let (hdr_len, type_off, type_len, str_off, str_len) = (field(0), field(1), field(2), field(3), field(4));
        if hdr_len < HEADER_LEN || hdr_len > data.len() {
            return Err(corrupt(4, format!("header length {hdr_len}")));
        }
        let section = |off: usize, len: usize, name: &str| {
            let start = hdr_len.checked_add(off);
            let end = start.and_then(|s| s.checked_add(len));
            match (start, end) {
                (Some(s), Some(e)) if e <= data.len() => Ok(s..e),
                _ => Err(corrupt(hdr_len, format!("{name} section {off}+{len} outside the {} bytes", data.len()))),
            }
        };
        let types = section(type_off, type_len, "type")?;
        let strings = section(str_off, str_len, "string")?;
        Ok(Self { data, types, strings })
    }

    /// The name at `off` of the string section (`""` for 0, `None` if it
    /// lies outside, lacks its NUL, or is not UTF-8).
    pub fn name(&self, off: u32) -> Option<&str> {
        let s = self.data.get(self.strings.clone())?;
        let rest = s.get(off as usize..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }

    /// The type records, in id order. The walk stops at the end of the
    /// section, at a record cut short, or at a kind it cannot size.
    pub fn types(&self) -> BtfTypes<'_> {
        BtfTypes { section: self.data.get(self.types.clone()).unwrap_or(&[]), at: 0, next_id: 1 }
    }

    /// The id of the function (`BTF_KIND_FUNC`) named `name`, as a kfunc
    /// call's immediate takes it.
    pub fn func_id(&self, name: &str) -> Option<u32> {
        self.types().find(|t| t.kind == BtfKind::Func && self.name(t.name_off) == Some(name)).map(|t| t.id)
    }

    /// The value of the enumerator `name` (of any `BTF_KIND_ENUM`), e.g. to
    /// tell whether the kernel knows a flag its UAPI headers define.
    pub fn enum_value(&self, name: &str) -> Option<i32> {
        let section = self.data.get(self.types.clone())?;
        let mut at = 0usize;
        for t in self.types() {
            let extra = extra_len(kind_number(t.kind), usize::from(t.vlen))?;
            if t.kind == BtfKind::Enum {
                for k in 0..usize::from(t.vlen) {
                    let m = at + TYPE_LEN + k * 8;
                    if self.name(u32_at(section, m)?) == Some(name) {
                        return u32_at(section, m + 4).map(|v| v as i32);
                    }
                }
            }
            at += TYPE_LEN + extra;
        }
        None
    }

    /// [`func_id`](Self::func_id) of each of `names`, in one walk.
    pub fn func_ids<const N: usize>(&self, names: [&str; N]) -> [Option<u32>; N] {
        let mut out = [None; N];
        for t in self.types().filter(|t| t.kind == BtfKind::Func) {
            let Some(n) = self.name(t.name_off) else { continue };
            if let Some(i) = names.iter().position(|&w| w == n) {
                out[i].get_or_insert(t.id);
            }
        }
        out
    }
}

/// Iterator over the type records of a [`Btf`].
#[derive(Debug, Clone)]
pub struct BtfTypes<'a> {
    section: &'a [u8],
    at: usize,
    next_id: u32,
}

impl Iterator for BtfTypes<'_> {
    type Item = BtfType;

    fn next(&mut self) -> Option<BtfType> {
        let name_off = u32_at(self.section, self.at)?;
        let info = u32_at(self.section, self.at.checked_add(4)?)?;
        let size_or_type = u32_at(self.section, self.at.checked_add(8)?)?;
        let kind = ((info >> 24) & 0x1f) as u8;
        let vlen = (info & 0xffff) as u16;
        let Some(end) = extra_len(kind, usize::from(vlen)).and_then(|x| self.at.checked_add(TYPE_LEN)?.checked_add(x))
        else {
            self.at = self.section.len();
            return None;
        };
        if end > self.section.len() {
            self.at = self.section.len();
            return None;
        }
        self.at = end;
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1)?;
        Some(BtfType { id, kind: BtfKind::of(kind), name_off, vlen, size_or_type })
    }
}

/// Builds BTF blobs for tests (and the fuzz targets' seeds): a header, the
/// given records and strings, in native byte order.
#[doc(hidden)]
#[derive(Debug, Default, Clone)]
pub struct BtfBuilder {
    types: Vec<u8>,
    strings: Vec<u8>,
    count: u32,
}

impl BtfBuilder {
    /// An empty blob (the string section starts with the empty name).
    pub fn new() -> Self {
        Self { types: Vec::new(), strings: vec![0], count: 0 }
    }

    /// Add `name` to the string section; its offset.
    pub fn string(&mut self, name: &str) -> u32 {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        off
    }

    /// Add a record of kind number `kind` with `vlen` and `extra` bytes of
    /// kind-specific data; its id.
    pub fn record(&mut self, name: &str, kind: u8, vlen: u16, size_or_type: u32, extra: &[u8]) -> u32 {
        let name_off = if name.is_empty() { 0 } else { self.string(name) };
        let info = (u32::from(kind) << 24) | u32::from(vlen);
        for v in [name_off, info, size_or_type] {
            self.types.extend_from_slice(&v.to_ne_bytes());
        }
        self.types.extend_from_slice(extra);
        self.count += 1;
        self.count
    }

    /// The blob.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.types.len() + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_ne_bytes());
        out.extend_from_slice(&[1, 0]);
        let tl = self.types.len() as u32;
        for v in [HEADER_LEN as u32, 0, tl, tl, self.strings.len() as u32] {
            out.extend_from_slice(&v.to_ne_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `int`, `struct xdp_md`, a pointer to it, a FUNC_PROTO with two
    /// parameters, and two functions.
    fn sample() -> (Vec<u8>, u32, u32) {
        let mut b = BtfBuilder::new();
        let int = b.record("int", 1, 0, 4, &(32u32).to_ne_bytes());
        let mut member = Vec::new();
        for v in [b.string("data"), int, 0] {
            member.extend_from_slice(&v.to_ne_bytes());
        }
        let md = b.record("xdp_md", 4, 1, 24, &member);
        let ptr = b.record("", 2, 0, md, &[]);
        let mut params = Vec::new();
        for v in [b.string("ctx"), ptr, b.string("ts"), int] {
            params.extend_from_slice(&v.to_ne_bytes());
        }
        let proto = b.record("", 13, 2, int, &params);
        let f1 = b.record("bpf_xdp_metadata_rx_hash", 12, 0, proto, &[]);
        let f2 = b.record("bpf_xdp_metadata_rx_timestamp", 12, 0, proto, &[]);
        let mut values = Vec::new();
        for (n, v) in [("XDP_RSS_L3_IPV4", 1u32), ("XDP_RSS_L4", 8)] {
            values.extend_from_slice(&b.string(n).to_ne_bytes());
            values.extend_from_slice(&v.to_ne_bytes());
        }
        b.record("xdp_rss_hash_type", 6, 2, 4, &values);
        (b.build(), f1, f2)
    }

    #[test]
    fn finds_functions_by_name_and_counts_ids_from_one() {
        let (blob, f1, f2) = sample();
        assert_eq!((f1, f2), (5, 6));
        let btf = Btf::parse(blob).unwrap();
        let kinds: Vec<BtfKind> = btf.types().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                BtfKind::Int,
                BtfKind::Struct,
                BtfKind::Ptr,
                BtfKind::FuncProto,
                BtfKind::Func,
                BtfKind::Func,
                BtfKind::Enum
            ]
        );
        assert_eq!(btf.func_id("bpf_xdp_metadata_rx_hash"), Some(5));
        assert_eq!(btf.func_id("bpf_xdp_metadata_rx_timestamp"), Some(6));
        assert_eq!(btf.func_id("xdp_md"), None, "a struct is not a function");
        assert_eq!(btf.func_id("bpf_xdp_metadata_rx_vlan_tag"), None);
        assert_eq!(
            btf.func_ids(["bpf_xdp_metadata_rx_timestamp", "nope", "bpf_xdp_metadata_rx_hash"]),
            [Some(6), None, Some(5)]
        );
        assert_eq!(btf.enum_value("XDP_RSS_L4"), Some(8));
        assert_eq!(btf.enum_value("XDP_RSS_L3_IPV4"), Some(1));
        assert_eq!(btf.enum_value("nope"), None);
        let md = btf.types().nth(1).unwrap();
        assert_eq!((btf.name(md.name_off), md.vlen, md.size_or_type), (Some("xdp_md"), 1, 24));
        assert_eq!(btf.name(0), Some(""));
    }

    #[test]
    fn refuses_bad_headers_with_the_offset() {
        let (blob, ..) = sample();
        let err = |b: Vec<u8>| Btf::parse(b).unwrap_err().to_string();
        assert_eq!(err(blob[..10].to_vec()), "<btf>: 10 bytes, shorter than a header at byte offset 0");
        let mut swapped = blob.clone();
        swapped.swap(0, 1);
        assert!(err(swapped).contains("BTF of the other byte order"));
        let mut v2 = blob.clone();
        v2[2] = 2;
        assert_eq!(err(v2), "<btf>: BTF version 2 (1 expected) at byte offset 2");
        let mut long = blob.clone();
        long[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(err(long).contains("string section"));
        let mut hdr = blob.clone();
        hdr[4..8].copy_from_slice(&8u32.to_ne_bytes());
        assert_eq!(err(hdr), "<btf>: header length 8 at byte offset 4");
    }

    #[test]
    fn a_cut_or_unknown_record_ends_the_walk() {
        let (blob, ..) = sample();
        // Cut the type section inside the third record.
        let mut cut = blob.clone();
        let short = (TYPE_LEN + 4 + TYPE_LEN + 12 + 5) as u32;
        cut[12..16].copy_from_slice(&short.to_ne_bytes());
        assert_eq!(Btf::parse(cut).unwrap().types().count(), 2);
        // An unknown kind (31) in the first record: nothing after it is believed.
        let mut odd = blob;
        odd[HEADER_LEN + 7] = 31;
        let btf = Btf::parse(odd).unwrap();
        assert_eq!(btf.types().count(), 0);
        assert_eq!(btf.func_id("bpf_xdp_metadata_rx_hash"), None);
        assert_eq!(btf.name(u32::MAX), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /sys")]
    fn the_running_kernel_has_the_metadata_kfuncs_if_it_has_btf() {
        let Ok(btf) = Btf::vmlinux() else { return };
        let ids = btf.func_ids(["bpf_xdp_metadata_rx_timestamp", "bpf_xdp_metadata_rx_hash"]);
        // Linux 6.3+ with BTF has both; older kernels have neither.
        assert_eq!(ids[0].is_some(), ids[1].is_some(), "{ids:?}");
        assert!(btf.types().count() > 1000);
    }
}
