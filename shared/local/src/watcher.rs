//! Source change detection on one machine, as CodePipeline does it on AWS:
//! - an S3 source with `PollForSourceChanges` false starts its pipeline when its object is created
//!   (on AWS an EventBridge rule on S3's "Object Created"): here, when the bucket folder's file at the
//!   key appears or is written again, seen within a second;
//! - an S3, CodeCommit or GitHub (version 1) source with `PollForSourceChanges` true, the default,
//!   is polled every `sluice serve --poll-interval`: an execution starts once per new object version
//!   or commit, never twice for one.
//!
//! Each watched source action has a record (resource kind [`WATCH_KIND`], id `<pipeline>/<action>`): what
//! it watches, the stamp and revision last seen, and its last firing. The first look at a source only
//! takes its baseline: what was there before the watch began starts nothing, as on AWS. A firing is
//! decided and written down (with its execution id) before the execution starts and marked after, so a
//! crash in between is finished by the next look with the same id (`start_once`), never doubled.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sluice_core::pipeline::declaration::{ActionCategory, ActionOwner, PipelineDeclaration};
use sluice_core::port::{PipelineStore, Ports, ResourceStore, StoreError};
use sluice_core::problem::Coded;
use sluice_core::record::{ExecutionTrigger, SourceRevisionOverride};
use sluice_core::trigger::{FiresOn, event_triggers};
use sluice_core::usecase::execution::{ExecutionError, StartRequest, start_once};

use crate::git;
use crate::s3_folder::S3Folder;
use crate::scheduler::rule_arn;

/// The resource kind of the watch records.
pub const WATCH_KIND: &str = "source-watch";
/// How often polled sources are looked at when `--poll-interval` is not given: CodePipeline's polling
/// checks about once a minute.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// What a source action is watched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Every creation of the object (PollForSourceChanges false).
    S3Events { bucket: String, key: String },
    /// A new version of the object, at each poll.
    S3Polling { bucket: String, key: String },
    /// A new commit on the branch, at each poll; `repository` as the source names it.
    GitPolling { repository: String, branch: String },
}

impl Watch {
    fn describe(&self) -> String {
        match self {
            Self::S3Events { bucket, key } => format!("s3://{bucket}/{key} (events)"),
            Self::S3Polling { bucket, key } => format!("s3://{bucket}/{key} (polling)"),
            Self::GitPolling { repository, branch } => format!("{repository}@{branch} (polling)"),
        }
    }
}

/// One watched source action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedSource {
    pub pipeline: String,
    pub action: String,
    pub watch: Watch,
}

/// The source actions of a pipeline that are watched here.
pub fn watched_sources(declaration: &PipelineDeclaration) -> Vec<WatchedSource> {
    let mut watched = Vec::new();
    for (_, action) in declaration.actions() {
        let id = &action.action_type_id;
        if id.category != ActionCategory::Source {
            continue;
        }
        let config = |key: &str| action.configuration.get(key).cloned().unwrap_or_default();
        let polls = !config("PollForSourceChanges").eq_ignore_ascii_case("false");
        let watch = match (id.owner, id.provider.as_str()) {
            (ActionOwner::Aws, "S3") if polls => Watch::S3Polling {
                bucket: config("S3Bucket"),
                key: config("S3ObjectKey"),
            },
            (ActionOwner::Aws, "S3") => Watch::S3Events {
                bucket: config("S3Bucket"),
                key: config("S3ObjectKey"),
            },
            (ActionOwner::Aws, "CodeCommit") if polls => Watch::GitPolling {
                repository: config("RepositoryName"),
                branch: config("BranchName"),
            },
            (ActionOwner::ThirdParty, "GitHub") if polls => Watch::GitPolling {
                repository: format!("{}/{}", config("Owner"), config("Repo")),
                branch: config("Branch"),
            },
            _ => continue,
        };
        watched.push(WatchedSource {
            pipeline: declaration.name.clone(),
            action: action.name.clone(),
            watch,
        });
    }
    watched
}

/// A watch's decision to start an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchFiring {
    pub revision: String,
    pub execution_id: String,
    pub started: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    /// What was watched when the stamp was taken: a changed source action is baselined again.
    watching: String,
    /// The object's stamp (S3) or the commit (git); `None` when nothing was there.
    stamp: Option<String>,
    /// The revision a poll last saw (an S3 object's VersionId, a commit).
    revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    firing: Option<WatchFiring>,
}

/// What one look did.
#[derive(Debug, Default)]
pub struct WatchLook {
    pub fired: Vec<(WatchedSource, WatchFiring)>,
    pub problems: Vec<String>,
}

/// The watcher: where buckets and repositories are on this machine.
#[derive(Clone)]
pub struct SourceWatcher {
    s3: S3Folder,
    /// Where a polled object is copied to take its VersionId (`<data_dir>/watch`).
    scratch: std::path::PathBuf,
    /// Repository name → path or URL (sluice.json's `sources`).
    sources: BTreeMap<String, String>,
    /// The Region and account of the rule ARNs an S3 event names.
    region: String,
    account: String,
}

/// A file name for a stamp's copy: unique per stamp and process, of safe characters.
fn uuid_like(stamp: &str) -> String {
    let safe: String = stamp
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{}-{safe}", std::process::id())
}

fn id(source: &WatchedSource) -> String {
    format!("{}/{}", source.pipeline, source.action)
}

impl SourceWatcher {
    /// The watcher of the sources of `data_dir`'s pipelines: its bucket folders, and the repositories
    /// of sluice.json's `sources`.
    pub fn new(
        data_dir: &std::path::Path,
        sources: BTreeMap<String, String>,
        region: &str,
        account: &str,
    ) -> Self {
        Self {
            s3: S3Folder::new(data_dir),
            scratch: data_dir.join("watch"),
            sources,
            region: region.to_string(),
            account: account.to_string(),
        }
    }

    /// The stamp of what the source watches now.
    async fn stamp(&self, watch: &Watch) -> Result<Option<String>, String> {
        match watch {
            Watch::S3Events { bucket, key } | Watch::S3Polling { bucket, key } => {
                self.s3.object_stamp(bucket, key).map_err(|e| e.to_string())
            }
            Watch::GitPolling { repository, branch } => {
                let location = self.sources.get(repository).ok_or_else(|| {
                    format!("repository {repository} is not mapped to a local path or URL in sluice.json's sources")
                })?;
                git::head(location, branch)
                    .await
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The revision a poll compares: an S3 object's VersionId (a digest of its bytes), a commit.
    async fn revision(&self, watch: &Watch, stamp: &str) -> Result<String, String> {
        match watch {
            Watch::S3Events { .. } => Ok(stamp.to_string()),
            Watch::S3Polling { bucket, key } => {
                let s3 = self.s3.clone();
                let (bucket, key) = (bucket.clone(), key.clone());
                let copy = self.scratch.join(format!("{}.zip", uuid_like(stamp)));
                tokio::task::spawn_blocking(move || {
                    if let Some(parent) = copy.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                    }
                    let version = s3
                        .read_source(&bucket, &key, &copy)
                        .map(|revision| revision.version_id)
                        .map_err(|e| e.to_string());
                    let _ = std::fs::remove_file(&copy);
                    version
                })
                .await
                .map_err(|e| e.to_string())?
            }
            Watch::GitPolling { .. } => Ok(stamp.to_string()),
        }
    }

    /// One look at every watched source of every pipeline. `poll`: polled sources are compared too
    /// (otherwise only baselined); event sources are compared at every look.
    pub async fn look<P: Ports>(&self, ports: &P, poll: bool) -> WatchLook {
        let mut look = WatchLook::default();
        let pipelines = match ports.store().pipelines().await {
            Ok(pipelines) => pipelines,
            Err(e) => {
                look.problems
                    .push(format!("the pipelines cannot be read: {e}"));
                return look;
            }
        };
        for stored in pipelines {
            for source in watched_sources(&stored.declaration) {
                let compare = poll || matches!(source.watch, Watch::S3Events { .. });
                match self
                    .advance(ports, &stored.declaration, &source, compare)
                    .await
                {
                    Ok(Some(firing)) => look.fired.push((source, firing)),
                    Ok(None) => {}
                    Err(e) => look.problems.push(format!(
                        "source action {} of pipeline {} ({}): {e}",
                        source.action,
                        source.pipeline,
                        source.watch.describe()
                    )),
                }
            }
        }
        look
    }

    async fn advance<P: Ports>(
        &self,
        ports: &P,
        declaration: &PipelineDeclaration,
        source: &WatchedSource,
        compare: bool,
    ) -> Result<Option<WatchFiring>, String> {
        let id = id(source);
        let watching = source.watch.describe();
        let firing = loop {
            let found = ports
                .store()
                .resource(WATCH_KIND, &id)
                .await
                .map_err(|e| e.to_string())?;
            let (mut record, version) = match found {
                Some((document, version)) => (
                    serde_json::from_value::<Record>(document).map_err(|e| e.to_string())?,
                    version,
                ),
                None => (Record::default(), 0),
            };
            if let Some(pending) = record.firing.clone().filter(|f| !f.started) {
                break pending;
            }
            let baseline = version == 0 || record.watching != watching;
            if !baseline && !compare {
                return Ok(None);
            }
            let stamp = self.stamp(&source.watch).await?;
            if !baseline && stamp == record.stamp {
                return Ok(None);
            }
            let revision = match &stamp {
                Some(stamp) => Some(self.revision(&source.watch, stamp).await?),
                None => None,
            };
            // A new revision fires, unless this look only takes the baseline; a vanished object keeps
            // the revision last seen, so its return with the same bytes is no new version.
            let firing = revision
                .as_ref()
                .filter(|r| !baseline && record.revision.as_ref() != Some(*r))
                .map(|r| WatchFiring {
                    revision: r.clone(),
                    execution_id: ports.ids().uuid(),
                    started: false,
                    error: None,
                });
            record.watching = watching.clone();
            record.stamp = stamp;
            record.revision = revision.or(record.revision);
            if firing.is_some() {
                record.firing = firing.clone();
            }
            let document = serde_json::to_value(&record).map_err(|e| e.to_string())?;
            match ports
                .store()
                .put_resource(WATCH_KIND, &id, &document, version)
                .await
            {
                Ok(()) => match firing {
                    Some(firing) => break firing,
                    None => return Ok(None),
                },
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.to_string()),
            }
        };
        let error = self.start(ports, declaration, source, &firing).await?;
        let firing = WatchFiring {
            started: true,
            error,
            ..firing
        };
        loop {
            let Some((document, version)) = ports
                .store()
                .resource(WATCH_KIND, &id)
                .await
                .map_err(|e| e.to_string())?
            else {
                break;
            };
            let mut record: Record = serde_json::from_value(document).map_err(|e| e.to_string())?;
            if record.firing.as_ref().map(|f| &f.execution_id) != Some(&firing.execution_id) {
                break;
            }
            record.firing = Some(firing.clone());
            let document = serde_json::to_value(&record).map_err(|e| e.to_string())?;
            match ports
                .store()
                .put_resource(WATCH_KIND, &id, &document, version)
                .await
            {
                Ok(()) => break,
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(Some(firing))
    }

    /// Starts the firing's execution: `Ok(Some(reason))` when it cannot start and trying again would not
    /// help, `Err` when it may.
    async fn start<P: Ports>(
        &self,
        ports: &P,
        declaration: &PipelineDeclaration,
        source: &WatchedSource,
        firing: &WatchFiring,
    ) -> Result<Option<String>, String> {
        let (trigger, source_revisions) = match &source.watch {
            Watch::S3Events { bucket, key } => {
                let rule = event_triggers(declaration)
                    .into_iter()
                    .find(|t| {
                        matches!(&t.fires_on, FiresOn::S3ObjectCreated { bucket: b, key: k } if b == bucket && k == key)
                    })
                    .map(|t| rule_arn(&self.region, &self.account, &t));
                (
                    ExecutionTrigger {
                        trigger_type: "CloudWatchEvent".to_string(),
                        trigger_detail: rule,
                    },
                    Vec::new(),
                )
            }
            Watch::S3Polling { .. } => (
                ExecutionTrigger {
                    trigger_type: "PollForSourceChanges".to_string(),
                    trigger_detail: None,
                },
                Vec::new(),
            ),
            Watch::GitPolling { .. } => (
                ExecutionTrigger {
                    trigger_type: "PollForSourceChanges".to_string(),
                    trigger_detail: None,
                },
                vec![SourceRevisionOverride {
                    action_name: source.action.clone(),
                    revision_type: "COMMIT_ID".to_string(),
                    revision_value: firing.revision.clone(),
                }],
            ),
        };
        let request = StartRequest {
            pipeline_execution_id: Some(firing.execution_id.clone()),
            trigger: Some(trigger),
            source_revisions,
            ..StartRequest::default()
        };
        match start_once(ports, &source.pipeline, request).await {
            Ok(()) => Ok(None),
            Err(ExecutionError::Store(e)) => Err(e.to_string()),
            Err(other) => Ok(Some(format!("{}: {other}", other.exception()))),
        }
    }

    /// Looks every `look_every` (polling every `poll_every`) for as long as the task runs, printing each
    /// execution it starts and each problem once.
    pub async fn run<P: Ports>(&self, ports: &P, look_every: Duration, poll_every: Duration) {
        let mut ticks = tokio::time::interval(look_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_poll: Option<Instant> = None;
        let mut reported = std::collections::BTreeSet::new();
        loop {
            ticks.tick().await;
            let poll = last_poll.is_none_or(|at| at.elapsed() >= poll_every);
            if poll {
                last_poll = Some(Instant::now());
            }
            let look = self.look(ports, poll).await;
            for (source, firing) in look.fired {
                match firing.error {
                    None => println!(
                        "Source action {} of pipeline {} changed ({}): started execution {}",
                        source.action,
                        source.pipeline,
                        source.watch.describe(),
                        firing.execution_id
                    ),
                    Some(error) => eprintln!(
                        "sluice: source action {} of pipeline {} changed, but no execution could start: {error}",
                        source.action, source.pipeline
                    ),
                }
            }
            for problem in look.problems {
                if reported.insert(problem.clone()) {
                    eprintln!("sluice: {problem}");
                }
            }
        }
    }
}
