//! Other tools as contenders: started inside a namespace, pinned to a CPU,
//! awaited until ready, stopped with SIGINT, their own counts parsed.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netring::testkit::End;

/// The tools measured side by side, if installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Tcpdump,
    NetsniffNg,
    Trafgen,
    Tcpreplay,
}

impl Tool {
    /// The executable.
    pub fn program(self) -> &'static str {
        match self {
            Self::Tcpdump => "tcpdump",
            Self::NetsniffNg => "netsniff-ng",
            Self::Trafgen => "trafgen",
            Self::Tcpreplay => "tcpreplay",
        }
    }

    /// Whether the executable is on `PATH` (or in /usr/sbin, /sbin).
    pub fn installed(self) -> bool {
        let path = std::env::var("PATH").unwrap_or_default();
        path.split(':').chain(["/usr/sbin", "/sbin"]).any(|d| std::path::Path::new(d).join(self.program()).is_file())
    }

    /// What readiness looks like on its output.
    fn ready_marker(self) -> Option<&'static str> {
        match self {
            Self::Tcpdump => Some("listening on"),
            Self::NetsniffNg => Some("Running!"),
            Self::Trafgen | Self::Tcpreplay => None,
        }
    }
}

/// A running tool.
pub struct Running {
    program: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    output: Vec<String>,
}

/// Start `tool argv…` inside `end`'s namespace on CPU `cpu` and wait until it
/// says it is ready (at most `ready_within`).
pub fn start(tool: Tool, end: &End, cpu: usize, argv: &[String], ready_within: Duration) -> Result<Running, String> {
    spawn(tool.program(), tool.ready_marker(), end, cpu, argv, ready_within)
}

/// Start `program argv…` inside `end`'s namespace on CPU `cpu`; with a
/// `marker`, wait (at most `ready_within`) for an output line holding it.
pub fn spawn(
    program: &str,
    marker: Option<&str>,
    end: &End,
    cpu: usize,
    argv: &[String],
    ready_within: Duration,
) -> Result<Running, String> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", end.ns.name(), "taskset", "-c", &cpu.to_string(), program])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start {program}: {e}"))?;
    let (tx, lines) = mpsc::channel();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                // Carriage returns and tabs pad netsniff-ng's and trafgen's summaries.
                let l = String::from_utf8_lossy(&line).replace(['\r', '\t'], " ");
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
    }
    let mut run = Running { program: program.to_owned(), child, lines, output: Vec::new() };
    if let Some(marker) = marker {
        let deadline = Instant::now() + ready_within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match run.lines.recv_timeout(left) {
                Ok(l) => {
                    let ready = l.contains(marker);
                    run.output.push(l);
                    if ready {
                        break;
                    }
                }
                Err(_) => {
                    let out = run.output.join(" | ");
                    run.kill();
                    return Err(format!("{program} not ready after {ready_within:?}: {out}"));
                }
            }
        }
    }
    Ok(run)
}

impl Running {
    /// The process id (`ip netns exec` and `taskset` exec the tool in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has ended.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGINT, then wait up to `within` for the exit (SIGKILL after that);
    /// returns every output line.
    pub fn stop(mut self, within: Duration) -> Result<Vec<String>, String> {
        // To every process of the tool: trafgen's workers stop only on their own signal.
        let tree: Vec<String> = netring::testkit::process_tree(self.pid()).iter().map(u32::to_string).collect();
        if !tree.is_empty() {
            let _ = Command::new("kill").arg("-INT").args(&tree).status();
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline && !self.exited() {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !self.exited() {
            self.kill();
            return Err(format!("{} did not exit within {within:?} of SIGINT", self.program));
        }
        // The readers end at EOF, right after the exit.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.output.push(l);
        }
        Ok(self.output)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number before `what` on the first line that has it
/// (`100000 packets captured`, `  5 packets incoming (2 unread on exit)`).
pub fn count_before(lines: &[String], what: &str) -> Option<u64> {
    lines.iter().find_map(|l| {
        let at = l.find(what)?;
        l[..at].split_ascii_whitespace().last()?.parse().ok()
    })
}

/// netsniff-ng's `(N unread on exit)`.
pub fn unread_on_exit(lines: &[String]) -> u64 {
    lines
        .iter()
        .find_map(|l| {
            let at = l.find(" unread on exit")?;
            l[..at].rsplit('(').next()?.trim().parse().ok()
        })
        .unwrap_or(0)
}

/// The tool's version line (first line of `TOOL --version`), for the report.
pub fn version(tool: Tool) -> String {
    let flag = match tool {
        Tool::Tcpdump => "--version",
        Tool::Tcpreplay => "-V",
        _ => "-v",
    };
    Command::new(tool.program())
        .arg(flag)
        .output()
        .ok()
        .map(|o| {
            let all = [o.stdout, o.stderr].concat();
            String::from_utf8_lossy(&all).lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(|l| l.replace(['\r', '\t'], " ")).collect()
    }

    #[test]
    fn tcpdump_summary() {
        let l = lines(
            "tcpdump: listening on x\n100000 packets captured\n100001 packets received by filter\n3 packets dropped by kernel",
        );
        assert_eq!(count_before(&l, "packets captured"), Some(100000));
        assert_eq!(count_before(&l, "packets received by filter"), Some(100001));
        assert_eq!(count_before(&l, "packets dropped by kernel"), Some(3));
    }

    #[test]
    fn netsniff_summary() {
        let l = lines(
            "Running! Hang up with ^C!\n\r      100000  packets incoming (12 unread on exit)\n\r       99990  packets passed filter\n\r          10  packets failed filter (out of space)",
        );
        assert_eq!(count_before(&l, "packets incoming"), Some(100000));
        assert_eq!(count_before(&l, "packets passed filter"), Some(99990));
        assert_eq!(unread_on_exit(&l), 12);
        assert_eq!(count_before(&l, "packets failed filter"), Some(10));
    }
}
