//! Where the per-packet lines go: stdout, block-buffered (flushed after
//! every line with `-l`), or stderr with `--json` (stdout then carries
//! only the summary object).

use std::io::{BufWriter, Write};

use netring::{LinkType, Packet, Timestamp};

use super::args::Args;
use crate::print::Printer;

/// The printer and its output.
pub(super) struct Lines {
    printer: Printer,
    out: BufWriter<Box<dyn Write + Send>>,
    flush_each: bool,
}

impl Lines {
    /// Lines in the style `a` asks for.
    pub(super) fn new(a: &Args) -> Self {
        let out: Box<dyn Write + Send> =
            if a.report.json() { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
        Self {
            printer: Printer::new(a.show.style()),
            out: BufWriter::with_capacity(64 << 10, out),
            flush_each: a.show.line_buffered,
        }
    }

    /// Print `p`, captured on a link of type `link`.
    ///
    /// # Errors
    /// stdout could not be written (a closed pipe: the caller stops).
    pub(super) fn packet(&mut self, p: &Packet<'_>, link: LinkType) -> std::io::Result<()> {
        let text = match link {
            LinkType::LinuxSll2 => self.printer.network(p.timestamp(), p.original_len() as u32, p.data(), p.protocol()),
            _ => self.printer.packet(p.timestamp(), p.original_len() as u32, p.data()),
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
