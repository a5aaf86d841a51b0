//! `server`: settings → logs → the chosen subcommand.

use std::process::ExitCode;

use clap::Parser;

use server::{
    cli, demo, observability,
    settings::{
        AuditCommand, BenchCommand, Cli, Command, RulesCommand, SloCommand, TenantCommand,
        TokenCommand,
    },
    startup::{app_state, prepare_database, Application},
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve));
    if let Err(error) = observability::init_logs(&cli.settings, !serving) {
        eprintln!("error: {error:#}");
        return ExitCode::from(2);
    }
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "Meridian stopped with an error."
            );
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = cli.settings;
    let command = cli.command.unwrap_or(Command::Serve);
    if command == Command::Serve {
        let application = Application::build(&settings).await?;
        let url = format!("http://{}:{}", settings.listen.ip(), application.port());
        tracing::info!(%url, "Meridian is listening.");
        if settings.demo {
            println!("\nMeridian is running at {url}\n\n{}", demo::credentials());
        }
        application.run_until_stopped().await?;
        return Ok(ExitCode::SUCCESS);
    }

    if let Command::Rules {
        command: RulesCommand::Test { files },
    } = &command
    {
        let (report, passed) = rules::unittest::run_files(files);
        print!("{report}");
        return Ok(if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    if let Command::Slo {
        command: SloCommand::Generate { file, period, extra_labels },
    } = &command
    {
        return cli::generate_slo_rules(file, period, extra_labels);
    }

    let (pool, cluster) = prepare_database(&settings).await?;
    let outcome = match command {
        Command::Serve | Command::Rules { .. } | Command::Slo { .. } => {
            unreachable!("handled above")
        }
        Command::Migrate => {
            println!("Migrations applied.");
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin { email } => cli::create_admin(&pool, &email)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => cli::create_tenant(&pool, &name)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Token {
            command:
                TokenCommand::Create {
                    tenant,
                    scopes,
                    name,
                    expires_on,
                },
        } => cli::create_token(&pool, &tenant, &scopes, &name, expires_on.as_deref())
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command:
                BenchCommand::Ingest {
                    series,
                    samples,
                    batch,
                    concurrency,
                    prometheus,
                },
        } => {
            let options = server::bench::ingest::Options {
                series,
                samples,
                batch,
                concurrency,
                prometheus,
            };
            server::bench::ingest::run(&settings, &pool, options)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Query {
                    series,
                    hours,
                    steps,
                    runs,
                    prometheus,
                    promtool,
                },
        } => {
            let options = server::bench::query::Options {
                series,
                hours,
                steps,
                runs,
                prometheus,
                promtool,
            };
            server::bench::query::run(&settings, &pool, options)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Dashboards {
                    points,
                    runs,
                    prometheus,
                    promtool,
                },
        } => {
            let options = server::bench::dashboards::Options {
                points,
                runs,
                prometheus,
                promtool,
            };
            server::bench::dashboards::run(&settings, &pool, options)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Rules {
                    groups,
                    rounds,
                    prometheus,
                    promtool,
                },
        } => {
            let options = server::bench::rules::Options {
                groups,
                rounds,
                prometheus,
                promtool,
            };
            server::bench::rules::run(&settings, &pool, options)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Notify {
                    groups,
                    alerts,
                    seconds,
                    prometheus,
                    promtool,
                    alertmanager,
                },
        } => {
            let options = server::bench::notify::Options {
                groups,
                alerts,
                seconds,
                prometheus,
                promtool,
                alertmanager,
            };
            server::bench::notify::run(&settings, &pool, options)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench {
            command: BenchCommand::Import { file, hours, runs },
        } => {
            let options = server::bench::import::Options { file, hours, runs };
            server::bench::import::run(&settings, &pool, options)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench {
            command:
                BenchCommand::Login {
                    seconds,
                    concurrency,
                },
        } => {
            let installation = app::ssr::load_installation_id(&pool).await?;
            let store = server::startup::tool_store(&settings, pool.clone());
            let state = app_state(&settings, pool.clone(), installation, store)?;
            server::bench::login(state, pool.clone(), seconds, concurrency)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Import { file, tenant } => {
            let store = server::startup::tool_store(&settings, pool.clone());
            server::import::run(&store, &tenant, &file)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => cli::verify_audit(&pool).await.map(|intact| {
            if intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
    };
    pool.close().await;
    if let Some(cluster) = cluster {
        cluster.stop()?;
    }
    outcome
}
