//! A throwaway PostgreSQL cluster of a test's own (`initdb` + `pg_ctl` in a temp folder, on a
//! free port), for the outage tests: the shared server must never be stopped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The folder with `initdb` and `pg_ctl`: /usr/local/bin, or the newest /usr/lib/postgresql/*/bin.
pub fn postgres_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let local = PathBuf::from("/usr/local/bin");
    if has_both(&local) {
        return Some(local);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A PostgreSQL cluster of its own in a temp folder, on a free port; stopped when dropped.
pub struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// `initdb` refuses root: run the binaries as the `postgres` OS user then.
    as_postgres_user: bool,
}

impl Cluster {
    /// Initializes (does not start) a cluster. A machine without the PostgreSQL server binaries
    /// fails the test: the outage tests cannot run there, and must not pass.
    pub fn init() -> Cluster {
        let bin = postgres_binaries().unwrap_or_else(|| {
            panic!(
                "the outage tests need initdb and pg_ctl (in /usr/local/bin or \
                 /usr/lib/postgresql/*/bin) for a throwaway PostgreSQL cluster; none found"
            )
        });
        let uid = Command::new("id").arg("-u").output().expect("run `id -u`");
        let as_postgres_user = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::tempdir().expect("a temp dir");
        if as_postgres_user {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(chown.success(), "chown of the cluster folder to postgres");
        }
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
            as_postgres_user,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "-N"],
        );
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The URL of the cluster's own `postgres` database (the whole cluster is the test's).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        };
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    #[track_caller]
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed ({}): {} {}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }

    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (
            self.data(),
            self.dir.path().join("log").display().to_string(),
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// `pg_ctl stop -m MODE` (`fast`, `immediate`), waiting until it is down.
    pub fn stop(&self, mode: &str) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
