//! What Meridian tells its operators about itself: logs, request correlation, `/metrics`.

pub mod correlation;
pub mod http_metrics;
pub mod logs;
pub mod self_metrics;

use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::settings::Settings;

/// Installs the global log subscriber. Fails on a filter that does not parse.
/// The server logs to stdout; one-shot commands log to stderr, keeping stdout for their result.
pub fn init_logs(settings: &Settings, to_stderr: bool) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&settings.log).map_err(|error| {
        anyhow::anyhow!("MERIDIAN_LOG: invalid filter {:?}: {error}", settings.log)
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    if to_stderr {
        registry
            .with(logs::LogLayer::new(settings.log_format, std::io::stderr))
            .try_init()?;
    } else {
        registry
            .with(logs::LogLayer::new(settings.log_format, std::io::stdout))
            .try_init()?;
    }
    Ok(())
}
