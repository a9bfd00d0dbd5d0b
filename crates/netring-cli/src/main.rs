//! `netring`: capture, inject and test packet I/O over AF_PACKET and AF_XDP.
//!
//! Every verb follows the CLI contracts in the project SPEC: `--json` puts
//! exactly one JSON object on stdout at exit and human output on stderr;
//! errors exit non-zero with one line on stderr; SIGINT/SIGTERM end a run
//! cleanly.
//!
//! Layout: one module per verb (`capture/` and `bench/` are folders, one
//! concern a file); the verbs use the shared modules and never each other:
//! `args` (the arguments every verb shares, flattened into each verb's
//! `Args`), `backend` (`--backend` and the transmit path of `gen` and
//! `replay`), `frames` (what `gen` sends), `output`, `signals`, `privs`,
//! `pace`, `metrics_http`. No two modules import
//! each other.

#![forbid(unsafe_code)]

mod args;
mod backend;
mod bench;
mod bridge;
mod capture;
mod filter;
mod frames;
mod generate;
mod info;
mod metrics_http;
mod output;
mod pace;
mod print;
mod privs;
mod replay;
mod selftest;
mod signals;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Zero-copy packet I/O on Linux (AF_PACKET TPACKET_V3, AF_XDP).
#[derive(Debug, Parser)]
#[command(name = "netring", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture packets from an interface (AF_PACKET TPACKET_V3 ring, or AF_XDP) or read a file (-r), as tcpdump -n prints them.
    Capture(Box<capture::Args>),
    /// Send numbered frames (AF_PACKET, or AF_XDP with --backend xdp).
    Gen(generate::Args),
    /// Forward frames between two interfaces (A <-> B).
    Bridge(bridge::Args),
    /// Send the frames of a pcap or pcapng file, at its own timing or faster.
    Replay(replay::Args),
    /// Show an interface: index, MTU, MAC, driver, queues, XDP attach modes.
    Info(info::Args),
    /// Build a private veth link and prove capture works end to end.
    Selftest(selftest::Args),
    /// Compile a filter expression and print the program as tcpdump -d/-dd/-ddd does.
    Filter(filter::Args),
    /// Live packet and bit rates of an interface, with ring and interface drop counters.
    Stats(stats::Args),
    /// Measure capture and injection throughput over a private veth link, side by side with tcpdump, netsniff-ng, trafgen.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("NETRING_LOG").unwrap_or_else(|_| "warn".into()))
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Capture(a) => capture::run(*a),
        Command::Gen(a) => generate::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Bridge(a) => bridge::run(a),
        Command::Info(a) => info::run(a),
        Command::Selftest(a) => selftest::run(a),
        Command::Filter(a) => filter::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("netring: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every verb: the shared argument
    /// structs flatten without clashes and every `mut_arg` names an argument.
    #[test]
    fn command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
