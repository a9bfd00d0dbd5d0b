//! `netring filter`: compile a filter expression for an Ethernet capture
//! file (what `tcpdump -y EN10MB -d EXPR` compiles) and print the program.

use std::process::ExitCode;

use netring::Error;
use netring::filter::{Listing, expr};

/// Arguments of `netring filter`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listing: -d readable (default), -dd C array, -ddd decimal, as tcpdump.
    #[arg(short = 'd', action = clap::ArgAction::Count)]
    dump: u8,
    /// Snap length: the accept value of the program (1..=262144).
    #[arg(short, long, default_value_t = netring::afpacket::MAX_SNAPLEN)]
    snaplen: u32,
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
    let program = expr::compile(&a.expression.join(" "), a.snaplen)?;
    let kind = match a.dump {
        0 | 1 => Listing::Human,
        2 => Listing::CArray,
        _ => Listing::Decimal,
    };
    print!("{}", program.listing(kind));
    Ok(ExitCode::SUCCESS)
}
