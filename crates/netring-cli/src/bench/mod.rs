//! `netring bench`: capture, injection and replay throughput over a private
//! veth link, netring side by side with tcpdump, netsniff-ng, trafgen and
//! tcpreplay,
//! contenders interleaved, several repetitions, medians and spread; and the
//! resident memory of `netring capture`.
//!
//! Every run gets a fresh veth pair between two new namespaces. The sender
//! is pinned to `--tx-cpu`, the receiver to `--rx-cpu`. Two receive paths:
//! see [`RxPath`]. Method and schema: docs/PERFORMANCE.md.

mod capture;
mod external;
mod inject;
mod link;
mod memory;
mod pinned;
mod recorder;
mod replay;
mod run;
mod tx;

use std::process::ExitCode;
use std::time::Instant;

use netring::Error;
use serde_json::{Value, json};

use crate::args::Report;
use crate::output;
use link::RxPath;
use run::{Outcome, Settings};
use tx::{GeneratorArg, TxKind};

/// Arguments of `netring bench`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("quiet", |a| a.help("No progress lines")),
    mut_arg("json", |a| a.help("Print one JSON object with every figure on stdout (tables go to stderr)")),
)]
pub struct Args {
    /// Repetitions of every contender (runs are interleaved).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Seconds of traffic per run.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Frame sizes in bytes, Ethernet header included.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 512, 1500])]
    sizes: Vec<usize>,
    /// Add 9000-byte frames (MTU 9000) where the method supports them.
    #[arg(long)]
    jumbo: bool,
    /// A short run (< 1 minute): 1 repetition of 0.5 s, 64-byte frames.
    #[arg(long)]
    quick: bool,
    /// Receive paths to measure.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [RxPath::Plain, RxPath::Napi])]
    paths: Vec<RxPath>,
    /// Sections to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Section::Capture, Section::Inject, Section::Replay, Section::Memory])]
    only: Vec<Section>,
    /// Run only the contenders with these names (default: all).
    #[arg(long, value_delimiter = ',')]
    contenders: Vec<String>,
    /// Also measure netring AF_PACKET ring variants (block size, retire
    /// timeout, rxhash, busy polling, ring size) for the tuning table.
    #[arg(long)]
    tuning: bool,
    /// Generator of the capture runs: auto (AF_XDP TX where the frame fits a
    /// UMEM frame, else the TX ring), txring (TX ring, qdisc bypass), xdp, sendmmsg.
    #[arg(long, value_enum, default_value_t = GeneratorArg::Auto)]
    generator: GeneratorArg,
    /// Capture runs: hold the generator to this many million frames per
    /// second (default: as fast as it sends), so that contenders are
    /// compared by what each frame costs the receive core (`core ns/pkt`:
    /// the NAPI thread's and the receiver's CPU time per frame counted) at
    /// the same load, whatever the generator's speed of the moment.
    #[arg(long, value_name = "MPPS")]
    offered_mpps: Option<f64>,
    /// CPU of the receiver (and of the receiving veth's NAPI thread).
    #[arg(long, default_value_t = 1)]
    rx_cpu: usize,
    /// CPU of the sender.
    #[arg(long, default_value_t = 0)]
    tx_cpu: usize,
    /// Another netring binary (e.g. a build of an earlier commit) run
    /// beside this one, interleaved, for before/after ratios: its `replay`
    /// in the replay section, its `capture` and `capture -w` in the
    /// recorder section.
    #[arg(long, value_name = "PATH", alias = "baseline-netring")]
    baseline: Option<std::path::PathBuf>,
    #[command(flatten)]
    report: Report,
}

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// Capture throughput.
    Capture,
    /// Injection throughput.
    Inject,
    /// Replay of a pcap at top speed: netring replay against tcpreplay.
    Replay,
    /// Resident memory of `netring capture`.
    Memory,
    /// `netring capture -w` to a tmpfs against `tcpdump -w` and `dumpcap -w`
    /// (not run by default: ask with `--only recorder`).
    Recorder,
}

/// One contender's runs at one (section, path, size).
struct Cell {
    section: Section,
    path: RxPath,
    size: usize,
    name: &'static str,
    description: String,
    runs: Vec<Outcome>,
    errors: Vec<String>,
    skipped: Option<String>,
}

/// Min, median, max.
fn spread(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
    Some((v[0], mid, v[v.len() - 1]))
}

impl Cell {
    fn median(&self, f: impl Fn(&Outcome) -> f64) -> Option<f64> {
        spread(self.runs.iter().map(f).collect()).map(|s| s.1)
    }

    /// Median CPU % of the receiving veth's NAPI thread (NAPI path only).
    fn napi_cpu_pct(&self) -> Option<f64> {
        self.median(|o| o.kernel_cpu.map_or(f64::NAN, |k| k.as_secs_f64() * 100.0 / o.seconds.max(1e-9)))
            .filter(|k| k.is_finite())
    }
}

/// Run `netring bench`.
pub fn run(mut a: Args) -> Result<ExitCode, Error> {
    crate::privs::require_veth_privileges("netring bench", "builds veth links in new network namespaces")?;
    if a.quick {
        a.reps = 1;
        a.seconds = 0.5;
        a.sizes = vec![64];
    }
    if a.jumbo && !a.sizes.contains(&9000) {
        a.sizes.push(9000);
    }
    let bad = |name, value: String, rule: &str| Err(Error::InvalidConfig { name, value, rule: rule.into() });
    if a.reps == 0 {
        return bad("reps", "0".into(), "must be at least 1");
    }
    if !(a.seconds.is_finite() && (0.1..=600.0).contains(&a.seconds)) {
        return bad("seconds", a.seconds.to_string(), "must be 0.1..=600");
    }
    if let Some(s) = a.sizes.iter().find(|&&s| !(60..=9014).contains(&s)) {
        return bad("sizes", s.to_string(), "frame sizes must be 60..=9014 bytes");
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if a.rx_cpu >= cpus || a.tx_cpu >= cpus || a.rx_cpu == a.tx_cpu {
        return bad("rx_cpu/tx_cpu", format!("{}/{}", a.rx_cpu, a.tx_cpu), "must be two different online CPUs");
    }
    let known: Vec<&str> = capture::contenders(true)
        .iter()
        .map(capture::Rx::name)
        .chain(inject::contenders().iter().map(inject::Tx::name))
        .chain(replay::contenders(a.baseline.as_deref()).iter().map(replay::Player::name))
        .chain(recorder::contenders(true).iter().map(recorder::Rec::name))
        .collect();
    if let Some(unknown) = a.contenders.iter().find(|c| !known.contains(&c.as_str())) {
        return bad("contenders", unknown.clone(), &format!("unknown; known contenders: {}", known.join(", ")));
    }
    // Naming a tuning variant runs it without --tuning.
    let tuning = a.tuning || !a.contenders.is_empty();
    if let Some(m) = a.offered_mpps
        && !(m.is_finite() && m > 0.0 && m <= 100.0)
    {
        return bad("offered-mpps", m.to_string(), "must be > 0 and <= 100");
    }
    let st = Settings {
        seconds: a.seconds,
        rx_cpu: a.rx_cpu,
        tx_cpu: a.tx_cpu,
        generator: a.generator.kind(),
        offered_pps: a.offered_mpps.map(|m| m * 1e6),
    };
    let t0 = Instant::now();
    let wanted = |name: &str| a.contenders.is_empty() || a.contenders.iter().any(|c| c == name);

    // Every (section, path, size, contender), in report order.
    let mut cells: Vec<Cell> = Vec::new();
    for &size in &a.sizes {
        for &path in &a.paths {
            if a.only.contains(&Section::Capture) {
                for rx in capture::contenders(tuning).into_iter().filter(|r| wanted(r.name())) {
                    let skipped = rx.skip_reason(size);
                    let description = rx.describe(path);
                    cells.push(Cell::new(Section::Capture, path, size, rx.name(), description, skipped));
                }
            }
            if a.only.contains(&Section::Inject) {
                for tx in inject::contenders().into_iter().filter(|t| wanted(t.name())) {
                    let skipped = tx.skip_reason(path, size);
                    cells.push(Cell::new(Section::Inject, path, size, tx.name(), tx.describe().into(), skipped));
                }
            }
            if a.only.contains(&Section::Replay) {
                for p in replay::contenders(a.baseline.as_deref()).into_iter().filter(|p| wanted(p.name())) {
                    let skipped = p.skip_reason(path, size);
                    cells.push(Cell::new(Section::Replay, path, size, p.name(), p.describe(), skipped));
                }
            }
            if a.only.contains(&Section::Recorder) {
                for r in recorder::contenders(a.baseline.is_some()).into_iter().filter(|r| wanted(r.name())) {
                    cells.push(Cell::new(Section::Recorder, path, size, r.name(), r.describe(), r.skip_reason()));
                }
            }
        }
    }
    let total = cells.iter().filter(|c| c.skipped.is_none()).count() * a.reps;
    let mut done = 0;
    for rep in 0..a.reps {
        // Interleaved: every contender once per repetition, the order rotated.
        for range in group_ranges(&cells) {
            let (group_start, group_len) = (range.start, range.len());
            for k in 0..group_len {
                let i = group_start + (k + rep) % group_len;
                if cells[i].skipped.is_some() {
                    continue;
                }
                done += 1;
                let c = &cells[i];
                let r = match c.section {
                    Section::Capture => {
                        let rx = capture::contenders(tuning).into_iter().find(|r| r.name() == c.name).expect("listed");
                        capture::run(&rx, c.path, c.size, &st)
                    }
                    Section::Replay => {
                        let p = replay::contenders(a.baseline.as_deref())
                            .into_iter()
                            .find(|p| p.name() == c.name)
                            .expect("listed");
                        replay::run(&p, c.path, c.size, &st)
                    }
                    Section::Recorder => {
                        let r = recorder::contenders(true).into_iter().find(|r| r.name() == c.name).expect("listed");
                        recorder::run(&r, c.path, c.size, &st, a.baseline.as_deref())
                    }
                    _ => {
                        let tx = inject::contenders().into_iter().find(|t| t.name() == c.name).expect("listed");
                        inject::run(&tx, c.path, c.size, &st)
                    }
                };
                if !a.report.quiet {
                    let what = match &r {
                        Ok(o) if c.section != Section::Inject => format!(
                            "{:.3} Mpps, offered {:.3}, loss {:.2}%, CPU {:.0}%",
                            o.pps() / 1e6,
                            o.per_second(o.offered) / 1e6,
                            o.loss_ppm() / 1e4,
                            o.cpu_pct()
                        ),
                        Ok(o) => format!(
                            "{:.3} Mpps, arrived {:.3}, CPU {:.0}%",
                            o.pps() / 1e6,
                            o.per_second(o.at_interface) / 1e6,
                            o.cpu_pct()
                        ),
                        Err(e) => format!("FAILED: {e}"),
                    };
                    eprintln!(
                        "[{done}/{total}] {} {} {} B {} (rep {}/{}): {what}",
                        section_name(c.section),
                        c.path.as_str(),
                        c.size,
                        c.name,
                        rep + 1,
                        a.reps
                    );
                }
                match r {
                    Ok(o) => cells[i].runs.push(o),
                    Err(e) => cells[i].errors.push(e),
                }
            }
        }
    }
    let memory = if a.only.contains(&Section::Memory) {
        if !a.report.quiet {
            eprintln!("memory: resident set of `netring capture` with two ring sizes");
        }
        memory::measure(&st)
    } else {
        Vec::new()
    };

    let text = report_text(&cells, &memory, &a, &st, t0.elapsed().as_secs_f64());
    if a.report.json() {
        eprint!("{text}");
        crate::output::stdout_line(report_json(&cells, &memory, &a, &st, t0.elapsed().as_secs_f64()))?;
    } else {
        crate::output::stdout(&text)?;
    }
    let failed = cells.iter().any(|c| c.skipped.is_none() && c.runs.is_empty());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn section_name(s: Section) -> &'static str {
    match s {
        Section::Capture => "capture",
        Section::Inject => "inject",
        Section::Replay => "replay",
        Section::Memory => "memory",
        Section::Recorder => "recorder",
    }
}

impl Cell {
    fn new(
        section: Section,
        path: RxPath,
        size: usize,
        name: &'static str,
        description: String,
        skipped: Option<String>,
    ) -> Self {
        Self { section, path, size, name, description, runs: Vec::new(), errors: Vec::new(), skipped }
    }
}

/// Index ranges of the runs of cells with one (section, path, size), in order.
fn group_ranges(cells: &[Cell]) -> Vec<std::ops::Range<usize>> {
    let key = |c: &Cell| (c.section, c.path, c.size);
    let mut out = Vec::new();
    let mut start = 0;
    while start < cells.len() {
        let n = cells[start..].iter().take_while(|c| key(c) == key(&cells[start])).count();
        out.push(start..start + n);
        start += n;
    }
    out
}

/// Cells grouped by (section, path, size), in order.
fn groups(cells: &[Cell]) -> Vec<&[Cell]> {
    group_ranges(cells).into_iter().map(|r| &cells[r]).collect()
}

/// The median rate of contender `name` in a group, if it ran.
fn median_of(group: &[Cell], name: &str) -> Option<f64> {
    group.iter().find(|c| c.name == name).and_then(|c| c.median(Outcome::pps))
}

/// The best median rate of a group.
fn best(group: &[Cell]) -> f64 {
    group.iter().filter_map(|c| c.median(Outcome::pps)).fold(0.0, f64::max)
}

fn report_text(cells: &[Cell], memory: &[memory::Row], a: &Args, st: &Settings, secs: f64) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "netring bench: {} repetition(s) x {} s per contender, interleaved; sender on CPU {}, receiver on CPU {}; {}\n",
        a.reps,
        a.seconds,
        st.tx_cpu,
        st.rx_cpu,
        machine_line()
    ));
    for g in groups(cells) {
        let (section, path, size) = (g[0].section, g[0].path, g[0].size);
        let top = best(g);
        let capture_like = section != Section::Inject;
        let mut head = format!("\n{} | {} path | {size}-byte frames", section_name(section), path.as_str());
        if capture_like {
            let offered: Vec<f64> = g.iter().flat_map(|c| c.runs.iter().map(|o| o.per_second(o.offered))).collect();
            if let Some((lo, med, hi)) = spread(offered) {
                head.push_str(&format!(
                    " | generator {}{} offered {:.3} Mpps median ({:.3}..{:.3})",
                    TxKind::generator(st.generator, size).name(),
                    st.offered_pps.map_or(String::new(), |p| format!(" held to {:.3} Mpps", p / 1e6)),
                    med / 1e6,
                    lo / 1e6,
                    hi / 1e6
                ));
            }
        }
        out.push_str(&head);
        out.push('\n');
        let rows: Vec<Vec<String>> = g
            .iter()
            .map(|c| {
                let mut r = vec![c.name.to_string()];
                let blank = |r: &mut Vec<String>, why: String| {
                    r.resize(if capture_like { 10 } else { 8 }, "-".into());
                    r.push(why);
                };
                if let Some(why) = &c.skipped {
                    blank(&mut r, format!("skipped: {why}"));
                    return r;
                }
                let Some((lo, med, hi)) = spread(c.runs.iter().map(Outcome::pps).collect()) else {
                    blank(&mut r, format!("FAILED: {}", c.errors.first().cloned().unwrap_or_default()));
                    return r;
                };
                r.push(format!("{:.3}", med / 1e6));
                r.push(format!("{:.3}..{:.3}", lo / 1e6, hi / 1e6));
                if capture_like {
                    r.push(format!("{:.2}", c.median(Outcome::loss_ppm).unwrap_or(0.0) / 1e4));
                    r.push(format!("{:.0}", c.median(|o| o.drops as f64).unwrap_or(0.0)));
                } else {
                    r.push(format!("{:.3}", c.median(|o| o.per_second(o.at_interface)).unwrap_or(0.0) / 1e6));
                }
                r.push(format!("{:.0}", c.median(Outcome::cpu_pct).unwrap_or(0.0)));
                r.push(format!("{:.0}", c.median(Outcome::cpu_ns_per_packet).unwrap_or(0.0)));
                r.push(c.napi_cpu_pct().map_or("-".into(), |k| format!("{k:.0}")));
                if capture_like {
                    r.push(
                        c.median(Outcome::core_ns_per_packet)
                            .filter(|v| v.is_finite())
                            .map_or("-".into(), |v| format!("{v:.0}")),
                    );
                }
                r.push(format!("{:.2}", med / top.max(1e-9)));
                if !c.errors.is_empty() {
                    r.push(format!("{} failed run(s): {}", c.errors.len(), c.errors[0]));
                }
                r
            })
            .collect();
        let header: &[&str] = if capture_like {
            &[
                "contender",
                "Mpps",
                "min..max",
                "loss %",
                "drops",
                "CPU %",
                "CPU ns/pkt",
                "napi CPU %",
                "core ns/pkt",
                "vs best",
                "",
            ]
        } else {
            &["contender", "Mpps", "min..max", "arrived Mpps", "CPU %", "CPU ns/pkt", "napi CPU %", "vs best", ""]
        };
        out.push_str(&output::table(header, &rows));
        if section == Section::Recorder {
            out.push_str("issue-17 targets (ratios of medians):\n");
            out.push_str(&recorder::targets_text(&recorder::targets(|n| median_of(g, n))));
        }
        if section == Section::Inject {
            out.push_str(&inject::ratios(|name| g.iter().find(|c| c.name == name)?.median(Outcome::pps)));
        }
    }
    let described: Vec<String> = {
        let mut seen = Vec::new();
        for c in cells {
            let line = format!("  {:<22} {}", c.name, c.description);
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
        seen
    };
    if !described.is_empty() {
        out.push_str("\ncontenders:\n");
        out.push_str(&described.join("\n"));
        out.push('\n');
    }
    if !memory.is_empty() {
        out.push_str("\nmemory of `netring capture` (after 1 s of 64-byte frames)\n");
        out.push_str(&memory::table(memory));
    }
    out.push_str(&format!("\n{} runs in {secs:.1} s; medians over repetitions; loss = frames the receiving veth took in (rx_packets) that the contender did not count; CPU % of one core; core ns/pkt = CPU time of the receiving NAPI thread and the receiver per frame counted (NAPI path)\n",
        cells.iter().map(|c| c.runs.len()).sum::<usize>()));
    out
}

fn machine_line() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_default();
    format!("Linux {}, {cpus} CPUs ({model})", kernel.trim())
}

fn int(x: f64) -> Value {
    json!(x.round() as i64)
}

fn report_json(cells: &[Cell], memory: &[memory::Row], a: &Args, st: &Settings, secs: f64) -> Value {
    let mut sections = serde_json::Map::new();
    let mut targets = Vec::new();
    for g in groups(cells).into_iter().filter(|g| g[0].section == Section::Recorder) {
        targets.push(json!({
            "path": g[0].path.as_str(),
            "size": g[0].size,
            "targets": recorder::targets_json(&recorder::targets(|n| median_of(g, n))),
        }));
    }
    for section in [Section::Capture, Section::Inject, Section::Replay, Section::Recorder] {
        let mut rows = Vec::new();
        for g in groups(cells).into_iter().filter(|g| g[0].section == section) {
            let top = best(g);
            for c in g {
                let pps = spread(c.runs.iter().map(Outcome::pps).collect());
                let mut row = json!({
                    "path": c.path.as_str(),
                    "size": c.size,
                    "contender": c.name,
                    "description": c.description,
                    "runs": c.runs.len(),
                    "errors": c.errors,
                    "skipped": c.skipped,
                });
                if let Some((lo, med, hi)) = pps {
                    let m = |f: &dyn Fn(&Outcome) -> f64| int(c.median(f).unwrap_or(0.0));
                    let extra = json!({
                        "pps": {"min": int(lo), "median": int(med), "max": int(hi)},
                        "offered_pps": m(&|o| o.per_second(o.offered)),
                        "at_interface_pps": m(&|o| o.per_second(o.at_interface)),
                        "loss_ppm": m(&Outcome::loss_ppm),
                        "drops": m(&|o| o.drops as f64),
                        "cpu_pct": m(&Outcome::cpu_pct),
                        "cpu_ns_per_packet": m(&Outcome::cpu_ns_per_packet),
                        "napi_cpu_pct": c.napi_cpu_pct().map(int),
                        "core_ns_per_packet": c.median(Outcome::core_ns_per_packet).filter(|v| v.is_finite()).map(int),
                        "ratio_to_best_pct": int(med * 100.0 / top.max(1e-9)),
                        "generator": (section != Section::Inject).then(|| TxKind::generator(st.generator, c.size).name()),
                    });
                    if let (Value::Object(r), Value::Object(e)) = (&mut row, extra) {
                        r.extend(e);
                    }
                }
                rows.push(row);
            }
        }
        sections.insert(section_name(section).into(), Value::Array(rows));
    }
    let tools: serde_json::Map<String, Value> =
        [external::Tool::Tcpdump, external::Tool::NetsniffNg, external::Tool::Trafgen, external::Tool::Tcpreplay]
            .into_iter()
            .map(|t| (t.program().to_owned(), if t.installed() { json!(external::version(t)) } else { Value::Null }))
            .collect();
    json!({
        "machine": machine_line(),
        "tools": tools,
        "settings": {
            "reps": a.reps, "seconds_per_run": a.seconds, "sizes": a.sizes,
            "paths": a.paths.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "rx_cpu": st.rx_cpu, "tx_cpu": st.tx_cpu, "generator": st.generator.map_or("auto", TxKind::name),
            "offered_pps": st.offered_pps.map(int),
        },
        "capture": sections.remove("capture").unwrap_or(Value::Array(vec![])),
        "inject": sections.remove("inject").unwrap_or(Value::Array(vec![])),
        "replay": sections.remove("replay").unwrap_or(Value::Array(vec![])),
        "recorder": sections.remove("recorder").unwrap_or(Value::Array(vec![])),
        "recorder_targets": targets,
        "memory": memory.iter().map(memory::Row::json).collect::<Vec<_>>(),
        "seconds": secs,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn spread_is_min_median_max() {
        assert_eq!(spread(vec![3.0, 1.0, 2.0]), Some((1.0, 2.0, 3.0)));
        assert_eq!(spread(vec![4.0, 1.0]), Some((1.0, 2.5, 4.0)));
        assert_eq!(spread(vec![]), None);
    }

    #[test]
    fn outcome_rates() {
        let o = Outcome {
            packets: 900,
            offered: 1100,
            at_interface: 1000,
            seconds: 2.0,
            cpu: Duration::from_millis(500),
            kernel_cpu: None,
            drops: 0,
        };
        assert_eq!(o.pps(), 450.0);
        assert_eq!(o.loss_ppm(), 100_000.0);
        assert_eq!(o.cpu_pct(), 25.0);
        assert!((o.cpu_ns_per_packet() - 555_555.5).abs() < 1.0);
    }
}
