//! Where the per-packet lines go: stdout, block-buffered (flushed after
//! every line with `-l`), or stderr with `--json` (stdout then carries
//! only the summary object).

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use netring::{LinkType, Packet, PacketDirection, Timestamp};

use super::args::Args;
use crate::print::Printer;

/// The printer and its output.
pub(super) struct Lines {
    printer: Printer,
    out: BufWriter<Box<dyn Write + Send>>,
    flush_each: bool,
    link: LinkType,
    /// Interface names by index, for the lines of an `any` capture.
    names: HashMap<u32, String>,
    /// The capture puts stripped VLAN tags back itself (--vlan-reinsert).
    tags_in_frames: bool,
}

impl Lines {
    /// Lines in the style `a` asks for, of packets that start with `link`.
    pub(super) fn new(a: &Args, link: LinkType) -> Self {
        // An `any` capture names each packet's interface, as tcpdump does;
        // the names are read once, in the capture's namespace.
        let names = match link {
            LinkType::LinuxSll2 => a
                .more
                .ns
                .run(netring::interface::list)
                .map(|l| l.into_iter().map(|l| (l.index, l.name)).collect())
                .unwrap_or_default(),
            _ => HashMap::new(),
        };
        let out: Box<dyn Write + Send> =
            if a.report.json() { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
        Self {
            printer: Printer::new(a.show.style()),
            out: BufWriter::with_capacity(64 << 10, out),
            flush_each: a.show.line_buffered,
            link,
            names,
            tags_in_frames: a.more.vlan_reinsert,
        }
    }

    /// Print `p`.
    ///
    /// # Errors
    /// stdout could not be written (a closed pipe: the caller stops).
    pub(super) fn packet(&mut self, p: &Packet<'_>) -> std::io::Result<()> {
        let text = match self.link {
            LinkType::LinuxSll2 => {
                let name = self.names.get(&p.ifindex()).cloned().unwrap_or_else(|| p.ifindex().to_string());
                let dir = match p.direction() {
                    PacketDirection::Outgoing => "Out",
                    PacketDirection::Broadcast => "B",
                    PacketDirection::Multicast => "M",
                    PacketDirection::OtherHost => "P",
                    _ => "In",
                };
                let prefix = format!("{name:<5} {dir:<3} ");
                self.printer.network(p.timestamp(), p.original_len() as u32, p.data(), p.protocol(), &prefix)
            }
            _ => match p.vlan_tci() {
                // The kernel took the tag out of the frame: show it where it
                // was on the wire, as libpcap does (4 more bytes, both lengths).
                Some(tci) if !self.tags_in_frames && p.data().len() >= 12 => {
                    let d = p.data();
                    let tpid = p.vlan_tpid().unwrap_or(0x8100);
                    let mut f = Vec::with_capacity(d.len() + 4);
                    f.extend_from_slice(&d[..12]);
                    f.extend_from_slice(&tpid.to_be_bytes());
                    f.extend_from_slice(&tci.to_be_bytes());
                    f.extend_from_slice(&d[12..]);
                    self.printer.packet(p.timestamp(), p.original_len() as u32 + 4, &f)
                }
                _ => self.printer.packet(p.timestamp(), p.original_len() as u32, p.data()),
            },
        };
        self.write(&text)
    }

    /// Print a record read from a file.
    ///
    /// # Errors
    /// As [`packet`](Self::packet).
    pub(super) fn record(&mut self, ts: Timestamp, wire: u32, data: &[u8]) -> std::io::Result<()> {
        let text = self.printer.packet(ts, wire, data);
        self.write(&text)
    }

    fn write(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        if self.flush_each { self.out.flush() } else { Ok(()) }
    }

    /// Write out what is buffered.
    ///
    /// # Errors
    /// As [`packet`](Self::packet).
    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
