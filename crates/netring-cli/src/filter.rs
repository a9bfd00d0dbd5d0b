//! `netring filter`: compile a filter expression for an Ethernet capture
//! file (what `tcpdump -y EN10MB -d EXPR` compiles) and print the program;
//! or, with `-r FILE`, filter a capture file (`-w OUT` keeps the matching
//! records, in the input's format).

use std::path::PathBuf;
use std::process::ExitCode;

use netring::Error;
use netring::filter::{FilterMeta, Listing, expr};
use netring::pcap::{CaptureWriter, LINKTYPE_ETHERNET, Reader};

use crate::args::Json;

/// Arguments of `netring filter`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |a| a.requires("read").help("With -r: print one JSON object with the counts on stdout")))]
pub struct Args {
    /// Listing: -d readable (default), -dd C array, -ddd decimal, as tcpdump.
    #[arg(short = 'd', action = clap::ArgAction::Count)]
    dump: u8,
    /// Snap length: the accept value of the program (1..=262144); with -r,
    /// matching records are cut to it.
    #[arg(short, long, default_value_t = netring::afpacket::MAX_SNAPLEN)]
    snaplen: u32,
    /// The netmask `ip broadcast` tests the host part under (libpcap takes
    /// it from the capture interface; 0.0.0.0, the default, is what it
    /// uses for a file and `tcpdump -d`).
    #[arg(long, value_name = "MASK", default_value = "0.0.0.0")]
    netmask: std::net::Ipv4Addr,
    /// Filter this pcap or pcapng file instead of printing the program.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    /// With -r: write the matching records here, in the input's format.
    #[arg(short = 'w', long = "write", value_name = "OUT", requires = "read")]
    write: Option<PathBuf>,
    #[command(flatten)]
    json: Json,
    /// The expression (pcap-filter(7)); several words are joined with spaces.
    #[arg(value_name = "EXPRESSION", trailing_var_arg = true, required = true)]
    expression: Vec<String>,
}

/// Run `netring filter`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    if !(1..=netring::afpacket::MAX_SNAPLEN).contains(&a.snaplen) {
        return Err(Error::InvalidConfig {
            name: "snaplen",
            value: a.snaplen.to_string(),
            rule: format!("must be 1..={}", netring::afpacket::MAX_SNAPLEN),
        });
    }
    let program = expr::compile_opts(&a.expression.join(" "), a.snaplen, expr::Options::default().netmask(a.netmask))?;
    if let Some(input) = &a.read {
        return filter_file(&a, &program, input);
    }
    let kind = match a.dump {
        0 | 1 => Listing::Human,
        2 => Listing::CArray,
        _ => Listing::Decimal,
    };
    crate::output::stdout(&program.listing(kind).to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Run `program` over every record of `input`, as libpcap filters a
/// capture file (the record's bytes and its length on the wire).
fn filter_file(a: &Args, program: &netring::filter::Program, input: &std::path::Path) -> Result<ExitCode, Error> {
    let started = std::time::Instant::now();
    let mut reader = Reader::open(input)?;
    if reader.linktype() != LINKTYPE_ETHERNET {
        // netring's limit, not the kernel's.
        return Err(Error::InvalidConfig {
            name: "file",
            value: input.display().to_string(),
            rule: format!("has link type {}: netring filters only Ethernet (link type 1) files", reader.linktype()),
        });
    }
    let mut writer =
        a.write.as_ref().map(|p| CaptureWriter::create(p, reader.format(), a.snaplen, None)).transpose()?;
    let (mut records, mut matched, mut bytes) = (0u64, 0u64, 0u64);
    // A corrupt record or a write error ends the run; what was read before
    // it is still written, counted and reported.
    let outcome = (|| -> Result<(), Error> {
        while let Some(rec) = reader.next_record()? {
            records += 1;
            let keep = program.run(rec.data, &FilterMeta::for_capture(rec.data, rec.original_len)) as usize;
            if keep == 0 {
                continue;
            }
            matched += 1;
            bytes += u64::from(rec.original_len);
            if let Some(w) = writer.as_mut() {
                w.write(rec.timestamp, rec.original_len, &rec.data[..keep.min(rec.data.len())])?;
            }
        }
        Ok(())
    })();
    let (written, flushed) = match writer {
        Some(w) => {
            let (n, r) = w.finish_counted(None);
            (Some(n), r)
        }
        None => (None, Ok(())),
    };
    let seconds = started.elapsed().as_secs_f64();
    if a.json.json {
        let mut v = serde_json::json!({"records": records, "packets": matched, "bytes": bytes, "seconds": seconds});
        if let Some(n) = written.filter(|&n| n != matched) {
            v["written"] = n.into();
        }
        crate::output::stdout_line(&v)?;
    }
    eprintln!("netring filter: {matched} of {records} records matched ({bytes} bytes on the wire)");
    outcome?;
    flushed?;
    Ok(ExitCode::SUCCESS)
}
