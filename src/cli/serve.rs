use super::{CliError, CliResult};
use crate::config::Settings;
use crate::startup::Application;
use crate::telemetry;

pub async fn run() -> CliResult {
    let settings = Settings::from_env().map_err(CliError::config)?;
    telemetry::init_tracing(&settings.log_level, settings.log_format);
    let bind = settings.bind_address;
    let app = Application::build(settings).await.map_err(super::start_error)?;
    tracing::info!(address = %bind.ip(), port = app.port(), "pulse-etl serving");
    app.run_until_stopped().await.map_err(|e| CliError::failed(e.into()))?;
    tracing::info!("stopped");
    Ok(())
}
