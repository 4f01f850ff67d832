//! `sluice serve`: CodePipeline's API on this machine, in one process that also runs the executions and
//! keeps everything in the data directory, so a restart finds pipelines and history and carries on the
//! executions that were running. Point the aws CLI or an SDK at it with `--endpoint-url`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use sluice_api::approval::ApprovalPages;
use sluice_api::service::Service;
use sluice_api::sigv4::CredentialStore;
use sluice_api::webhook::{AfterAnswer, Receiver};
use sluice_api::{Api, Auth, router};
use sluice_core::approval::link::PublicUrl;
use sluice_core::usecase::webhook::{recover_deliveries, start_delivery};
use sluice_core::webhook::event::GitProvider;
use sluice_local::private::{tighten, write_new_private};
use sluice_local::provider::{LocalConfig, providers_linking_to};
use sluice_local::runtime::LocalPorts;
use sluice_local::runtime::{LocalRuntime, work_runtime};
use sluice_local::scheduler::LOOK_EVERY;
use sluice_local::watcher::SourceWatcher;
use sluice_local::webhook::{receiver_secrets, secret_sources, secret_variable};

use crate::run::{DataDir, StopGrace};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The port to listen on (127.0.0.1 unless --host says otherwise).
    #[arg(long, default_value_t = 4570)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The URL this server is reached at from outside (`http` or `https`, no query or fragment), which
    /// every link it hands out starts with: approval pages, approval notifications, webhook URLs.
    /// Defaults to the address it listens on (http://HOST:PORT). A path in it is for a proxy that
    /// strips it: the server answers at the root.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Accept requests without a valid signature (for demos only).
    #[arg(long)]
    no_auth: bool,
    /// The Region the API's ARNs name.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The account id the API's ARNs name.
    #[arg(long, default_value = sluice_core::record::LOCAL_ACCOUNT)]
    account: String,
    /// The service name requests must be signed for: `codepipeline`, as CodePipeline checks; or
    /// `execute-api`, as API Gateway checks in front of the deployed stack (to try a client set up for it).
    #[arg(long, default_value = "codepipeline", value_name = "NAME")]
    signing_name: String,
    /// Check every answer against its output shape in the API model; a broken one is answered as
    /// InternalFailure (for tests and for debugging Sluice itself).
    #[arg(long, hide = true)]
    check_responses: bool,
    /// Seconds between looks at sources that poll for changes (S3, CodeCommit and GitHub sources with
    /// PollForSourceChanges true, the default). S3 sources with PollForSourceChanges false are seen
    /// within a second of their object's write, whatever this says.
    #[arg(long, value_name = "SECONDS", default_value_t = sluice_local::watcher::DEFAULT_POLL_INTERVAL.as_secs_f64())]
    poll_interval: f64,
    /// Local configuration for the pipelines' actions (sources, build projects, functions).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    stop: StopGrace,
    #[command(flatten)]
    data: DataDir,
}

/// The credentials file: which access keys may call, with their secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CredentialsFile {
    credentials: Vec<Credential>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Credential {
    access_key_id: String,
    secret_access_key: String,
}

struct Keys(BTreeMap<String, String>);

impl CredentialStore for Keys {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        self.0.get(access_key_id).cloned()
    }
}

/// Reads the credentials file, writing the default one (`test` / `test`, as other emulators use) when
/// there is none. The file holds secret keys: it is written 0600, and an existing one loses the group's
/// and others' rights before it is read.
fn credentials(path: &Path) -> Result<CredentialsFile, String> {
    if !path.exists() {
        let default = CredentialsFile {
            credentials: vec![Credential {
                access_key_id: "test".to_string(),
                secret_access_key: "test".to_string(),
            }],
        };
        let text = serde_json::to_string_pretty(&default).map_err(|e| e.to_string())?;
        match write_new_private(path, (text + "\n").as_bytes()) {
            Ok(()) => return Ok(default),
            // Another server on this data directory wrote it first: read theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
        }
    }
    tighten(path).map_err(|e| format!("cannot make {} private: {e}", path.display()))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("sluice serve: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let config = match &args.config {
        Some(path) => match LocalConfig::load(path) {
            Ok(config) => config,
            Err(e) => return fail(e),
        },
        None => LocalConfig::default(),
    };
    let address: SocketAddr = match format!("{}:{}", args.host, args.port).parse() {
        Ok(address) => address,
        Err(e) => return fail(format!("--host {} --port {}: {e}", args.host, args.port)),
    };
    let public_url = match args.public_url.as_deref().map(PublicUrl::parse).transpose() {
        Ok(url) => url,
        Err(e) => return fail(format!("--public-url: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(e),
    };
    // Executions (the engine, the actions, their builds) run on their own lower-priority threads, so
    // the API answers promptly however busy the pipelines keep the machine (docs/decisions.md).
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let work = match work_runtime(threads) {
        Ok(work) => work,
        Err(e) => return fail(e),
    };
    let code = runtime.block_on(serve(args, config, address, public_url, work.handle()));
    work.shutdown_background();
    code
}

async fn serve(
    args: &Args,
    config: LocalConfig,
    address: SocketAddr,
    public_url: Option<PublicUrl>,
    work: &tokio::runtime::Handle,
) -> ExitCode {
    let data_dir = args.data.path();
    let stop_grace = match args.stop.duration() {
        Ok(grace) => grace,
        Err(e) => return fail(e),
    };
    // Listening first: the links the executions hand out start with the address it got (`--port 0`).
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(e) => return fail(format!("cannot listen on {address}: {e}")),
    };
    let bound = listener.local_addr().unwrap_or(address);
    let public_url = public_url.unwrap_or_else(|| {
        if bound.ip().is_unspecified() {
            println!(
                "NOTE: links to this server (approval pages, webhooks) start with http://{bound}, which reviewers cannot open: pass --public-url"
            );
        }
        PublicUrl::for_address(bound)
    });
    let config_for_webhooks = config.clone();
    let opened = {
        let data_dir = data_dir.clone();
        let providers =
            providers_linking_to(config, BTreeMap::new(), stop_grace, public_url.clone());
        work.spawn(async move { LocalRuntime::open_default(&data_dir, providers).await })
            .await
    };
    let mut local = match opened {
        Ok(Ok(local)) => local,
        Ok(Err(e)) => return fail(e),
        Err(e) => return fail(e),
    };
    // Schedules start executions on their own: the cron looks every second, with the executions' work.
    local.ports.scheduler = local
        .ports
        .scheduler
        .clone()
        .with_arns(&args.region, &args.account);
    let cron = local.ports.scheduler.clone();
    let cron_ports = local.ports.clone();
    work.spawn(async move { cron.run(&cron_ports, LOOK_EVERY).await });
    // Sources: S3 objects created, and polled sources at the poll interval.
    let poll_every = match std::time::Duration::try_from_secs_f64(args.poll_interval) {
        Ok(every) if !every.is_zero() => every,
        _ => {
            return fail(format!(
                "--poll-interval {}: expected a number of seconds, more than 0",
                args.poll_interval
            ));
        }
    };
    let watcher = SourceWatcher::new(
        &data_dir,
        config_for_webhooks.sources.clone(),
        &args.region,
        &args.account,
    );
    let watched_ports = local.ports.clone();
    work.spawn(async move { watcher.run(&watched_ports, LOOK_EVERY, poll_every).await });
    let auth = if args.no_auth {
        println!(
            "WARNING: --no-auth: requests are NOT authenticated; anyone who can reach {address} can change pipelines"
        );
        Auth::Off
    } else {
        let path = data_dir.join("credentials.json");
        let file = match credentials(&path) {
            Ok(file) => file,
            Err(e) => return fail(e),
        };
        let ids: Vec<&str> = file
            .credentials
            .iter()
            .map(|c| c.access_key_id.as_str())
            .collect();
        println!(
            "Requests must be signed (SigV4, service {}) with a key from {} (access key ids: {})",
            args.signing_name,
            path.display(),
            ids.join(", ")
        );
        Auth::SigV4 {
            keys: Arc::new(Keys(
                file.credentials
                    .into_iter()
                    .map(|c| (c.access_key_id, c.secret_access_key))
                    .collect(),
            )),
            service: args.signing_name.clone(),
        }
    };
    let api = Arc::new(Api {
        ports: local.ports.clone(),
        service: Service {
            account: args.account.clone(),
            region: args.region.clone(),
            base_url: public_url.to_string(),
            approval_key: Some(local.approval_key.clone()),
            // PutRule and PutTargets on this port, so EventBridge schedules work as on AWS.
            eventbridge: true,
            ..Service::default()
        },
        auth,
        check_responses: args.check_responses,
    });
    println!(
        "Sluice serves the CodePipeline API on http://{bound} (region {}, account {}); data in {}",
        args.region,
        args.account,
        data_dir.display()
    );
    println!(
        "Try: aws codepipeline list-pipelines --endpoint-url http://{bound} --region {}",
        args.region
    );
    println!(
        "EventBridge's rule operations answer on the same port (schedules: aws events put-rule, put-targets --endpoint-url http://{bound})"
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let receiver = match webhook_receiver(&config_for_webhooks, &local.ports, work, &public_url) {
        Ok(receiver) => receiver,
        Err(e) => return fail(e),
    };
    println!(
        "Approval pages: {public_url}/view/PIPELINE/STAGE/ACTION/approve/LINK (the links GetPipelineState and approval notifications give, signed with {})",
        data_dir.join("approval.key").display()
    );
    let pages = Arc::new(ApprovalPages {
        ports: local.ports.clone(),
        key: local.approval_key.clone(),
        public_url,
        log: Arc::new(|line: &str| println!("{line}")),
    });
    let app = router(api)
        .merge(sluice_api::webhook::router(receiver))
        .merge(sluice_api::approval::router(pages));
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    local.shutdown();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The webhook receiver on this server: its secrets, executions started after the answer, and
/// deliveries a crash left unstarted started now and every minute (on the work runtime).
fn webhook_receiver(
    config: &LocalConfig,
    ports: &LocalPorts,
    work: &tokio::runtime::Handle,
    public_url: &PublicUrl,
) -> Result<Arc<Receiver<LocalPorts>>, String> {
    let env = |name: &str| std::env::var(name).ok();
    let secrets = receiver_secrets(config, &env).map_err(|e| e.to_string())?;
    let sources = secret_sources(config, &env);
    for provider in [
        GitProvider::GitHub,
        GitProvider::Bitbucket,
        GitProvider::GitLab,
    ] {
        match sources.iter().find(|(p, _)| *p == provider) {
            Some((_, from)) => println!(
                "Webhooks: POST {public_url}/webhooks/{} (secret from {from})",
                provider.slug()
            ),
            None => println!(
                "Webhooks: POST {public_url}/webhooks/{} refuses every delivery: set {} or webhooks.{}.secretFile in the config file",
                provider.slug(),
                secret_variable(provider),
                provider.slug()
            ),
        }
    }
    let recovering = ports.clone();
    work.spawn(async move {
        let mut ticks = tokio::time::interval(RECOVER_EVERY);
        loop {
            ticks.tick().await;
            match recover_deliveries(&recovering).await {
                Ok(keys) => {
                    for key in keys {
                        println!("Webhook delivery {key}: started what it had left unstarted");
                    }
                }
                Err(e) => eprintln!("sluice: webhook deliveries cannot be recovered now: {e}"),
            }
        }
    });
    let starting = ports.clone();
    // Spawned and returned at once: the answer does not wait for the starts. A start is the work of
    // StartPipelineExecution and runs where the API's does, on the serving runtime (the one calling
    // this); the executions it starts run on the engine's lower-priority work runtime.
    let after_answer: AfterAnswer = Arc::new(move |key: String| {
        let ports = starting.clone();
        tokio::spawn(async move {
            match start_delivery(&ports, &key).await {
                Ok(starts) => {
                    for start in starts.iter().filter(|s| s.error.is_some()) {
                        eprintln!(
                            "sluice: webhook delivery {key} could not start pipeline {}: {}",
                            start.pipeline,
                            start.error.as_deref().unwrap_or_default()
                        );
                    }
                }
                Err(e) => eprintln!(
                    "sluice: webhook delivery {key} is recorded but not started yet ({e}); it is started within a minute"
                ),
            }
        });
        Box::pin(std::future::ready(()))
    });
    Ok(Arc::new(Receiver {
        ports: ports.clone(),
        secrets,
        after_answer,
        log: Arc::new(|line: &str| println!("{line}")),
    }))
}

/// How often deliveries recorded and not started (a crash, a store that could not answer) are looked for.
const RECOVER_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
