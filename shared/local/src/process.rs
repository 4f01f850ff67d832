//! The processes Sluice starts for actions (builds, local functions): each runs in a process group of
//! its own that ends with its action and with the process that started it.
//!
//! # An anchor that watches
//!
//! A group is held open by an idle "anchor" (`bash`), started first, whose standard input is a pipe
//! from this process. The anchor ignores SIGTERM and, when the pipe reaches its end — this process
//! died (even by SIGKILL) or dropped the group — kills its whole group (`kill -KILL 0`), background
//! grandchildren included. While it lives the group's id cannot be reused, so signalling the group
//! never reaches anyone else's processes.
//!
//! PR_SET_PDEATHSIG is not used: setting it needs code between fork and exec (`pre_exec`, unsafe,
//! which the workspace forbids); it fires when the creating *thread* exits (tokio's blocking threads
//! exit when idle), not the process; and it reaches one child, not the processes that child starts.
//! A process that leaves the group (`setsid`, job control) is not ended with it; a cgroup would be.
//!
//! # Stopping
//!
//! A stopped group gets SIGTERM (every process but the anchor); once the command being run has
//! ended, or after the grace period ([`DEFAULT_STOP_GRACE`] unless set), SIGKILL ends what is left.
//!
//! # Records
//!
//! With a records directory (`<data-dir>/processes`), each running group is recorded as a file
//! `<pgid>-<start time>` (the anchor's start time in `/proc/<pid>/stat`) holding the boot id. At the next
//! start, [`Processes::end_leftovers`] kills every recorded group whose anchor is still the process
//! recorded (same boot, same start time: a reused pid is never signalled) and waits until it is gone,
//! so an action handed over again never runs beside what is left of its previous run.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

/// How long a stopped group's running command has between SIGTERM and SIGKILL, as `docker stop`.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);

/// How long a leftover group may take to be gone after SIGKILL before startup gives up.
const LEFTOVER_PATIENCE: Duration = Duration::from_secs(30);

/// The anchor: ignores SIGTERM, waits for its input to end, then kills its group.
const ANCHOR_SCRIPT: &str = "trap '' TERM; read -r _; kill -KILL 0";

/// Why leftover processes could not be ended.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot read the process records in {}: {source}", dir.display())]
    Records {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "process group {pgid}, left running by an earlier Sluice process, was sent SIGKILL but still has processes after {patience:?}; end them (kill -KILL -- -{pgid}) and start again"
    )]
    StillRunning { pgid: i32, patience: Duration },
}

/// How the processes of actions are started: where their groups are recorded and how long a stopped
/// group has before SIGKILL. Clones share the count of running groups.
#[derive(Debug, Clone)]
pub struct Processes {
    records: Option<PathBuf>,
    stop_grace: Duration,
    running: Arc<watch::Sender<usize>>,
}

impl Default for Processes {
    fn default() -> Self {
        Self::unrecorded()
    }
}

impl Processes {
    /// Groups that are not recorded anywhere (they still end with this process).
    pub fn unrecorded() -> Processes {
        Processes {
            records: None,
            stop_grace: DEFAULT_STOP_GRACE,
            running: Arc::new(watch::channel(0).0),
        }
    }

    /// Groups recorded in `dir` (created 0700 when the first group starts, or by
    /// [`Processes::end_leftovers`]).
    pub fn recorded_in(dir: impl Into<PathBuf>) -> Processes {
        Processes {
            records: Some(dir.into()),
            ..Processes::unrecorded()
        }
    }

    pub fn with_stop_grace(mut self, grace: Duration) -> Processes {
        self.stop_grace = grace;
        self
    }

    pub fn stop_grace(&self) -> Duration {
        self.stop_grace
    }

    /// Starts a group: its anchor, recorded when there is a records directory. `shell` is bash.
    pub fn start_group(&self, shell: &Path) -> io::Result<ProcessGroup> {
        let mut anchor = Command::new(shell)
            .args(["-c", ANCHOR_SCRIPT])
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let id = anchor
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| io::Error::other("the process group's anchor exited at once"))?;
        let input = anchor.stdin.take();
        self.running.send_modify(|running| *running += 1);
        let mut group = ProcessGroup {
            anchor,
            _input: input,
            id: Pid::from_raw(id),
            record: None,
            running: Some(self.running.clone()),
            reaped: false,
        };
        if let Some(dir) = &self.records {
            // Without a record a crash would leave the group to its anchor alone; refuse instead.
            group.record = Some(record(dir, id)?);
        }
        Ok(group)
    }

    /// Resolves when no group started from these `Processes` (or their clones) is running.
    pub async fn all_ended(&self) {
        let mut running = self.running.subscribe();
        let _ = running.wait_for(|running| *running == 0).await;
    }

    /// Kills every recorded group an earlier process left running and waits until each is gone;
    /// removes all records. Returns how many groups were killed. Call before anything starts a
    /// group from these records.
    pub async fn end_leftovers(&self) -> Result<usize, ProcessError> {
        let Some(dir) = &self.records else {
            return Ok(0);
        };
        let records_error = |source| ProcessError::Records {
            dir: dir.clone(),
            source,
        };
        private_dir(dir).map_err(records_error)?;
        let boot = boot_id();
        let mut killed = 0;
        for entry in std::fs::read_dir(dir).map_err(records_error)? {
            let entry = entry.map_err(records_error)?;
            let path = entry.path();
            let recorded = entry
                .file_name()
                .to_str()
                .and_then(|name| name.split_once('-'))
                .and_then(|(pgid, start)| {
                    Some((pgid.parse::<i32>().ok()?, start.parse::<u64>().ok()?))
                });
            if let Some((pgid, start)) = recorded {
                let same_boot = std::fs::read_to_string(&path)
                    .is_ok_and(|text| boot.as_deref() == Some(text.trim()));
                let anchor = Pid::from_raw(pgid);
                if pgid > 1
                    && same_boot
                    && stat(anchor).is_some_and(|s| s.start_time == start && s.group == pgid)
                {
                    let _ = killpg(anchor, Signal::SIGKILL);
                    wait_gone(pgid).await?;
                    killed += 1;
                }
            }
            let _ = std::fs::remove_file(&path);
        }
        Ok(killed)
    }
}

/// A running process group. Dropped without [`ProcessGroup::kill`], it still kills its processes.
pub struct ProcessGroup {
    anchor: Child,
    /// The anchor's input: closing it (dropping it, or this process dying) makes the anchor kill the
    /// group.
    _input: Option<ChildStdin>,
    id: Pid,
    record: Option<PathBuf>,
    running: Option<Arc<watch::Sender<usize>>>,
    reaped: bool,
}

impl ProcessGroup {
    /// The group's id, for [`tokio::process::Command::process_group`].
    pub fn id(&self) -> i32 {
        self.id.as_raw()
    }

    /// Sends SIGTERM to every process of the group; the anchor ignores it.
    pub fn terminate(&self) {
        // ESRCH (nothing left) is the only expected error, and harmless.
        let _ = killpg(self.id, Signal::SIGTERM);
    }

    /// SIGTERM, then — once `running` (the command being run) has ended, or after `grace` — SIGKILL
    /// to everything left. Returns `running`'s output if it ended within the grace.
    pub async fn stop<T>(self, grace: Duration, running: impl Future<Output = T>) -> Option<T> {
        self.terminate();
        let ended = tokio::time::timeout(grace, running).await.ok();
        self.kill().await;
        ended
    }

    /// Kills every process of the group and waits for the anchor.
    pub async fn kill(mut self) {
        let _ = killpg(self.id, Signal::SIGKILL);
        let _ = self.anchor.wait().await;
        // Once the anchor is reaped its id may be someone else's: never signalled again.
        self.reaped = true;
        self.release();
    }

    fn release(&mut self) {
        if let Some(record) = self.record.take() {
            let _ = std::fs::remove_file(record);
        }
        if let Some(running) = self.running.take() {
            running.send_modify(|running| *running = running.saturating_sub(1));
        }
    }
}

impl Drop for ProcessGroup {
    /// A future dropped mid-way (its task aborted) still kills its processes.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = killpg(self.id, Signal::SIGKILL);
        }
        self.release();
    }
}

pub use crate::private::private_dir;

/// Writes the record of group `pgid`; none where the system does not say when a process started.
fn record(dir: &Path, pgid: i32) -> io::Result<PathBuf> {
    private_dir(dir)?;
    let start = stat(Pid::from_raw(pgid))
        .map(|s| s.start_time)
        .ok_or_else(|| {
            io::Error::other(format!(
                "cannot read the start time of process {pgid} in /proc"
            ))
        })?;
    let path = dir.join(format!("{pgid}-{start}"));
    std::fs::write(&path, boot_id().unwrap_or_default())?;
    Ok(path)
}

/// What /proc/<pid>/stat says of a process that is not a zombie.
struct Stat {
    group: i32,
    start_time: u64,
}

fn stat(pid: Pid) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is parenthesised and may hold anything; the rest follows its last
    // parenthesis: state (3), ppid, pgrp (5), …, starttime (22).
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&("Z" | "X")) | None) {
        return None;
    }
    Some(Stat {
        group: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// Whether a process other than a zombie is in group `pgid`.
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .any(|pid| stat(Pid::from_raw(pid)).is_some_and(|s| s.group == pgid))
}

async fn wait_gone(pgid: i32) -> Result<(), ProcessError> {
    let patience = tokio::time::Instant::now() + LEFTOVER_PATIENCE;
    while group_alive(pgid) {
        if tokio::time::Instant::now() > patience {
            return Err(ProcessError::StillRunning {
                pgid,
                patience: LEFTOVER_PATIENCE,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// This boot's id: start times count from the boot, so a record from another boot names no process.
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn bash() -> PathBuf {
        PathBuf::from("/bin/bash")
    }

    async fn until_gone(pid: i32) {
        for _ in 0..500 {
            if stat(Pid::from_raw(pid)).is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("process {pid} still runs");
    }

    fn member(group: &ProcessGroup) -> Child {
        Command::new("sleep")
            .arg("300")
            .process_group(group.id())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn a_dropped_group_kills_its_processes() {
        let processes = Processes::unrecorded();
        let group = processes.start_group(&bash()).unwrap();
        let sleeper = member(&group);
        let pid = i32::try_from(sleeper.id().unwrap()).unwrap();
        drop(group);
        until_gone(pid).await;
        processes.all_ended().await;
    }

    #[tokio::test]
    async fn a_group_is_recorded_while_it_runs_and_a_leftover_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("processes");
        let processes = Processes::recorded_in(&records);
        let group = processes.start_group(&bash()).unwrap();
        let sleeper = member(&group);
        let pid = i32::try_from(sleeper.id().unwrap()).unwrap();
        let names: Vec<String> = std::fs::read_dir(&records)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(
            names[0].starts_with(&format!("{}-", group.id())),
            "{names:?}"
        );
        let mode = std::fs::metadata(&records).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);

        // As if this process had died without ending it: a later start finds the record and kills it.
        std::mem::forget(group);
        let later = Processes::recorded_in(&records);
        assert_eq!(later.end_leftovers().await.unwrap(), 1);
        until_gone(pid).await;
        assert_eq!(std::fs::read_dir(&records).unwrap().count(), 0);
        drop(sleeper);
    }

    #[tokio::test]
    async fn a_record_whose_process_is_another_is_removed_without_signalling() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("processes");
        private_dir(&records).unwrap();
        // This test's own process, with a start time that is not its own, and a group of one that
        // this process is not the leader of.
        let own = std::process::id();
        let start = stat(Pid::from_raw(own as i32)).unwrap().start_time;
        std::fs::write(
            records.join(format!("{own}-{}", start + 1)),
            boot_id().unwrap(),
        )
        .unwrap();
        std::fs::write(records.join("not-a-record"), "").unwrap();
        let processes = Processes::recorded_in(&records);
        assert_eq!(processes.end_leftovers().await.unwrap(), 0);
        assert_eq!(std::fs::read_dir(&records).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn stop_gives_the_running_command_the_grace_then_kills_what_ignores_sigterm() {
        let processes = Processes::unrecorded();
        let group = processes.start_group(&bash()).unwrap();
        let mut stubborn = Command::new("bash")
            .args([
                "-c",
                "trap '' TERM; echo ready; while :; do sleep 0.05; done",
            ])
            .stdout(Stdio::piped())
            .process_group(group.id())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut ready = String::new();
        tokio::io::AsyncReadExt::read_to_string(
            &mut tokio::io::AsyncReadExt::take(stubborn.stdout.take().unwrap(), 6),
            &mut ready,
        )
        .await
        .unwrap();
        assert_eq!(ready, "ready\n");
        let ended = group
            .stop(Duration::from_millis(300), stubborn.wait())
            .await;
        assert!(ended.is_none(), "it ignored SIGTERM");
        let status = stubborn.wait().await.unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );

        let group = processes.start_group(&bash()).unwrap();
        let mut polite = Command::new("sleep")
            .arg("300")
            .process_group(group.id())
            .spawn()
            .unwrap();
        let ended = group.stop(Duration::from_secs(60), polite.wait()).await;
        let status = ended.expect("ended on SIGTERM").unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(15)
        );
        processes.all_ended().await;
    }
}
