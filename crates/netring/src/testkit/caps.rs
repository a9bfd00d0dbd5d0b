//! Capability checks, so a privileged test or verb can name what it lacks
//! before it fails half-way.

use std::fmt;

/// A Linux capability that building veth links, opening packet sockets or
/// loading BPF programs needs (`capabilities(7)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `CAP_NET_ADMIN` (12): create links, set them up, attach XDP programs.
    NetAdmin,
    /// `CAP_NET_RAW` (13): open AF_PACKET and AF_XDP sockets.
    NetRaw,
    /// `CAP_SYS_ADMIN` (21): create and enter network namespaces.
    SysAdmin,
    /// `CAP_BPF` (39, Linux 5.8): load BPF programs and maps.
    Bpf,
}

/// What [`VethConfig::create`](super::VethConfig::create) and sockets on
/// the link need: `CAP_NET_ADMIN`, `CAP_NET_RAW`, `CAP_SYS_ADMIN`.
pub const VETH_CAPABILITIES: [Capability; 3] = [Capability::NetAdmin, Capability::NetRaw, Capability::SysAdmin];

impl Capability {
    /// The capability's number, as `linux/capability.h` defines it.
    pub const fn number(self) -> u32 {
        match self {
            Self::NetAdmin => 12,
            Self::NetRaw => 13,
            Self::SysAdmin => 21,
            Self::Bpf => 39,
        }
    }

    /// The capability's name, e.g. `CAP_NET_RAW`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NetAdmin => "CAP_NET_ADMIN",
            Self::NetRaw => "CAP_NET_RAW",
            Self::SysAdmin => "CAP_SYS_ADMIN",
            Self::Bpf => "CAP_BPF",
        }
    }

    /// Whether the calling thread holds this capability in its effective
    /// set (`CapEff` of `/proc/thread-self/status`; without `/proc`, whether
    /// the effective user is root).
    pub fn is_held(self) -> bool {
        crate::sys::has_capability(self.number())
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The capabilities of `caps` the calling thread does not hold, in order.
pub fn missing_capabilities(caps: &[Capability]) -> Vec<Capability> {
    caps.iter().copied().filter(|c| !c.is_held()).collect()
}

/// For privileged tests: panic, naming the missing capabilities, unless
/// the calling thread may build veth links in private namespaces
/// ([`VETH_CAPABILITIES`]).
///
/// # Panics
/// If a capability of [`VETH_CAPABILITIES`] is missing.
pub fn require_veth_privileges() {
    let missing = missing_capabilities(&VETH_CAPABILITIES);
    assert!(
        missing.is_empty(),
        "this privileged test needs {} to build veth links in private namespaces; run it as root (e.g. `sudo .ci/run`)",
        missing.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_match_capability_h() {
        let all = [Capability::NetAdmin, Capability::NetRaw, Capability::SysAdmin, Capability::Bpf];
        let got: Vec<(u32, String)> = all.iter().map(|c| (c.number(), c.to_string())).collect();
        assert_eq!(
            got,
            [(12, "CAP_NET_ADMIN"), (13, "CAP_NET_RAW"), (21, "CAP_SYS_ADMIN"), (39, "CAP_BPF")]
                .map(|(n, s)| (n, s.to_owned()))
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc")]
    fn missing_is_what_is_not_held() {
        let missing = missing_capabilities(&VETH_CAPABILITIES);
        for c in VETH_CAPABILITIES {
            assert_eq!(missing.contains(&c), !c.is_held(), "{c}");
        }
    }
}
