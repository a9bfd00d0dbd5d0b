//! Which XDP RX metadata kfuncs a device implements, found without
//! traffic: a program calling each is loaded bound to the device, and the
//! call targets the verifier resolved (its rewritten instructions) are
//! compared with the kernel's default implementations (`/proc/kallsyms`),
//! which only fail with `EOPNOTSUPP`.

use std::collections::HashMap;
use std::os::fd::AsFd;

use super::{EbpfProgram, Insn, ProgramType, Reg, RxKfuncs, op};
use crate::error::Result;
use crate::sys::bpf as sys;

/// What a device does with one XDP metadata kfunc.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KfuncSupport {
    /// The driver implements it (the name of its function, e.g.
    /// `veth_xdp_rx_hash`).
    Device(String),
    /// The driver does not: calls get the kernel's default, which fails.
    Default,
    /// The kernel has no such kfunc (too old, or no BTF).
    Missing,
    /// Could not be told (kernel addresses hidden, or the program refused):
    /// why.
    Unknown(String),
}

impl std::fmt::Display for KfuncSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Device(func) => write!(f, "yes ({func})"),
            Self::Default => f.write_str("no"),
            Self::Missing => f.write_str("not in this kernel"),
            Self::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// Support of each of [`RxKfuncs::NAMES`] on `interface` (in that order:
/// timestamp, hash, VLAN tag).
///
/// Loads (never attaches) a device-bound XDP program. Needs `CAP_BPF` and
/// `CAP_SYS_ADMIN` or `CAP_PERFMON` (for kernel addresses). Linux 6.3.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound);
/// [`Error::PermissionDenied`](crate::Error::PermissionDenied).
pub fn probe_rx_kfuncs(interface: &str) -> Result<[(&'static str, KfuncSupport); 3]> {
    let k = RxKfuncs::running_kernel();
    let ids = [k.timestamp, k.hash, k.vlan];
    let mut out = RxKfuncs::NAMES.map(|n| (n, KfuncSupport::Missing));
    if ids.iter().all(Option::is_none) {
        return Ok(out);
    }
    let ifindex = crate::interface::index(interface)?;
    let prog = match EbpfProgram::load_device_bound(
        ProgramType::Xdp { frags: false },
        "netring_probe",
        &probe_program(&ids),
        ifindex,
    ) {
        Ok(p) => p,
        Err(e @ crate::Error::PermissionDenied { .. }) => return Err(e),
        // No native XDP in the driver (`EOPNOTSUPP`): nothing of its own.
        Err(crate::Error::BpfLoad { source, .. }) if source.kind() == std::io::ErrorKind::Unsupported => {
            for (o, id) in out.iter_mut().zip(ids) {
                if id.is_some() {
                    o.1 = KfuncSupport::Default;
                }
            }
            return Ok(out);
        }
        Err(e) => {
            let why = match &e {
                crate::Error::BpfLoad { source, .. } => format!("device-bound program refused: {source}"),
                e => e.to_string(),
            };
            for (o, id) in out.iter_mut().zip(ids) {
                if id.is_some() {
                    o.1 = KfuncSupport::Unknown(why.clone());
                }
            }
            return Ok(out);
        }
    };
    let unknown = |why: &str| KfuncSupport::Unknown(why.to_owned());
    let xlated = sys::prog_xlated(prog.as_fd()).unwrap_or_default();
    // The calls, in program order (only kfunc calls in this program).
    let targets: Vec<i32> = xlated
        .iter()
        .map(|&w| Insn::decode_parts(w))
        .filter(|&(code, _, imm)| code == op::JMP | op::CALL && imm != 0)
        .map(|(_, _, imm)| imm)
        .collect();
    let syms = Kallsyms::read();
    let base = syms.as_ref().and_then(|s| s.addr("__bpf_call_base"));
    let mut calls = targets.into_iter();
    for ((name, support), id) in out.iter_mut().zip(ids) {
        if id.is_none() {
            continue;
        }
        let Some(imm) = calls.next() else {
            *support = unknown("no call in the rewritten program (kernel addresses hidden?)");
            continue;
        };
        let (Some(syms), Some(base)) = (syms.as_ref(), base) else {
            *support = unknown("/proc/kallsyms unreadable or hidden");
            continue;
        };
        let target = base.wrapping_add_signed(i64::from(imm));
        *support = match syms.addr(name) {
            Some(default) if default == target => KfuncSupport::Default,
            Some(_) => KfuncSupport::Device(syms.name_at(target).unwrap_or("a driver function").to_owned()),
            None => unknown("the default kfunc is not in /proc/kallsyms"),
        };
    }
    Ok(out)
}

/// `r6 = ctx`; each kfunc of `ids` called with stack arguments; `XDP_PASS`.
fn probe_program(ids: &[Option<u32>; 3]) -> Vec<Insn> {
    let mut p = vec![
        Insn::mov64_reg(Reg::R6, Reg::R1),
        Insn::st_mem(op::DW, Reg::R10, -8, 0),
        Insn::st_mem(op::DW, Reg::R10, -16, 0),
    ];
    for id in ids.iter().flatten() {
        p.extend([
            Insn::mov64_reg(Reg::R1, Reg::R6),
            Insn::mov64_reg(Reg::R2, Reg::R10),
            Insn::alu64_imm(op::ADD, Reg::R2, -8),
            Insn::mov64_reg(Reg::R3, Reg::R10),
            Insn::alu64_imm(op::ADD, Reg::R3, -16),
            Insn::kfunc_call(*id),
        ]);
    }
    p.extend([Insn::mov64_imm(Reg::R0, super::programs::XDP_PASS), Insn::exit()]);
    p
}

/// Kernel symbols (`/proc/kallsyms`), when their addresses are visible.
struct Kallsyms {
    by_name: HashMap<String, u64>,
    sorted: Vec<(u64, String)>,
}

impl Kallsyms {
    fn read() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
        let mut by_name = HashMap::new();
        let mut sorted = Vec::new();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (f.next(), f.next(), f.next()) else { continue };
            let Ok(addr) = u64::from_str_radix(addr, 16) else { continue };
            if addr == 0 || !matches!(kind, "T" | "t") {
                continue;
            }
            by_name.entry(name.to_owned()).or_insert(addr);
            sorted.push((addr, name.to_owned()));
        }
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable();
        Some(Self { by_name, sorted })
    }

    fn addr(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).copied()
    }

    /// The function whose text starts exactly at `addr`.
    fn name_at(&self, addr: u64) -> Option<&str> {
        let i = self.sorted.partition_point(|&(a, _)| a < addr);
        self.sorted.get(i).filter(|(a, _)| *a == addr).map(|(_, n)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_calls_each_kfunc_it_has_once() {
        let p = probe_program(&[Some(10), None, Some(12)]);
        let calls: Vec<i32> = p.iter().filter(|i| i.src == op::PSEUDO_KFUNC_CALL).map(|i| i.imm).collect();
        assert_eq!(calls, [10, 12]);
        assert_eq!(p.last(), Some(&Insn::exit()));
        assert_eq!(KfuncSupport::Device("veth_xdp_rx_hash".into()).to_string(), "yes (veth_xdp_rx_hash)");
        assert_eq!(KfuncSupport::Default.to_string(), "no");
    }
}
