//! `vpcep-bench`: starts a vpcep server on a fresh database, seeds it, runs closed-loop load
//! scenarios against it, measures the database alone doing the same single-row update (the
//! ceiling that `update-1` is compared with), and reports requests/s, latencies, errors and the
//! server's memory as a Markdown table (stdout) and a JSON file. See `bench/README.md`.

mod dataplane;
mod db;
mod load;
mod report;
mod seed;
mod server;
mod sign;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use serde_json::json;

use crate::load::INTERRUPTED;
use crate::report::ScenarioResult;
use crate::server::Server;
use crate::workload::{AuthMode, Data, Kind, Pick, Workload};

/// Benchmark harness of the vpcep server.
#[derive(Parser, Debug)]
#[command(name = "vpcep-bench", version, about)]
struct Args {
    /// The vpcep binary to start [default: <target dir>/release/vpcep]
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,

    /// Run on PostgreSQL: a server URL (postgres://user@host:port); the harness creates its own
    /// uniquely named database there and drops it at the end. Default: SQLite in a temp dir.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,

    /// Endpoint services to seed [default: 10; smoke 1]
    #[arg(long, value_name = "N")]
    services: Option<usize>,

    /// Connections (endpoints) to seed, spread evenly over the services [default: 1000; smoke 100]
    #[arg(long, value_name = "M")]
    connections: Option<usize>,

    /// Concurrent keep-alive clients [default: 32; smoke 4]
    #[arg(long, value_name = "C")]
    clients: Option<usize>,

    /// Measured time per scenario, e.g. 10s, 500ms, 10 [default: 10s; smoke 1s]
    #[arg(long, value_name = "T", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Unmeasured warm-up per scenario, on the same connections [default: 2s; smoke 200ms]
    #[arg(long, value_name = "T", value_parser = parse_duration)]
    warmup: Option<Duration>,

    /// Scenarios to run, comma-separated; they always run in this order (`db` is `db-sqlite`, or
    /// `db-postgres` with --postgres). Not in the default list: `data-plane`, TCP through an
    /// endpoint (the server then runs with --data-plane; bulk MiB/s and connection set-up
    /// latency via the endpoint and straight to the backend; not with `create`)
    #[arg(
        long,
        value_parser = workload::pick_parser(),
        value_delimiter = ',',
        default_value = "noop,update-1,db,update-100,update-100-spread,list,list-id,create"
    )]
    scenarios: Vec<Pick>,

    /// Authentication of the /v1 requests
    #[arg(long, value_enum, default_value = "aksk")]
    auth: AuthMode,

    /// The JSON report; the server's log goes next to it (`<name>.server.log`)
    #[arg(long, value_name = "PATH", default_value = "target/bench/report.json")]
    out: PathBuf,

    /// Tiny data and short scenarios: checks that everything works, measures nothing useful
    #[arg(long)]
    smoke: bool,

    /// Sample the server's RSS at this interval during every scenario (e.g. 30s); the samples go
    /// into the report, and their first, last and highest values are printed
    #[arg(long, value_name = "T", value_parser = parse_duration)]
    rss_every: Option<Duration>,

    /// Soak: `update-1` for 10 minutes (or --duration) with RSS sampled every 30 s (or
    /// --rss-every), to show that memory stays flat under sustained writes
    #[arg(long)]
    soak: bool,

    /// Worker threads of the load generator [default: the number of cores]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// `create`: rotate over this many consumer VPCs; 0 makes a fresh VPC for every request
    #[arg(long, value_name = "N", default_value_t = 0)]
    create_vpcs: usize,

    /// The server's log filter (VPCEP_LOG)
    #[arg(long, value_name = "FILTER", default_value = "info")]
    server_log: String,

    /// An extra argument for `vpcep serve` (repeatable), e.g. --server-arg=--max-batch=1000
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// Where the temporary SQLite database goes [default: the system temp dir]
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,

    /// Keep the temporary folder (SQLite database) instead of deleting it
    #[arg(long)]
    keep: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 10s, 500ms, 10)"))
}

/// The settled configuration of a run.
struct Config {
    server_bin: PathBuf,
    services: usize,
    connections: usize,
    clients: usize,
    duration: Duration,
    warmup: Duration,
    scenarios: Vec<Kind>,
    rss_every: Option<Duration>,
    threads: usize,
}

impl Config {
    fn new(a: &Args) -> Result<Config> {
        let smoke = a.smoke;
        let pick = |v: Option<usize>, normal: usize, small: usize| {
            v.unwrap_or(if smoke { small } else { normal })
        };
        let server_bin = match &a.server_bin {
            Some(p) => p.clone(),
            None => server::default_binary(smoke)?,
        };
        ensure!(
            server_bin.is_file(),
            "no server binary at {}",
            server_bin.display()
        );
        let server_bin = server_bin.canonicalize()?;
        let mut scenarios = if a.soak {
            vec![Kind::Update1]
        } else {
            a.scenarios
                .iter()
                .map(|p| p.resolve(a.postgres.is_some()))
                .collect::<Result<Vec<Kind>>>()?
        };
        scenarios.sort();
        scenarios.dedup();
        let c = Config {
            server_bin,
            services: pick(a.services, 10, 1),
            connections: pick(a.connections, 1000, 100),
            clients: pick(a.clients, 32, 4),
            duration: a.duration.unwrap_or(if smoke {
                Duration::from_secs(1)
            } else if a.soak {
                Duration::from_secs(600)
            } else {
                Duration::from_secs(10)
            }),
            warmup: a.warmup.unwrap_or(if smoke {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(2)
            }),
            scenarios,
            rss_every: a.rss_every.or(a.soak.then_some(Duration::from_secs(30))),
            threads: a.threads.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            }),
        };
        ensure!(c.services >= 1, "--services must be at least 1");
        ensure!(
            c.connections >= c.services,
            "--connections ({}) must be at least --services ({}): every service gets connections",
            c.connections,
            c.services
        );
        ensure!(c.clients >= 1, "--clients must be at least 1");
        ensure!(c.threads >= 1, "--threads must be at least 1");
        ensure!(!c.duration.is_zero(), "--duration must be positive");
        ensure!(!c.scenarios.is_empty(), "no scenario selected");
        ensure!(
            !(c.scenarios.contains(&Kind::DataPlane) && c.scenarios.contains(&Kind::Create)),
            "`data-plane` and `create` need separate runs: with --data-plane every endpoint's \
             address comes from the one --data-plane-cidr block the harness gives the server (a \
             /24), which `create` would use up, and under one lock, which changes what `create` \
             measures"
        );
        Ok(c)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpcep-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted");
    }
    Ok(())
}

fn description(kind: Kind, data: &Data, create_vpcs: usize) -> String {
    match kind {
        Kind::Noop => "GET / (ListVersionDetails): no authentication, no database".into(),
        Kind::Update1 => "PUT .../connections/description with 1 connection per request, ids \
                          rotating over every seeded connection (so over the services), a new \
                          description each time"
            .into(),
        Kind::DbSqlite => db_description(
            "SQLite",
            "a copy of the seeded file, WAL, synchronous=FULL, busy_timeout 5 s, one thread and \
             connection per client",
        ),
        Kind::DbPostgres => db_description(
            "PostgreSQL",
            "the run's database (vpcep idle), one connection and prepared statement per client",
        ),
        Kind::Update100 => format!(
            "PUT .../connections/description with {} connections of one service per request, \
             rotating over services and blocks of connections, new descriptions each time",
            data.update_batch()
        ),
        Kind::Update100Spread => format!(
            "PUT .../connections/description with all {} connections of one service per request, \
             each client always its own service ({} extra services seeded, one per client), so no \
             two requests in flight share a row; new descriptions each time",
            workload::UPDATE_BATCH,
            data.spread_services.len()
        ),
        Kind::List => "GET .../connections?limit=1000 (ListServiceConnections), rotating over \
                       services"
            .into(),
        Kind::ListId => "GET .../connections?id=<endpoint id>&limit=1000, rotating over every \
                         seeded connection"
            .into(),
        Kind::DataPlane => "TCP through an endpoint of `vpcep serve --data-plane` (service ip \
                            127.0.0.1, tcp_proxy proxy_open, the backend inside the harness) \
                            against straight to the backend"
            .into(),
        Kind::Create => format!(
            "POST /v1/{{consumer project}}/vpc-endpoints (CreateEndpoint) to a service with \
             approval disabled, {}",
            if create_vpcs == 0 {
                "a fresh VPC per request".to_string()
            } else {
                format!("rotating over {create_vpcs} VPCs")
            }
        ),
    }
}

/// The description of a database-alone scenario.
fn db_description(database: &str, how: &str) -> String {
    format!(
        "{database} alone, no vpcep: each client repeats UPDATE endpoints SET \
         connection_description = ?, updated_at = ? WHERE id = ? in autocommit on rows of its own \
         (the seeded connections, rotating); {how}"
    )
}

fn run(args: &Args) -> Result<()> {
    let cfg = Config::new(args)?;
    let started_at = report::now_rfc3339();
    let load_start = report::loadavg();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.threads)
        .enable_all()
        .thread_name("bench")
        .build()?;
    rt.spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("vpcep-bench: interrupted, cleaning up");
            INTERRUPTED.store(true, Ordering::Relaxed);
        }
    });

    // Where the database lives.
    let work_parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_parent)?;
    let work = tempfile::Builder::new()
        .prefix("vpcep-bench-")
        .tempdir_in(&work_parent)
        .context("cannot make a temp dir")?;
    let sqlite_path = work.path().join("vpcep.db");
    let pg = match &args.postgres {
        Some(base) => Some(rt.block_on(seed::PgDatabase::create(base))?),
        None => None,
    };
    let (backend, db_url) = match &pg {
        Some(p) => ("postgres", p.url.clone()),
        None => ("sqlite", format!("sqlite://{}", sqlite_path.display())),
    };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    }
    let log_path = args.out.with_extension("server.log");
    std::fs::write(&log_path, "")
        .with_context(|| format!("cannot write {}", log_path.display()))?;
    eprintln!(
        "vpcep-bench: {} on {backend} ({}), {} services, {} connections, {} clients, {:?} + {:?} warm-up per scenario, auth {}",
        cfg.server_bin.display(),
        seed::redact(&db_url),
        cfg.services,
        cfg.connections,
        cfg.clients,
        cfg.duration,
        cfg.warmup,
        args.auth.name(),
    );

    // Seeding, part 1: credentials (CLI), services and one connection each (API).
    let t_api = Instant::now();
    let bin = &cfg.server_bin;
    let owner = server::create_credential(bin, &db_url, &["--name", "bench-owner"])?;
    let consumer = server::create_credential(
        bin,
        &db_url,
        &["--name", "bench-consumer", "--domain-id", &owner.domain_id],
    )?;
    let startup = Duration::from_secs(120);
    let api = {
        let mut setup = Server::start(
            bin,
            &db_url,
            &log_path,
            &args.server_log,
            &args.server_args,
            startup,
        )?;
        let spread = if cfg.scenarios.contains(&Kind::Update100Spread) {
            cfg.clients
        } else {
            0
        };
        let api = rt.block_on(seed::api_setup(
            setup.addr,
            &owner,
            &consumer,
            cfg.services,
            spread,
        ))?;
        let status = setup.stop(Duration::from_secs(60))?;
        ensure!(status.success(), "the setup server exited with {status}");
        api
    };
    let api_seconds = t_api.elapsed().as_secs_f64();
    check_interrupted()?;

    // Part 2: the other connections, straight into the database; the spread services get
    // UPDATE_BATCH connections each.
    let spread = api.spread_services.len();
    let spread_total = spread * workload::UPDATE_BATCH;
    let mut connections = api.connections.clone();
    connections.reserve(cfg.connections - connections.len());
    let mut spread_connections = api.spread_connections.clone();
    let direct = {
        let template = api.connections[0].to_string();
        let mut parts = vec![seed::Part {
            plan: seed::Plan {
                services: &api.services,
                first: cfg.services,
                total: cfg.connections,
                template: template.clone(),
            },
            ids: &mut connections,
        }];
        if spread > 0 {
            parts.push(seed::Part {
                plan: seed::Plan {
                    services: &api.spread_services,
                    first: spread,
                    total: spread_total,
                    template,
                },
                ids: &mut spread_connections,
            });
        }
        eprintln!(
            "vpcep-bench: seeding {} connections directly",
            cfg.connections - cfg.services + spread_total - spread
        );
        match &pg {
            Some(p) => rt.block_on(seed::postgres(&p.url, &mut parts))?,
            None => seed::sqlite(&sqlite_path, &mut parts)?,
        }
    };
    ensure!(connections.len() == cfg.connections, "seeded a wrong count");
    ensure!(
        spread_connections.len() == spread_total,
        "seeded a wrong count of spread connections"
    );
    check_interrupted()?;
    let db_target = db_target(&cfg, pg.as_ref(), &sqlite_path, work.path())?;

    // The server under test; with the data-plane scenario it serves the data plane too, on a
    // block of addresses of its own (unless --server-arg gives one).
    let data_plane_cidr = cfg
        .scenarios
        .contains(&Kind::DataPlane)
        .then(|| dataplane::given_cidr(&args.server_args).unwrap_or_else(dataplane::pick_cidr));
    let mut serve_args = args.server_args.clone();
    if let Some(cidr) = &data_plane_cidr {
        serve_args.extend(server::data_plane_args(&args.server_args, cidr));
    }
    let mut srv = Server::start(
        bin,
        &db_url,
        &log_path,
        &args.server_log,
        &serve_args,
        startup,
    )?;
    let idle = srv.memory();
    let data = Arc::new(Data {
        host: srv.addr.to_string(),
        owner,
        consumer,
        services: api.services.clone(),
        connections,
        create_service: api.create_service.clone(),
        spread_services: api.spread_services.clone(),
        spread_connections,
    });
    eprintln!("vpcep-bench: server pid {} on {}", srv.pid, srv.addr);

    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut process_peak = idle.hwm_kib;
    for &kind in &cfg.scenarios {
        check_interrupted()?;
        if kind.is_db() {
            let target = db_target
                .as_ref()
                .context("no database for the database-alone scenario")?;
            let result = db_scenario(kind, target, &rt, &cfg, &data, args.create_vpcs)?;
            print_progress(&result);
            results.push(result);
            continue;
        }
        if kind.is_data_plane() {
            let cidr = data_plane_cidr
                .as_deref()
                .context("the server was started without --data-plane")?;
            let result = data_plane_scenario(kind, &srv, &rt, &cfg, &data, cidr)?;
            process_peak = process_peak.max(result.peak_rss_kib);
            print_progress(&result);
            results.push(result);
            continue;
        }
        let workload = Arc::new(Workload::new(
            kind,
            data.clone(),
            args.auth,
            args.create_vpcs,
        ));
        rt.block_on(load::preflight(&workload, srv.addr))?;
        process_peak = process_peak.max(srv.memory().hwm_kib);
        let reset = srv.reset_peak_rss();
        let server_cpu0 = srv.cpu_seconds();
        let client_cpu0 = server::cpu_seconds("/proc/self/stat");
        // RSS samples while the scenario runs (soak mode), from a thread of their own.
        let sampling = cfg.rss_every.map(|every| {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (pid, stop2) = (srv.pid, stop.clone());
            let handle = std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut samples: Vec<(f64, Option<u64>)> = Vec::new();
                let mut next = std::time::Instant::now();
                while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    if std::time::Instant::now() >= next {
                        let rss = server::Memory::of(pid).rss_kib;
                        samples.push((started.elapsed().as_secs_f64(), rss));
                        next += every;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                samples.push((
                    started.elapsed().as_secs_f64(),
                    server::Memory::of(pid).rss_kib,
                ));
                samples
            });
            (stop, handle)
        });
        let outcome = rt.block_on(load::run(
            workload.clone(),
            srv.addr,
            cfg.clients,
            cfg.warmup,
            cfg.duration,
        ));
        let rss_samples = match sampling {
            Some((stop, handle)) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                handle.join().unwrap_or_default()
            }
            None => Vec::new(),
        };
        if let (Some(first), Some(last)) = (rss_samples.first(), rss_samples.last()) {
            let max = rss_samples.iter().filter_map(|s| s.1).max();
            let mib =
                |k: Option<u64>| k.map_or("?".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
            eprintln!(
                "vpcep-bench: {:<17} RSS MiB: first {} at {:.0} s, last {} at {:.0} s, highest {} ({} samples)",
                kind.name(),
                mib(first.1),
                first.0,
                mib(last.1),
                last.0,
                mib(max),
                rss_samples.len()
            );
        }
        let server_cpu1 = srv.cpu_seconds();
        let client_cpu1 = server::cpu_seconds("/proc/self/stat");
        let mem = srv.memory();
        process_peak = process_peak.max(mem.hwm_kib);
        let share = measured_share(cfg.warmup, outcome.elapsed);
        let diff = |a, b| cpu_diff(a, b, share);
        let result = ScenarioResult {
            kind,
            description: description(kind, &data, args.create_vpcs),
            batch: kind.is_batch().then(|| workload.batch()),
            peak_rss_kib: mem.hwm_kib,
            peak_rss_reset: reset,
            rss_kib: mem.rss_kib,
            server_cpu_s: diff(server_cpu0, server_cpu1),
            client_cpu_s: diff(client_cpu0, client_cpu1),
            rss_samples,
            outcome,
            data_plane: None,
        };
        print_progress(&result);
        results.push(result);
    }
    check_interrupted()?;
    let exit = srv.stop(Duration::from_secs(60));
    let exit_text = match &exit {
        Ok(s) => s.to_string(),
        Err(e) => format!("{e:#}"),
    };
    let log = server::summarize_log(&log_path);

    // The report.
    let noop = report::noop_rps(&results);
    let finished_at = report::now_rfc3339();
    let mut report = json!({
        "tool": "vpcep-bench",
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": started_at,
        "finished_at": finished_at,
        "command": std::env::args().map(|a| redact_arg(&a)).collect::<Vec<_>>(),
        "machine": report::machine(),
        "load_average": {"start": load_start, "end": report::loadavg()},
        "git": report::git(),
        "smoke": args.smoke,
        "config": {
            "backend": backend,
            "database": seed::redact(&db_url),
            "services": cfg.services,
            "connections": cfg.connections,
            "clients": cfg.clients,
            "client_threads": cfg.threads,
            "duration_s": cfg.duration.as_secs_f64(),
            "warmup_s": cfg.warmup.as_secs_f64(),
            "auth": args.auth.name(),
            "scenarios": cfg.scenarios.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "update_batch": data.update_batch(),
            "spread_services": spread,
            "list_limit": workload::LIST_LIMIT,
            "create_vpcs": args.create_vpcs,
            "server_args": args.server_args,
            "server_log_filter": args.server_log,
        },
        "server": {
            "binary": report::file_info(&cfg.server_bin),
            "pid": srv.pid,
            "rss_idle_kib": idle.rss_kib,
            "peak_rss_kib": process_peak,
            "exit": exit_text,
            "log": {
                "path": log_path.display().to_string(),
                "lines": log.lines,
                "warn": log.warn,
                "error": log.error,
                "samples": log.samples,
            },
        },
        "seed": {
            "services_via_api": api.services.len() + 1 + spread,
            "connections_via_api": api.connections.len() + spread,
            "spread_connections": data.spread_connections.len(),
            "connections_direct": direct.rows,
            "direct_transactions": direct.transactions,
            "api_seconds": report::round(api_seconds, 3),
            "direct_seconds": report::round(direct.seconds, 3),
            "maintenance_seconds": report::round(direct.maintenance_seconds, 3),
            "connections_per_service": data.per_service(0),
        },
        "scenarios": results.iter().map(|r| r.to_json(noop)).collect::<Vec<_>>(),
        "ratios": report::ratios(&results),
    });
    if let Some(cidr) = &data_plane_cidr {
        report["config"]["data_plane_cidr"] = json!(cidr);
        report["config"]["data_plane_server_args"] = json!(&serve_args[args.server_args.len()..]);
    }
    write_report(&args.out, &report)?;

    let title = format!(
        "vpcep-bench{}: {backend}, {} services, {} connections, {} clients, {} s per scenario, auth {}",
        if args.smoke { " (smoke)" } else { "" },
        cfg.services,
        cfg.connections,
        cfg.clients,
        cfg.duration.as_secs_f64(),
        args.auth.name(),
    );
    let git = report["git"]["commit"]
        .as_str()
        .map(|c| {
            let dirty = report["git"]["dirty"].as_bool() == Some(true);
            format!(
                "{}{}",
                &c[..c.len().min(12)],
                if dirty { " (dirty)" } else { "" }
            )
        })
        .unwrap_or_else(|| "-".into());
    let mut context = vec![
        format!(
            "{finished_at}, {} cores ({}), git {git}, load average {} at start",
            report["machine"]["cores"],
            report["machine"]["cpu_model"].as_str().unwrap_or("?"),
            load_start
        ),
        format!(
            "server {}, {:.1} MiB RSS idle, peak {} MiB; log: {} lines, {} WARN, {} ERROR; exit: {exit_text}",
            cfg.server_bin.display(),
            idle.rss_kib.unwrap_or(0) as f64 / 1024.0,
            process_peak.map(|k| format!("{:.1}", k as f64 / 1024.0)).unwrap_or("-".into()),
            log.lines,
            log.warn,
            log.error,
        ),
        format!(
            "{} + {:.1} s warm-up per scenario; update-100 sends {} connections per request; report {}",
            cfg.duration.as_secs_f64(),
            cfg.warmup.as_secs_f64(),
            data.update_batch(),
            args.out.display(),
        ),
    ];
    if spread > 0 {
        context.push(format!(
            "update-100-spread: {spread} more services of {} connections each, one per client",
            workload::UPDATE_BATCH
        ));
    }
    println!("{}", report::markdown(&title, &context, &results));

    if args.keep {
        let kept = work.keep();
        eprintln!("vpcep-bench: kept {}", kept.display());
    }
    exit.map(|_| ())
        .context("the server did not stop cleanly after the run")?;
    drop(pg);
    Ok(())
}

/// Where `db-sqlite` or `db-postgres` runs, when one was asked for: the run's PostgreSQL
/// database, or a copy of the seeded SQLite file made now, before the server under test opens it.
fn db_target(
    cfg: &Config,
    pg: Option<&seed::PgDatabase>,
    sqlite_path: &Path,
    work: &Path,
) -> Result<Option<db::Target>> {
    if !cfg.scenarios.iter().any(|k| k.is_db()) {
        return Ok(None);
    }
    Ok(Some(match pg {
        Some(p) => db::Target::Postgres(p.url.clone()),
        None => {
            let copy = work.join("db-alone.db");
            db::copy_sqlite(sqlite_path, &copy).context("the database for `db-sqlite`")?;
            db::Target::Sqlite(copy)
        }
    }))
}

/// A database-alone scenario, run while the server is idle: no server figures, only the
/// harness's own CPU (for SQLite that is the database's work too).
fn db_scenario(
    kind: Kind,
    target: &db::Target,
    rt: &tokio::runtime::Runtime,
    cfg: &Config,
    data: &Data,
    create_vpcs: usize,
) -> Result<ScenarioResult> {
    let client_cpu0 = server::cpu_seconds("/proc/self/stat");
    let outcome = db::run(
        target,
        rt,
        &data.connections,
        cfg.clients,
        cfg.warmup,
        cfg.duration,
    )?;
    let client_cpu1 = server::cpu_seconds("/proc/self/stat");
    let share = measured_share(cfg.warmup, outcome.elapsed);
    Ok(ScenarioResult {
        kind,
        description: description(kind, data, create_vpcs),
        batch: None,
        peak_rss_kib: None,
        peak_rss_reset: false,
        rss_kib: None,
        server_cpu_s: None,
        client_cpu_s: cpu_diff(client_cpu0, client_cpu1, share),
        rss_samples: Vec::new(),
        outcome,
        data_plane: None,
    })
}

/// The data-plane scenario, on the server under test (started with --data-plane). The common
/// figures of the report are those of the connection set-up rounds through the endpoint (its
/// server CPU too); the rest goes to `data_plane`.
fn data_plane_scenario(
    kind: Kind,
    srv: &Server,
    rt: &tokio::runtime::Runtime,
    cfg: &Config,
    data: &Data,
    cidr: &str,
) -> Result<ScenarioResult> {
    let reset = srv.reset_peak_rss();
    let params = dataplane::Params {
        api: srv.addr,
        server_pid: srv.pid,
        cidr: cidr.to_string(),
        streams: cfg.clients.min(dataplane::MAX_STREAMS),
        clients: cfg.clients,
        warmup: cfg.warmup,
        duration: cfg.duration,
    };
    let figures = rt
        .block_on(dataplane::run(&params, &data.owner, &data.consumer))
        .context("the data-plane scenario")?;
    let mem = srv.memory();
    let description = format!(
        "{} (--data-plane-cidr {cidr}): {} streams writing {} KiB buffers, bytes counted where \
         the backend reads them; then {} loops of connect, write a byte, read its echo, close \
         (requests and latency here are those rounds through the endpoint); each path {:?} + \
         {:?} warm-up",
        description(kind, data, 0),
        params.streams,
        dataplane::BULK_BUFFER / 1024,
        params.clients,
        cfg.duration,
        cfg.warmup,
    );
    Ok(ScenarioResult {
        kind,
        description,
        batch: None,
        peak_rss_kib: mem.hwm_kib,
        peak_rss_reset: reset,
        rss_kib: mem.rss_kib,
        server_cpu_s: figures.setup_via.flow.server_cpu_s,
        // The harness's CPU includes the backend's: not a load-generator figure here.
        client_cpu_s: None,
        rss_samples: Vec::new(),
        outcome: figures.outcome(),
        data_plane: Some(figures),
    })
}

/// The measured part of a scenario's time: CPU is read over the warm-up too, then scaled.
fn measured_share(warmup: Duration, elapsed: Duration) -> f64 {
    let whole = (warmup + elapsed).as_secs_f64();
    if whole > 0.0 {
        elapsed.as_secs_f64() / whole
    } else {
        1.0
    }
}

/// CPU seconds between two readings, scaled by `share`.
fn cpu_diff(before: Option<f64>, after: Option<f64>, share: f64) -> Option<f64> {
    match (before, after) {
        (Some(a), Some(b)) => Some((b - a) * share),
        _ => None,
    }
}

/// One line on stderr when a scenario is done.
fn print_progress(r: &ScenarioResult) {
    if let Some(d) = &r.data_plane {
        eprintln!(
            "vpcep-bench: {:<17} bulk {:.1} MiB/s via endpoint, {:.1} direct (ratio {}); set-up p50 {:.2}/{:.2} ms, p99 {:.2}/{:.2} ms via/direct; {} problems",
            r.kind.name(),
            d.bulk_via.mib_per_s(),
            d.bulk_direct.mib_per_s(),
            d.ratio().map_or("-".to_string(), |x| format!("{x:.3}")),
            d.setup_via.quantile_ms(0.5),
            d.setup_direct.quantile_ms(0.5),
            d.setup_via.quantile_ms(0.99),
            d.setup_direct.quantile_ms(0.99),
            d.problems().len(),
        );
        return;
    }
    eprintln!(
        "vpcep-bench: {:<17} {:>8} requests {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  errors {}+{}",
        r.kind.name(),
        r.outcome.requests,
        r.rps(),
        r.outcome.latency_us.value_at_quantile(0.5) as f64 / 1000.0,
        r.outcome.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
        r.outcome.non_2xx,
        r.outcome.transport_errors,
    );
}

/// A command-line argument without a database password.
fn redact_arg(arg: &str) -> String {
    match arg.split_once('=') {
        Some((flag, url)) if flag.starts_with("--") => format!("{flag}={}", seed::redact(url)),
        _ => seed::redact(arg),
    }
}

fn write_report(path: &Path, report: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_take_names_and_db() {
        let a = Args::try_parse_from(["vpcep-bench", "--scenarios", "db,update-100-spread,noop"])
            .expect("valid arguments");
        assert_eq!(
            a.scenarios,
            [
                Pick::Db,
                Pick::One(Kind::Update100Spread),
                Pick::One(Kind::Noop)
            ]
        );
        assert!(Args::try_parse_from(["vpcep-bench", "--scenarios", "nope"]).is_err());
        let default = Args::try_parse_from(["vpcep-bench"]).expect("no arguments");
        assert!(default.scenarios.contains(&Pick::Db));
        assert!(
            !default.scenarios.contains(&Pick::One(Kind::DataPlane)),
            "data-plane is not a default scenario"
        );
        let a = Args::try_parse_from(["vpcep-bench", "--scenarios", "data-plane"])
            .expect("valid arguments");
        assert_eq!(a.scenarios, [Pick::One(Kind::DataPlane)]);
    }

    #[test]
    fn data_plane_server_args_respect_given_ones() {
        let given = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            server::data_plane_args(&given(&["--max-batch=10"]), "127.20.1.0/24"),
            ["--data-plane", "--data-plane-cidr=127.20.1.0/24"]
        );
        assert_eq!(
            server::data_plane_args(
                &given(&["--data-plane", "--data-plane-cidr=127.21.0.0/16"]),
                "127.20.1.0/24"
            ),
            Vec::<String>::new()
        );
    }
}
