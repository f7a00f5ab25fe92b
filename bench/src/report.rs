//! The report: every figure of the run as JSON, and a Markdown table for people.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Map, Value};

use crate::dataplane::{self, Figures};
use crate::load::Outcome;
use crate::workload::Kind;

/// One scenario's figures.
pub struct ScenarioResult {
    pub kind: Kind,
    pub description: String,
    pub batch: Option<usize>,
    pub outcome: Outcome,
    /// `VmHWM` after the scenario; the scenario's own peak when `peak_rss_reset`.
    pub peak_rss_kib: Option<u64>,
    pub peak_rss_reset: bool,
    pub rss_kib: Option<u64>,
    pub server_cpu_s: Option<f64>,
    pub client_cpu_s: Option<f64>,
    /// (seconds since the scenario started, RSS KiB) when `--rss-every` is set.
    pub rss_samples: Vec<(f64, Option<u64>)>,
    /// The data-plane scenario's own figures (its `outcome` is its set-up rounds through the
    /// endpoint).
    pub data_plane: Option<Figures>,
}

impl ScenarioResult {
    pub fn rps(&self) -> f64 {
        per_second(self.outcome.requests, self.outcome.elapsed.as_secs_f64())
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        self.outcome.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    fn max_ms(&self) -> f64 {
        self.outcome.latency_us.max() as f64 / 1000.0
    }

    pub fn to_json(&self, noop_rps: Option<f64>) -> Value {
        let o = &self.outcome;
        let secs = o.elapsed.as_secs_f64();
        let h = &o.latency_us;
        let statuses: Map<String, Value> = o
            .statuses
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let cpu_ms_per_request = match (self.server_cpu_s, o.requests) {
            (Some(c), n) if n > 0 => Some(c * 1000.0 / n as f64),
            _ => None,
        };
        let mut v = json!({
            "name": self.kind.name(),
            "description": self.description,
            "item": self.kind.item(),
            "batch": self.batch,
            "requests": o.requests,
            "ok": o.ok,
            "errors": {
                "non_2xx": o.non_2xx,
                "transport": o.transport_errors,
                "by_status": statuses,
                "first": o.first_error,
            },
            "reconnects": o.reconnects,
            "elapsed_s": round(secs, 3),
            "rps": round(self.rps(), 1),
            "ok_rps": round(per_second(o.ok, secs), 1),
            "items": o.items,
            "items_per_s": round(per_second(o.items, secs), 1),
            "latency_ms": latency_json(h),
            "server": {
                "peak_rss_kib": self.peak_rss_kib,
                "peak_rss_scope": self.peak_rss_kib
                    .map(|_| if self.peak_rss_reset { "scenario" } else { "process" }),
                "rss_after_kib": self.rss_kib,
                "rss_samples": self.rss_samples.iter()
                    .map(|(t, k)| json!({"t_s": round(*t, 1), "rss_kib": k}))
                    .collect::<Vec<_>>(),
                "cpu_s": self.server_cpu_s.map(|c| round(c, 3)),
                "cpu_ms_per_request": cpu_ms_per_request.map(|c| round(c, 4)),
                "cpu_cores_busy": self.server_cpu_s.map(|c| round(c / secs.max(1e-9), 2)),
            },
            "client": {
                "cpu_s": self.client_cpu_s.map(|c| round(c, 3)),
                "cpu_cores_busy": self.client_cpu_s.map(|c| round(c / secs.max(1e-9), 2)),
            },
            "ratio_to_noop": noop_rps
                .filter(|n| *n > 0.0 && self.data_plane.is_none())
                .map(|n| round(self.rps() / n, 4)),
        });
        if let Some(d) = &self.data_plane {
            v["data_plane"] = d.to_json();
        }
        v
    }
}

pub fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// The latency figures of the JSON report, in milliseconds, from a histogram in microseconds.
pub fn latency_json(h: &hdrhistogram::Histogram<u64>) -> Value {
    let ms = |us: u64| round(us as f64 / 1000.0, 3);
    json!({
        "mean": round(if h.is_empty() { 0.0 } else { h.mean() / 1000.0 }, 3),
        "min": ms(h.min()),
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p99": ms(h.value_at_quantile(0.99)),
        "p99_9": ms(h.value_at_quantile(0.999)),
        "max": ms(h.max()),
    })
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The noop scenario's requests/s, when it ran.
pub fn noop_rps(results: &[ScenarioResult]) -> Option<f64> {
    results
        .iter()
        .find(|r| r.kind == Kind::Noop && r.outcome.requests > 0)
        .map(ScenarioResult::rps)
}

/// The HTTP scenarios (every one but `data-plane`, whose requests are TCP connections).
fn http(results: &[ScenarioResult]) -> impl Iterator<Item = &ScenarioResult> {
    results.iter().filter(|r| r.data_plane.is_none())
}

/// `"update-1 / noop": 0.12, ...` for every HTTP scenario but noop, then `"update-1 / db-sqlite"`
/// (or `db-postgres`) when both ran, then `"data-plane via endpoint / direct"` (bulk MiB/s).
pub fn ratios(results: &[ScenarioResult]) -> Map<String, Value> {
    let mut map = Map::new();
    if let Some(noop) = noop_rps(results).filter(|n| *n > 0.0) {
        for r in http(results).filter(|r| r.kind != Kind::Noop) {
            map.insert(
                format!("{} / noop", r.kind.name()),
                json!(round(r.rps() / noop, 4)),
            );
        }
    }
    for (key, ratio) in db_ratios(results) {
        map.insert(key, json!(round(ratio, 4)));
    }
    for r in results {
        if let Some(ratio) = r.data_plane.as_ref().and_then(Figures::ratio) {
            map.insert(DATA_PLANE_RATIO.into(), json!(round(ratio, 4)));
        }
    }
    map
}

/// The key of the data-plane throughput ratio in `ratios`.
pub const DATA_PLANE_RATIO: &str = "data-plane via endpoint / direct";

/// `("update-1 / db-sqlite", update-1 req/s ÷ db-sqlite req/s)` for every database-alone
/// scenario that ran with update-1: vpcep's single-connection update against the same update
/// done straight on the database.
pub fn db_ratios(results: &[ScenarioResult]) -> Vec<(String, f64)> {
    let Some(update) = results.iter().find(|r| r.kind == Kind::Update1) else {
        return Vec::new();
    };
    results
        .iter()
        .filter(|r| r.kind.is_db() && r.rps() > 0.0)
        .map(|db| {
            (
                format!("{} / {}", update.kind.name(), db.kind.name()),
                update.rps() / db.rps(),
            )
        })
        .collect()
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1}", k as f64 / 1024.0))
        .unwrap_or_else(|| "-".into())
}

/// The Markdown table of a run.
pub fn markdown(title: &str, context: &[String], results: &[ScenarioResult]) -> String {
    let noop = noop_rps(results);
    let mut s = String::new();
    let _ = writeln!(s, "### {title}\n");
    for line in context {
        let _ = writeln!(s, "{line}  ");
    }
    s.push('\n');
    let has_http = http(results).next().is_some();
    if has_http {
        s.push_str(
            "| scenario | requests | req/s | vs noop | items/s | p50 ms | p99 ms | max ms | non-2xx | transport errors | server peak RSS MiB | server CPU ms/req |\n",
        );
        s.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    }
    for r in http(results) {
        let o = &r.outcome;
        let ratio = match noop {
            Some(n) if n > 0.0 && r.kind != Kind::Noop => format!("{:.3}", r.rps() / n),
            Some(_) if r.kind == Kind::Noop => "1".into(),
            _ => "-".into(),
        };
        let items = per_second(o.items, o.elapsed.as_secs_f64());
        let cpu = match (r.server_cpu_s, o.requests) {
            (Some(c), n) if n > 0 => format!("{:.3}", c * 1000.0 / n as f64),
            _ => "-".into(),
        };
        let name = match r.batch {
            Some(b) if r.kind.is_batch() && b != crate::workload::UPDATE_BATCH => {
                format!("{} ({b}/req)", r.kind.name())
            }
            _ => r.kind.name().to_string(),
        };
        let _ = writeln!(
            s,
            "| {name} | {} | {:.0} | {ratio} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {cpu} |",
            o.requests,
            r.rps(),
            items,
            r.quantile_ms(0.5),
            r.quantile_ms(0.99),
            r.max_ms(),
            o.non_2xx,
            o.transport_errors,
            mib(r.peak_rss_kib),
        );
    }
    if let Some(n) = noop.filter(|n| *n > 0.0) {
        let parts: Vec<String> = http(results)
            .filter(|r| r.kind != Kind::Noop)
            .map(|r| format!("{} / noop = {:.3}", r.kind.name(), r.rps() / n))
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(
                s,
                "\nRatios of req/s to noop, measured in this run: {}",
                parts.join(", ")
            );
        }
    }
    let to_db: Vec<String> = db_ratios(results)
        .iter()
        .map(|(key, ratio)| format!("{key} = {ratio:.3}"))
        .collect();
    if !to_db.is_empty() {
        let _ = writeln!(
            s,
            "\nRatios of req/s to the database alone, measured in this run: {}",
            to_db.join(", ")
        );
    }
    for r in http(results) {
        if let Some(e) = &r.outcome.first_error {
            let _ = writeln!(s, "\nFirst error of `{}`: {e}", r.kind.name());
        }
    }
    for r in results {
        if let Some(d) = &r.data_plane {
            if has_http {
                s.push('\n');
            }
            data_plane_section(&mut s, r, d);
        }
    }
    s
}

/// The data-plane scenario's rows: each figure via the endpoint, straight to the backend, and
/// against the target.
fn data_plane_section(s: &mut String, r: &ScenarioResult, d: &Figures) {
    let yes_no = |b: bool| if b { "met" } else { "NOT met" };
    let cores = |c: Option<f64>, secs: std::time::Duration| {
        c.map(|c| format!("{:.2}", c / secs.as_secs_f64().max(1e-9)))
            .unwrap_or_else(|| "-".into())
    };
    let _ = writeln!(
        s,
        "#### Data plane (`{}`): TCP via endpoint {} (--data-plane-cidr {}, tcp_proxy proxy_open) to backend {}, forwarding {:.0} ms after CreateEndpoint\n",
        r.kind.name(),
        d.endpoint,
        d.cidr,
        d.backend,
        d.forwarding_after.as_secs_f64() * 1000.0,
    );
    s.push_str("| data plane | via endpoint | direct to backend | via / direct | target |\n");
    s.push_str("|---|--:|--:|--:|---|\n");
    let (bv, bd) = (&d.bulk_via, &d.bulk_direct);
    let ratio = d.ratio();
    let _ = writeln!(
        s,
        "| bulk MiB/s ({} streams, {} KiB writes) | {:.1} | {:.1} | {} | via / direct ≥ {}: {} |",
        d.streams,
        dataplane::BULK_BUFFER / 1024,
        bv.mib_per_s(),
        bd.mib_per_s(),
        ratio.map_or("-".to_string(), |x| format!("{x:.3}")),
        dataplane::TARGET_RATIO,
        ratio.map_or("-", |x| yes_no(x >= dataplane::TARGET_RATIO)),
    );
    let (sv, sd) = (&d.setup_via, &d.setup_direct);
    let per = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.3}", a / b)
        } else {
            "-".into()
        }
    };
    let _ = writeln!(
        s,
        "| connects/s ({} clients: connect, 1-byte echo, close) | {:.0} | {:.0} | {} | |",
        d.clients,
        sv.per_s(),
        sd.per_s(),
        per(sv.per_s(), sd.per_s()),
    );
    for (label, q) in [("p50", 0.5), ("p99", 0.99)] {
        let target = if q == 0.99 {
            format!(
                "via ≤ {} ms: {}",
                dataplane::TARGET_P99_MS,
                if sv.rounds > 0 {
                    yes_no(sv.quantile_ms(q) <= dataplane::TARGET_P99_MS)
                } else {
                    "-"
                }
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| set-up latency {label} ms | {:.2} | {:.2} | {} | {target} |",
            sv.quantile_ms(q),
            sd.quantile_ms(q),
            per(sv.quantile_ms(q), sd.quantile_ms(q)),
        );
    }
    let _ = writeln!(
        s,
        "| set-up latency max ms | {:.2} | {:.2} | | |",
        sv.max_ms(),
        sd.max_ms(),
    );
    let _ = writeln!(s, "| set-up rounds | {} | {} | | |", sv.rounds, sd.rounds);
    let _ = writeln!(
        s,
        "| errors (bulk + set-up) | {} | {} | | |",
        bv.flow.errors + sv.flow.errors + bv.flow.backend_errors + sv.flow.backend_errors,
        bd.flow.errors + sd.flow.errors + bd.flow.backend_errors + sd.flow.backend_errors,
    );
    let _ = writeln!(
        s,
        "| server CPU cores busy (bulk / set-up) | {} / {} | {} / {} | | |",
        cores(bv.flow.server_cpu_s, bv.flow.elapsed),
        cores(sv.flow.server_cpu_s, sv.flow.elapsed),
        cores(bd.flow.server_cpu_s, bd.flow.elapsed),
        cores(sd.flow.server_cpu_s, sd.flow.elapsed),
    );
    let _ = writeln!(s, "| server peak RSS MiB | {} | | | |", mib(r.peak_rss_kib));
    let problems = d.problems();
    if problems.is_empty() {
        let _ = writeln!(
            s,
            "\nEvery backend connection via the endpoint began with a Proxy Protocol v2 header, no direct one did; no errors."
        );
    } else {
        let _ = writeln!(s, "\nData-plane problems: {}", problems.join("; "));
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// What machine this ran on.
pub fn machine() -> Value {
    let cpu_model = read("/proc/cpuinfo").and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let mem_total_kib = read("/proc/meminfo").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu_model": cpu_model,
        "mem_total_kib": mem_total_kib,
        "kernel": read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

/// `/proc/loadavg`'s three averages.
pub fn loadavg() -> Value {
    read("/proc/loadavg")
        .map(|t| {
            let v: Vec<f64> = t
                .split_whitespace()
                .take(3)
                .filter_map(|x| x.parse().ok())
                .collect();
            json!(v)
        })
        .unwrap_or(Value::Null)
}

/// The commit of the working directory's repository, and whether tracked files differ from it.
pub fn git() -> Value {
    let run = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) => json!({
            "commit": commit,
            "dirty": run(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty()),
        }),
        None => Value::Null,
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Path, size and modification time of a file.
pub fn file_info(path: &Path) -> Value {
    let meta = std::fs::metadata(path).ok();
    let modified = meta.as_ref().and_then(|m| m.modified().ok()).map(|t| {
        time::OffsetDateTime::from(t)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    });
    json!({
        "path": path.display().to_string(),
        "bytes": meta.map(|m| m.len()),
        "modified": modified,
    })
}
