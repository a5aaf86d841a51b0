//! `server`: settings → logs → the chosen subcommand.

use clap::Parser;

use server::{
    observability,
    settings::{Cli, Command},
    startup::{prepare_database, Application},
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve));
    if let Err(error) = observability::init_logs(&cli.settings, !serving) {
        eprintln!("error: {error:#}");
        return std::process::ExitCode::from(2);
    }
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "Meridian stopped with an error.");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let application = Application::build(&settings).await?;
            let url = format!("http://{}:{}", settings.listen.ip(), application.port());
            tracing::info!(%url, "Meridian is listening.");
            if settings.demo {
                println!("\nMeridian is running at {url}\n");
            }
            application.run_until_stopped().await
        }
        Command::Migrate => {
            let (pool, cluster) = prepare_database(&settings).await?;
            pool.close().await;
            if let Some(cluster) = cluster {
                cluster.stop()?;
            }
            println!("Migrations applied.");
            Ok(())
        }
    }
}
