//! `pulse-etl demo`: the service and its simulators on loopback, on an SQLite file, no setup.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Args;
use rand::RngCore;
use serde_json::json;

use super::{CliError, CliResult};
use crate::config::Settings;
use crate::domain::integration::IntegrationInput;
use crate::domain::job::{Action, JobType};
use crate::integrations::manage::{self, SaveFailure};
use crate::startup::Application;
use crate::telemetry;
use pulse_sim::SimOptions;
use pulse_sim::generate::SizeOptions;

#[derive(Args)]
pub struct DemoArgs {
    /// Listen address of the dashboard.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Where the SQLite database and the generated keys live.
    #[arg(long, default_value = "./pulse-data")]
    pub data_dir: PathBuf,
    /// Print one JSON line (url, database_url, sim) once ready, instead of the banner.
    #[arg(long)]
    pub json: bool,
    /// Seed of the simulated dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

const SECRETS_FILE: &str = "secrets.env";

pub async fn run(args: DemoArgs) -> CliResult {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data directory {}", args.data_dir.display()))?;
    let data_dir = args
        .data_dir
        .canonicalize()
        .context("cannot resolve the data directory")?;
    let keys = demo_keys(&data_dir)?;
    let sim = pulse_sim::server::start(SimOptions {
        seed: args.seed,
        size: SizeOptions::medium(),
        ..SimOptions::default()
    })
    .context("cannot start the simulators")?;
    let database_url = format!("sqlite://{}?mode=rwc", data_dir.join("pulse.db").display());
    let fixed: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.clone()),
        ("BACKEND_SERVICE_URL", sim.urls.backend.clone()),
        ("SECRET_KEY", keys.secret_key),
        ("ENCRYPTION_KEY", keys.encryption_key),
        ("BIND_ADDRESS", args.bind.to_string()),
        // The simulators listen on loopback.
        ("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true".into()),
    ]);
    let mut settings =
        Settings::from_lookup(demo_lookup(&fixed, |k| std::env::var(k).ok())).map_err(CliError::config)?;
    // The demo serves plain HTTP on loopback, where a `Secure` cookie would never come back.
    settings.cookie_secure = false;
    telemetry::init_tracing(&settings.log_level, settings.log_format);
    let app = Application::build(settings).await.map_err(super::start_error)?;
    seed_integrations(&app, &sim).await?;
    // Fill the dashboard within seconds instead of waiting for the first scheduled cycle.
    if let Err(e) = app
        .state
        .orchestrator
        .act(JobType::JiraSync, Action::Start, "demo")
        .await
    {
        tracing::warn!(error = %e, "demo: could not start the first sync");
    }
    let url = format!("http://{}:{}", args.bind.ip(), app.port());
    if args.json {
        println!(
            "{}",
            json!({ "url": url, "database_url": database_url, "sim": sim.urls })
        );
    } else {
        println!("\npulse-etl demo is running at {url}\n");
        println!("  admin:  admin@example.com / pulse-admin");
        println!("  viewer: viewer@example.com / pulse-viewer\n");
        println!("  data:   {}", data_dir.display());
        println!("  Press Ctrl-C to stop.\n");
    }
    let result = app.run_until_stopped().await;
    sim.stop().await;
    result.map_err(|e| CliError::failed(e.into()))
}

/// What the demo's settings read: its own values for the database, the backend, the keys, the
/// address and private hosts; every other variable (`LOG_LEVEL`, `INTEGRATION_TIMEOUT_SECONDS`,
/// `ENCRYPTION_KEY_PREVIOUS`, …) from the process environment, through the same parser as
/// `serve`, so a bad value refuses the demo too.
fn demo_lookup<'a>(
    fixed: &'a HashMap<&str, String>,
    process: impl Fn(&str) -> Option<String> + 'a,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |key| fixed.get(key).cloned().or_else(|| process(key))
}

struct DemoKeys {
    secret_key: String,
    encryption_key: String,
}

/// Keys from the environment if given, else from `<data-dir>/secrets.env`, else new ones
/// written there (so sessions and stored credentials survive a restart of the demo).
fn demo_keys(dir: &Path) -> anyhow::Result<DemoKeys> {
    let path = dir.join(SECRETS_FILE);
    let mut stored: HashMap<String, String> = HashMap::new();
    if path.exists() {
        for item in dotenvy::from_path_iter(&path).with_context(|| format!("cannot read {}", path.display()))? {
            let (k, v) = item.with_context(|| format!("malformed {}", path.display()))?;
            stored.insert(k, v);
        }
    }
    let pick = |key: &str| {
        std::env::var(key)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| stored.get(key).cloned())
    };
    if let (Some(secret_key), Some(encryption_key)) = (pick("SECRET_KEY"), pick("ENCRYPTION_KEY")) {
        return Ok(DemoKeys {
            secret_key,
            encryption_key,
        });
    }
    let keys = DemoKeys {
        secret_key: random_base64(64),
        encryption_key: random_base64(32),
    };
    let text = format!(
        "# Generated by `pulse-etl demo`; keep private.\nSECRET_KEY={}\nENCRYPTION_KEY={}\n",
        keys.secret_key, keys.encryption_key
    );
    write_private(&path, &text)?;
    Ok(keys)
}

fn random_base64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    BASE64.encode(bytes)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// First start: one Jira Cloud and one GitHub integration pointing at the simulators, saved
/// through the same path as the integrations page (validated and connection-tested).
async fn seed_integrations(app: &Application, sim: &pulse_sim::SimHandle) -> anyhow::Result<()> {
    let state = &app.state;
    if !crate::db::integrations::list(&state.db).await?.is_empty() {
        return Ok(());
    }
    let projects: Vec<String> = sim.state.data().jira.projects.iter().map(|p| p.key.clone()).collect();
    // The simulated GitLab renders the same history as the simulated GitHub: GitLab syncs the
    // subgroup's projects and GitHub the other repositories, so nothing is counted twice.
    let (github_repos, subgroup) = {
        let data = sim.state.data();
        let gh = &data.github;
        let subgroup = format!("{}/{}", gh.org, pulse_sim::gitlab::SUBGROUP);
        let repos: Vec<String> = gh
            .repos
            .iter()
            .enumerate()
            .filter(|(i, r)| !r.archived && pulse_sim::gitlab::namespace(gh, *i) != subgroup)
            .map(|(_, r)| format!("{}/{}", r.owner, r.name))
            .collect();
        (repos, subgroup)
    };
    let inputs = [
        IntegrationInput {
            kind: "jira".into(),
            name: "Demo Jira (simulated Cloud)".into(),
            base_url: sim.urls.jira_cloud.clone(),
            flavour: "cloud".into(),
            username: Some(pulse_sim::upstream::JIRA_CLOUD_EMAIL.into()),
            secret: Some(pulse_sim::upstream::JIRA_CLOUD_TOKEN.into()),
            settings: json!({ "projects": projects, "story_points_field": pulse_sim::model::STORY_POINTS_FIELD }),
            active: Some(true),
        },
        IntegrationInput {
            kind: "github".into(),
            name: "Demo GitHub (simulated)".into(),
            base_url: sim.urls.github.clone(),
            flavour: "github".into(),
            username: None,
            secret: Some(pulse_sim::upstream::GITHUB_TOKEN.into()),
            settings: json!({ "repositories": github_repos, "deployment_source": { "kind": "deployments", "pattern": "production" } }),
            active: Some(true),
        },
        IntegrationInput {
            kind: "gitlab".into(),
            name: "Demo GitLab (simulated self-managed)".into(),
            base_url: sim.urls.gitlab.clone(),
            flavour: "self_managed".into(),
            username: None,
            secret: Some(pulse_sim::upstream::GITLAB_TOKEN.into()),
            settings: json!({ "group": subgroup, "deployment_source": { "kind": "deployments", "pattern": "production" } }),
            active: Some(true),
        },
    ];
    for input in &inputs {
        match manage::save(
            &state.db,
            &state.vault,
            state.outbound,
            input,
            None,
            manage::Checks::Test,
        )
        .await
        {
            Ok(_) => {}
            Err(SaveFailure::Invalid(errors)) => {
                anyhow::bail!("demo integration {:?} is invalid: {errors:?}", input.name)
            }
            Err(SaveFailure::TestFailed(report)) => {
                anyhow::bail!(
                    "demo integration {:?} failed its connection test: {}",
                    input.name,
                    report.summary
                )
            }
            Err(SaveFailure::Save(e)) => return Err(e.into()),
            Err(SaveFailure::NothingMatches(_) | SaveFailure::PreviewFailed(_)) => {
                anyhow::bail!("demo integration {:?}: unexpected preview failure", input.name)
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> HashMap<&'static str, String> {
        HashMap::from([
            ("DATABASE_URL", "sqlite://demo.db?mode=rwc".to_string()),
            ("BACKEND_SERVICE_URL", "http://127.0.0.1:9".to_string()),
            ("SECRET_KEY", "s".repeat(64)),
            ("ENCRYPTION_KEY", BASE64.encode([7u8; 32])),
            ("BIND_ADDRESS", "127.0.0.1:8000".to_string()),
            ("ALLOW_PRIVATE_INTEGRATION_HOSTS", "true".to_string()),
        ])
    }

    #[test]
    fn the_demo_reads_every_other_variable_from_the_environment_with_serves_rules() {
        let fixed = fixed();
        let from = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
        };
        // Its own values win; the others come from the environment and are checked.
        let ok = Settings::from_lookup(demo_lookup(
            &fixed,
            from(&[
                ("DATABASE_URL", "postgres://elsewhere/db"),
                ("INTEGRATION_TIMEOUT_SECONDS", "45"),
            ]),
        ))
        .unwrap();
        assert!(secrecy::ExposeSecret::expose_secret(&ok.database_url).starts_with("sqlite:"));
        assert_eq!(ok.integration_timeout.as_secs(), 45);
        assert_eq!(ok.log_level, "info");
        for bad in [
            &[("INTEGRATION_TIMEOUT_SECONDS", "soon")][..],
            &[("ENCRYPTION_KEY_PREVIOUS", "not-a-key")][..],
            &[("LOG_FORMAT", "xml")][..],
            &[("DEBUG", "maybe")][..],
        ] {
            let err = Settings::from_lookup(demo_lookup(&fixed, from(bad))).err();
            assert!(err.is_some(), "{bad:?} was accepted");
        }
    }
}
