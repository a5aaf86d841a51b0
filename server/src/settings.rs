//! Command line and configuration. Every setting has a flag and a `MERIDIAN_*` environment
//! variable; scripts outside the code rely on these names, so they stay stable.

use std::{fmt, net::SocketAddr, path::PathBuf};

use clap::{builder::BoolishValueParser, Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "server",
    version,
    about = "Meridian: multi-tenant monitoring on PostgreSQL."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the web UI, the APIs and the background jobs (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Create an admin user; the password comes from MERIDIAN_ADMIN_PASSWORD or a prompt.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load samples from a JSON-lines file (one series a line:
    /// {"labels": {"__name__": …}, "type": "counter", "samples": [[ms, value], …]}) into a tenant.
    Import {
        file: PathBuf,
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
    },
    /// Inspect the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Alerting and recording rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Service level objectives.
    Slo {
        #[command(subcommand)]
        command: SloCommand,
    },
    /// Benchmarks; run them against a scratch database.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum RulesCommand {
    /// Runs rule unit-test files in `promtool test rules`' format (input_series,
    /// alert_rule_test, promql_expr_test) against Meridian's rule evaluation; exits 1 when a
    /// test fails. Needs no database.
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum SloCommand {
    /// Turns a Sloth spec (`version: prometheus/v1`) into the Prometheus rule file Sloth
    /// generates for it (the same recording-rule names, labels, expressions and thresholds),
    /// written to standard output; a problem is reported with its line. Needs no database.
    Generate {
        file: PathBuf,
        /// The period objectives are judged over, in days (Sloth's `--default-slo-period`).
        #[arg(long, default_value = "30d")]
        period: String,
        /// A label added to every recorded series, `name=value`; repeatable (Sloth's
        /// `--extra-labels`).
        #[arg(long = "extra-labels", short = 'l')]
        extra_labels: Vec<String>,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum BenchCommand {
    /// Logins per second and argon2id verifies per second (the ceiling), in one run.
    Login {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// remote_write ingestion: samples/s, p50/p99 latency and bytes per sample on disk, for an
    /// in-process Meridian and Debian's `prometheus --web.enable-remote-write-receiver`, on the
    /// same load in the same run; then p99 for both at half Meridian's maximum rate.
    Ingest {
        #[arg(long, default_value_t = 10_000)]
        series: usize,
        /// Samples per series (15 s apart), sent round by round as Prometheus does.
        #[arg(long, default_value_t = 120)]
        samples: usize,
        /// Samples per remote_write request.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Concurrent senders (series are sharded over them, as Prometheus' queue does).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// The Prometheus binary; "" to measure Meridian alone.
        #[arg(long, default_value = "/usr/bin/prometheus")]
        prometheus: String,
    },
    /// Dashboard-like PromQL queries over the same day of data in an in-process Meridian and
    /// in Debian's Prometheus (blocks written by promtool): p50/p95 of each and the ratio.
    Query {
        #[arg(long, default_value_t = 10_000)]
        series: usize,
        /// Hours of samples (15 s apart), ending now.
        #[arg(long, default_value_t = 24)]
        hours: u32,
        /// Steps of each range query over the whole span.
        #[arg(long, default_value_t = 1_000)]
        steps: usize,
        /// Runs of each query on each side.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[arg(long, default_value = "/usr/bin/prometheus")]
        prometheus: String,
        #[arg(long, default_value = "/usr/bin/promtool")]
        promtool: String,
    },
    /// Rule groups of 10 rules over a week of the demo application's metrics, evaluated by
    /// Meridian's evaluator and by Debian's Prometheus in the same window: round time, missed
    /// iterations and CPU of each; then a 7-day backtest of one rule.
    Rules {
        #[arg(long, default_value_t = 1_000)]
        groups: usize,
        /// Minutes measured once every group has been evaluated.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        #[arg(long, default_value = "/usr/bin/prometheus")]
        prometheus: String,
        #[arg(long, default_value = "/usr/bin/promtool")]
        promtool: String,
    },
    /// Notification latency (from the evaluation that fired to the webhook receiving it) under
    /// the rules benchmark's load, and throughput of alerts each in its own group: Meridian
    /// against Debian's Prometheus + Alertmanager in the same window.
    Notify {
        #[arg(long, default_value_t = 1_000)]
        groups: usize,
        #[arg(long, default_value_t = 2_000)]
        alerts: usize,
        /// Seconds to collect first notifications for.
        #[arg(long, default_value_t = 150)]
        seconds: u64,
        #[arg(long, default_value = "/usr/bin/prometheus")]
        prometheus: String,
        #[arg(long, default_value = "/usr/bin/promtool")]
        promtool: String,
        #[arg(long, default_value = "/usr/bin/prometheus-alertmanager")]
        alertmanager: String,
    },
    /// Grafana's Node Exporter Full imported into a tenant with node-exporter-like data: the
    /// import's time, and its whole server-rendered page with every row expanded (p50/p95).
    Import {
        /// The Grafana dashboard to import.
        #[arg(
            long,
            default_value = "crates/viz/tests/dashboards/rfmoz/node-exporter-full.json"
        )]
        file: std::path::PathBuf,
        /// Hours of samples (15 s apart, ending now).
        #[arg(long, default_value_t = 6)]
        hours: u32,
        /// Imports and page loads.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// The Executive dashboard's server-rendered page over ~100 series, against Debian's
    /// Prometheus answering the same panel queries: p50/p95 of each and the ratio.
    Dashboards {
        /// Samples a series (15 s apart, ending now).
        #[arg(long, default_value_t = 1_000)]
        points: usize,
        /// Page loads (and query rounds) on each side.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        #[arg(long, default_value = "/usr/bin/prometheus")]
        prometheus: String,
        #[arg(long, default_value = "/usr/bin/promtool")]
        promtool: String,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum TenantCommand {
    /// Create a tenant and print its id.
    Create { name: String },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum TokenCommand {
    /// Create an API token and print only its secret on stdout.
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Comma-separated: ingest, read, write.
        #[arg(long, value_delimiter = ',', default_value = "ingest")]
        scopes: Vec<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Last day the token works (YYYY-MM-DD, UTC); none by default.
        #[arg(long)]
        expires_on: Option<String>,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AuditCommand {
    /// Check the hash chain; exit status 0 when intact, 1 with the first broken entry otherwise.
    Verify,
}

#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "MERIDIAN_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// PostgreSQL URL. Unset: postgres://postgres@127.0.0.1:5432/meridian if that server
    /// answers, otherwise a private cluster under the data directory.
    #[arg(long, env = "MERIDIAN_DATABASE_URL", hide_env_values = true, global = true, value_parser = parse_secret)]
    pub database_url: Option<Secret>,

    /// Connections in the database pool.
    #[arg(
        long,
        env = "MERIDIAN_DATABASE_POOL_SIZE",
        default_value_t = 10,
        global = true
    )]
    pub database_pool_size: u32,

    /// Log filter: a level (error, warn, info, debug, trace) or directives like `info,sqlx=warn`.
    #[arg(
        long,
        env = "MERIDIAN_LOG",
        default_value = "info,sqlx::postgres::notice=warn",
        global = true
    )]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "MERIDIAN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,

    /// Key that signs sessions and tokens; at least 32 characters.
    #[arg(long, env = "MERIDIAN_SECRET_KEY", hide_env_values = true, global = true, value_parser = parse_secret_key)]
    pub secret_key: Option<Secret>,

    /// Seed demo data and print where to log in.
    #[arg(long, env = "MERIDIAN_DEMO", value_parser = BoolishValueParser::new(), default_value = "false",
          action = clap::ArgAction::Set, global = true)]
    pub demo: bool,

    /// Directory for local state: the private PostgreSQL cluster when one is needed.
    #[arg(
        long,
        env = "MERIDIAN_DATA_DIR",
        default_value = ".meridian",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Scrape this server's own /metrics into the `system` tenant (job "meridian", every 15 s).
    #[arg(long, env = "MERIDIAN_SELF_SCRAPE", value_parser = BoolishValueParser::new(), default_value = "true",
          action = clap::ArgAction::Set, global = true)]
    pub self_scrape: bool,

    /// Write each tenant's usage (active series, samples, bytes) into its store every minute as
    /// `meridian_usage_*`, for the Usage & cost dashboard.
    #[arg(long, env = "MERIDIAN_USAGE_ACCOUNTING", value_parser = BoolishValueParser::new(), default_value = "true",
          action = clap::ArgAction::Set, global = true)]
    pub usage_accounting: bool,

    /// Evaluate the tenants' alerting and recording rules. Every replica may: each group's slot
    /// is evaluated by one of them.
    #[arg(long, env = "MERIDIAN_RULE_EVALUATION", value_parser = BoolishValueParser::new(), default_value = "true",
          action = clap::ArgAction::Set, global = true)]
    pub rule_evaluation: bool,

    /// Route the tenants' alerts and deliver their notifications (the dispatcher and the
    /// delivery workers). Every replica may: each group flush and each delivery happens once.
    #[arg(long, env = "MERIDIAN_NOTIFICATIONS", value_parser = BoolishValueParser::new(), default_value = "true",
          action = clap::ArgAction::Set, global = true)]
    pub notifications: bool,

    /// The address users reach Meridian at, for links that rule templates make (`$externalURL`,
    /// as Prometheus' --web.external-url). Unset: http://<MERIDIAN_LISTEN>.
    #[arg(long, env = "MERIDIAN_EXTERNAL_URL", global = true, value_parser = parse_external_url)]
    pub external_url: Option<String>,

    /// This installation's labels, `name=value,…`: `$externalLabels` in rule templates (as
    /// Prometheus' global.external_labels).
    #[arg(long, env = "MERIDIAN_EXTERNAL_LABELS", default_value = "", global = true,
          value_parser = parse_external_labels)]
    pub external_labels: ExternalLabels,

    /// A folder of Grafana dashboard JSON to provision: one subfolder per tenant name, `_global`
    /// for global dashboards; read at start and again when a file changes.
    #[arg(long, env = "MERIDIAN_DASHBOARDS_DIR", global = true)]
    pub dashboards_dir: Option<PathBuf>,

    /// Let the UI save changes to dashboards provisioned from files (the next change of the file
    /// overwrites them); without it such a save is refused and a copy can be saved instead.
    #[arg(long, env = "MERIDIAN_DASHBOARDS_ALLOW_UI_UPDATES", value_parser = BoolishValueParser::new(),
          default_value = "false", action = clap::ArgAction::Set, global = true)]
    pub dashboards_allow_ui_updates: bool,

    /// Days of samples a tenant keeps unless its own limit says otherwise.
    #[arg(long, env = "MERIDIAN_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub retention_days: u32,

    /// A query that would hold more samples in memory than this fails (Prometheus'
    /// --query.max-samples).
    #[arg(
        long,
        env = "MERIDIAN_QUERY_MAX_SAMPLES",
        default_value_t = 50_000_000,
        global = true
    )]
    pub query_max_samples: usize,

    /// A query running longer than this many seconds fails (Prometheus' --query.timeout).
    #[arg(long, env = "MERIDIAN_QUERY_TIMEOUT_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub query_timeout_seconds: u64,

    /// Mark the session cookie Secure (serve over HTTPS, or behind a proxy that terminates it).
    #[arg(long, env = "MERIDIAN_COOKIE_SECURE", value_parser = BoolishValueParser::new(), default_value = "false",
          action = clap::ArgAction::Set, global = true)]
    pub cookie_secure: bool,

    /// A session ends after this many minutes without a request.
    #[arg(
        long,
        env = "MERIDIAN_SESSION_IDLE_MINUTES",
        default_value_t = 30,
        global = true
    )]
    pub session_idle_minutes: u64,

    /// A session ends this many hours after its login, however active.
    #[arg(
        long,
        env = "MERIDIAN_SESSION_MAX_HOURS",
        default_value_t = 12,
        global = true
    )]
    pub session_max_hours: u64,

    /// Failed logins of one account within the window that lock it.
    #[arg(
        long,
        env = "MERIDIAN_LOGIN_MAX_FAILURES",
        default_value_t = 10,
        global = true
    )]
    pub login_max_failures: i64,

    /// The window in which failed logins are counted.
    #[arg(
        long,
        env = "MERIDIAN_LOGIN_WINDOW_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub login_window_minutes: u64,

    /// How long a locked account stays locked.
    #[arg(
        long,
        env = "MERIDIAN_LOCKOUT_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub lockout_minutes: u64,

    /// Failed logins from one address within the window after which it is refused.
    #[arg(
        long,
        env = "MERIDIAN_LOGIN_MAX_FAILURES_PER_IP",
        default_value_t = 100,
        global = true
    )]
    pub login_max_failures_per_ip: i64,

    /// Directory with the built site (pkg/meridian.wasm, .js, .css and public files).
    #[arg(
        long,
        env = "MERIDIAN_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: PathBuf,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// A value that must never reach a log: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

fn parse_secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value))
}

/// `MERIDIAN_EXTERNAL_LABELS`, parsed: label names and values in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExternalLabels(pub Vec<(String, String)>);

fn parse_external_labels(value: &str) -> Result<ExternalLabels, String> {
    let mut labels = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, text)) = item.split_once('=') else {
            return Err(format!("{item:?} is not name=value"));
        };
        let name = name.trim();
        if !store::is_label_name(name) || name.starts_with("__") {
            return Err(format!("{name:?} is not a label name"));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("{name:?} is given twice"));
        }
        labels.push((name.to_string(), text.trim().trim_matches('"').to_string()));
    }
    Ok(ExternalLabels(labels))
}

fn parse_external_url(value: &str) -> Result<String, String> {
    let url = value.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        return Err(format!("{value:?} is not an http:// or https:// URL"));
    }
    Ok(url.to_string())
}

fn parse_secret_key(value: &str) -> Result<Secret, String> {
    if value.chars().count() < 32 {
        return Err(format!(
            "must be at least 32 characters, got {}",
            value.chars().count()
        ));
    }
    Ok(Secret::new(value))
}

impl Settings {
    /// Settings as the bare `server` command would see them (defaults and `MERIDIAN_*` variables).
    pub fn defaults() -> Settings {
        Cli::parse_from(["server"]).settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let mut settings = Settings::defaults();
        settings.database_url = Some(Secret::new("postgres://u:hunter2@db/meridian"));
        settings.secret_key = Some(Secret::new("k".repeat(40)));
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("kkkk"), "{printed}");
        assert!(printed.contains("[REDACTED]"));
    }

    #[test]
    fn external_labels_and_url_are_checked() {
        let cli = Cli::try_parse_from([
            "server",
            "--external-labels",
            "region=eu-1, cluster=\"a b\"",
            "--external-url",
            "https://meridian.example.com/",
        ])
        .unwrap();
        assert_eq!(
            cli.settings.external_labels.0,
            [
                ("region".into(), "eu-1".into()),
                ("cluster".into(), "a b".into())
            ]
        );
        assert_eq!(
            cli.settings.external_url.as_deref(),
            Some("https://meridian.example.com")
        );
        for (flag, value, error) in [
            (
                "--external-labels",
                "region",
                "\"region\" is not name=value",
            ),
            ("--external-labels", "1x=a", "\"1x\" is not a label name"),
            ("--external-labels", "a=1,a=2", "\"a\" is given twice"),
            (
                "--external-url",
                "meridian.example.com",
                "is not an http:// or https:// URL",
            ),
        ] {
            let refused = Cli::try_parse_from(["server", flag, value])
                .unwrap_err()
                .to_string();
            assert!(refused.contains(error), "{refused}");
        }
    }

    #[test]
    fn short_secret_key_is_refused_with_its_length() {
        let error = Cli::try_parse_from(["server", "--secret-key", "short"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("at least 32 characters, got 5"), "{error}");
    }

    #[test]
    fn subcommands_parse_and_serve_is_the_default() {
        assert_eq!(Cli::try_parse_from(["server"]).unwrap().command, None);
        assert_eq!(
            Cli::try_parse_from(["server", "migrate"]).unwrap().command,
            Some(Command::Migrate)
        );
        let cli =
            Cli::try_parse_from(["server", "serve", "--demo", "true", "--log-format", "text"])
                .unwrap();
        assert!(cli.settings.demo);
        assert_eq!(cli.settings.log_format, LogFormat::Text);
    }
}
