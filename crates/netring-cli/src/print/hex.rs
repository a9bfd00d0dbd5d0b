//! `-x`/`-X` (hex, with ASCII) and `-A` (ASCII) dumps, laid out as
//! tcpdump's: a tab, the offset, eight groups of two bytes, and with `-X`
//! the printable characters at column 50.

use std::fmt::Write as _;

/// Each 16 bytes of `d` on a new line: `\t0x0010:  4500 0054 …`, with the
/// characters after when `ascii`.
pub(super) fn hex(out: &mut String, d: &[u8], ascii: bool) {
    hex_indented(out, d, ascii, "\t");
}

/// [`hex`] with each line starting with `indent` instead of a tab.
pub(super) fn hex_indented(out: &mut String, d: &[u8], ascii: bool, indent: &str) {
    for (i, line) in d.chunks(16).enumerate() {
        let _ = write!(out, "\n{indent}0x{:04x}: ", i * 16);
        let start = out.len();
        for pair in line.chunks(2) {
            match pair {
                [a, b] => {
                    let _ = write!(out, " {a:02x}{b:02x}");
                }
                [a] => {
                    let _ = write!(out, " {a:02x}");
                }
                _ => {}
            }
        }
        if ascii {
            let used = out.len() - start;
            out.extend(std::iter::repeat_n(' ', 40 - used + 2));
            out.extend(line.iter().map(|&c| if c.is_ascii_graphic() { c as char } else { '.' }));
        }
    }
}

/// `d` as text on the next line: printable characters, tabs, spaces and
/// newlines as they are (a CR before an LF is left out), anything else `.`.
pub(super) fn ascii(out: &mut String, d: &[u8]) {
    out.push('\n');
    for (i, &c) in d.iter().enumerate() {
        match c {
            b'\r' if d.get(i + 1) == Some(&b'\n') => {}
            b' ' | b'\t' | b'\n' => out.push(c as char),
            c if c.is_ascii_graphic() => out.push(c as char),
            _ => out.push('.'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines_as_tcpdump() {
        let mut s = String::new();
        hex(&mut s, b"E\x00\x00T0123456789abcdefg", true);
        assert_eq!(
            s,
            "\n\t0x0000:  4500 0054 3031 3233 3435 3637 3839 6162  E..T0123456789ab\
             \n\t0x0010:  6364 6566 67                             cdefg"
        );
        let mut s = String::new();
        hex(&mut s, b"abc", false);
        assert_eq!(s, "\n\t0x0000:  6162 63");
    }

    #[test]
    fn ascii_keeps_line_breaks() {
        let mut s = String::new();
        ascii(&mut s, b"a b\r\nc\rd\x01");
        assert_eq!(s, "\na b\nc.d.");
    }
}
