//! A PostgreSQL cluster of Meridian's own, for machines without a database server: created
//! with the system's `initdb` on first use, started with `pg_ctl` on a free loopback port,
//! reused on the next start, stopped on shutdown.

use std::{
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _};
use nix::unistd::{chown, Uid, User};

pub struct PrivateCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    /// Run the binaries as this user: PostgreSQL refuses to run as root.
    run_as: Option<User>,
    /// Only a cluster this process started is stopped by it.
    started_here: bool,
}

impl PrivateCluster {
    pub async fn start(data_dir: &Path) -> anyhow::Result<PrivateCluster> {
        let data_dir = std::path::absolute(data_dir).context("resolving the data directory")?;
        let cluster = tokio::task::spawn_blocking(move || Self::start_blocking(data_dir)).await??;
        Ok(cluster)
    }

    fn start_blocking(data_dir: PathBuf) -> anyhow::Result<PrivateCluster> {
        let bin_dir = find_bin_dir().context(
            "PostgreSQL binaries not found; install postgresql (apt-get install postgresql) or set MERIDIAN_DATABASE_URL",
        )?;
        let run_as = if Uid::effective().is_root() {
            Some(User::from_name("postgres")?.context(
                "running as root needs a 'postgres' system user to own the private cluster; \
                 install postgresql or set MERIDIAN_DATABASE_URL",
            )?)
        } else {
            None
        };
        let mut cluster = PrivateCluster {
            bin_dir,
            data_dir,
            port: 0,
            run_as,
            started_here: false,
        };

        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.init()?;
        }
        if let Some(port) = cluster.running_port() {
            tracing::info!(port, dir = %cluster.data_dir.display(), "Reusing the running private PostgreSQL cluster.");
            cluster.port = port;
            return Ok(cluster);
        }
        cluster.port = free_loopback_port()?;
        let log = cluster.data_dir.join("meridian-postgres.log");
        let server_options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            cluster.port
        );
        cluster
            .run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    cluster.data_dir.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-o".as_ref(),
                    server_options.as_ref(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "start".as_ref(),
                ],
            )
            .with_context(|| format!("starting the private cluster (log: {})", log.display()))?;
        cluster.started_here = true;
        tracing::info!(port = cluster.port, dir = %cluster.data_dir.display(), "Started a private PostgreSQL cluster.");
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the cluster if this process started it; a fast shutdown, as on SIGINT.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.stop_with("fast")
    }

    /// Stops it as a crash would: no checkpoint, so the next start recovers from the WAL.
    pub fn stop_immediately(&self) -> anyhow::Result<()> {
        self.stop_with("immediate")
    }

    fn stop_with(&self, mode: &str) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data_dir.as_os_str(),
                "-m".as_ref(),
                mode.as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )?;
        tracing::info!(dir = %self.data_dir.display(), "Stopped the private PostgreSQL cluster.");
        Ok(())
    }

    fn init(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        if let Some(user) = &self.run_as {
            chown(&self.data_dir, Some(user.uid), Some(user.gid)).with_context(|| {
                format!("giving {} to the postgres user", self.data_dir.display())
            })?;
        }
        self.run(
            "initdb",
            &[
                "-D".as_ref(),
                self.data_dir.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-instructions".as_ref(),
            ],
        )
        .with_context(|| {
            format!(
                "creating a PostgreSQL cluster in {}",
                self.data_dir.display()
            )
        })?;
        tracing::info!(dir = %self.data_dir.display(), "Created a private PostgreSQL cluster.");
        Ok(())
    }

    /// The port of a postmaster already running on this data directory (line 4 of postmaster.pid).
    fn running_port(&self) -> Option<u16> {
        let status = self
            .command("pg_ctl")
            .args(["status", "-D"])
            .arg(&self.data_dir)
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        if let Some(user) = &self.run_as {
            command
                .uid(user.uid.as_raw())
                .gid(user.gid.as_raw())
                .env("HOME", &user.dir);
        }
        command
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
        let output = self
            .command(program)
            .args(args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim(),
                String::from_utf8_lossy(&output.stdout).trim()
            );
        }
        Ok(())
    }
}

/// `initdb` and `pg_ctl` are not on PATH on Debian; they live in /usr/lib/postgresql/<v>/bin.
fn find_bin_dir() -> Option<PathBuf> {
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            Some((
                entry.file_name().to_str()?.parse().ok()?,
                entry.path().join("bin"),
            ))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versioned.sort();
    if let Some((_, bin)) = versioned.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}
