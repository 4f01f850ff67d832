//! Who may enter a stage: CodePipeline's stage lock, inbound transition and execution modes
//! (docs/codepipeline.md, "Execution modes"), as pure functions over a stage's gate.
//!
//! - SUPERSEDED (the default): one execution in the stage at a time; at most one waits in front of it, and
//!   a newer arrival supersedes the waiting one ("executions are only superseded in between stages").
//! - QUEUED: one execution in the stage at a time; arrivals wait and enter in the order they came.
//! - PARALLEL: no lock; executions enter as they come.
//!
//! A disabled inbound transition holds every arrival in front of the stage (in SUPERSEDED mode a newer
//! arrival still supersedes the waiting one); enabling it lets the waiting enter as the mode allows.
//! The dispatcher stores a [`Gate`] per stage and acts on the [`Admission`]s these functions decide:
//! answering an entry task token, or failing it as superseded. Each decided admission is also kept in
//! the gate ([`Gate::pending`]) until the dispatcher has carried it out, because the gate's write and
//! the answer to a token cannot be one atomic step: a step that fails between them leaves the admission
//! to its re-run (or to the next step at the gate) instead of losing it.

use serde::{Deserialize, Serialize};

use crate::pipeline::declaration::ExecutionMode;

/// An execution waiting at a stage, with the task token of its entry step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arrival {
    pub execution_id: String,
    pub token: String,
}

/// The state of a stage's entrance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    /// Executions in the stage now (at most one unless the pipeline runs in PARALLEL mode).
    pub inside: Vec<String>,
    /// Executions waiting to enter, oldest first.
    pub waiting: Vec<Arrival>,
    pub inbound_enabled: bool,
    /// Why the inbound transition was disabled, as DisableStageTransition gave it.
    pub disabled_reason: Option<String>,
    /// When and by whom the transition was last disabled or enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed_at: Option<crate::time::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed_by: Option<String>,
    /// Admissions decided and not yet carried out, oldest first: written with the change that decided
    /// them, removed by [`Gate::carried_out`] once done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Admission>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            inside: Vec::new(),
            waiting: Vec::new(),
            inbound_enabled: true,
            disabled_reason: None,
            last_changed_at: None,
            last_changed_by: None,
            pending: Vec::new(),
        }
    }
}

/// What the dispatcher must do for an execution at the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "admission", rename_all = "camelCase")]
pub enum Admission {
    /// It enters: answer its entry token.
    Enter(Arrival),
    /// A newer execution (`by`) took its place: fail its entry token; the execution ends as Superseded.
    Supersede { waiting: Arrival, by: String },
}

impl Admission {
    /// The execution the admission is about.
    pub fn execution_id(&self) -> &str {
        match self {
            Admission::Enter(arrival)
            | Admission::Supersede {
                waiting: arrival, ..
            } => &arrival.execution_id,
        }
    }
}

impl Gate {
    fn has_room(&self, mode: ExecutionMode) -> bool {
        self.inbound_enabled && (mode == ExecutionMode::Parallel || self.inside.is_empty())
    }

    /// Lets waiting executions in while there is room: the oldest first (QUEUED, PARALLEL), or the only
    /// one there is (SUPERSEDED keeps at most one waiting).
    fn admit(&mut self, mode: ExecutionMode, admissions: &mut Vec<Admission>) {
        while self.has_room(mode) && !self.waiting.is_empty() {
            let arrival = self.waiting.remove(0);
            self.inside.push(arrival.execution_id.clone());
            admissions.push(Admission::Enter(arrival));
        }
    }

    /// Keeps `admissions` as pending and returns them.
    fn decided(&mut self, admissions: Vec<Admission>) -> Vec<Admission> {
        self.pending.extend(admissions.iter().cloned());
        admissions
    }

    /// An execution reaches the stage. An execution already at the gate arrives again when its entry
    /// step is run again (it failed transiently, maybe after its write): the entry task now waits on
    /// the new token, so a waiting execution waits with it, and one already let in is let in again with
    /// it (its earlier token's answer was lost, or went to a task that no longer waits).
    pub fn arrive(&mut self, mode: ExecutionMode, arrival: Arrival) -> Vec<Admission> {
        if self.inside.contains(&arrival.execution_id) {
            self.pending.retain(
                |p| !matches!(p, Admission::Enter(a) if a.execution_id == arrival.execution_id),
            );
            return self.decided(vec![Admission::Enter(arrival)]);
        }
        if let Some(waiting) = self
            .waiting
            .iter_mut()
            .find(|w| w.execution_id == arrival.execution_id)
        {
            waiting.token = arrival.token;
            return Vec::new();
        }
        let mut admissions = Vec::new();
        if mode == ExecutionMode::Superseded {
            for older in self.waiting.drain(..) {
                admissions.push(Admission::Supersede {
                    waiting: older,
                    by: arrival.execution_id.clone(),
                });
            }
        }
        self.waiting.push(arrival);
        self.admit(mode, &mut admissions);
        self.decided(admissions)
    }

    /// An execution leaves the stage (it finished the stage, failed in it, or was stopped): the lock is
    /// released and the next may enter. What was still pending about it is moot.
    pub fn leave(&mut self, mode: ExecutionMode, execution_id: &str) -> Vec<Admission> {
        self.inside.retain(|e| e != execution_id);
        // A stopped execution that was still waiting does not enter later.
        self.waiting.retain(|w| w.execution_id != execution_id);
        self.pending.retain(|p| p.execution_id() != execution_id);
        let mut admissions = Vec::new();
        self.admit(mode, &mut admissions);
        self.decided(admissions)
    }

    /// The dispatcher has carried out `done`: they are no longer pending.
    pub fn carried_out(&mut self, done: &[Admission]) {
        self.pending.retain(|p| !done.contains(p));
    }

    /// DisableStageTransition (inbound).
    pub fn disable(&mut self, reason: &str) {
        self.inbound_enabled = false;
        self.disabled_reason = Some(reason.to_string());
    }

    /// EnableStageTransition (inbound): waiting executions enter as the mode allows.
    pub fn enable(&mut self, mode: ExecutionMode) -> Vec<Admission> {
        self.inbound_enabled = true;
        self.disabled_reason = None;
        let mut admissions = Vec::new();
        self.admit(mode, &mut admissions);
        self.decided(admissions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutionMode::{Parallel, Queued, Superseded};

    fn arrival(id: &str) -> Arrival {
        Arrival {
            execution_id: id.to_string(),
            token: format!("token-{id}"),
        }
    }

    fn enter(id: &str) -> Admission {
        Admission::Enter(arrival(id))
    }

    fn supersede(id: &str, by: &str) -> Admission {
        Admission::Supersede {
            waiting: arrival(id),
            by: by.to_string(),
        }
    }

    #[test]
    fn a_free_stage_admits_at_once() {
        for mode in [Superseded, Queued, Parallel] {
            let mut gate = Gate::default();
            assert_eq!(gate.arrive(mode, arrival("a")), vec![enter("a")]);
            assert_eq!(gate.inside, vec!["a"]);
        }
    }

    #[test]
    fn superseded_mode_keeps_one_waiting_and_a_newer_arrival_replaces_it() {
        let mut gate = Gate::default();
        gate.arrive(Superseded, arrival("a"));
        assert_eq!(gate.arrive(Superseded, arrival("b")), vec![]);
        assert_eq!(
            gate.arrive(Superseded, arrival("c")),
            vec![supersede("b", "c")]
        );
        assert_eq!(gate.leave(Superseded, "a"), vec![enter("c")]);
        assert!(gate.waiting.is_empty());
    }

    #[test]
    fn queued_mode_admits_waiting_executions_in_order() {
        let mut gate = Gate::default();
        gate.arrive(Queued, arrival("a"));
        assert_eq!(gate.arrive(Queued, arrival("b")), vec![]);
        assert_eq!(gate.arrive(Queued, arrival("c")), vec![]);
        assert_eq!(gate.leave(Queued, "a"), vec![enter("b")]);
        assert_eq!(gate.leave(Queued, "b"), vec![enter("c")]);
        assert_eq!(gate.leave(Queued, "c"), vec![]);
    }

    #[test]
    fn parallel_mode_has_no_lock() {
        let mut gate = Gate::default();
        assert_eq!(gate.arrive(Parallel, arrival("a")), vec![enter("a")]);
        assert_eq!(gate.arrive(Parallel, arrival("b")), vec![enter("b")]);
        assert_eq!(gate.inside, vec!["a", "b"]);
    }

    #[test]
    fn a_disabled_transition_holds_arrivals_until_it_is_enabled() {
        let mut gate = Gate::default();
        gate.disable("freeze for the release");
        assert_eq!(gate.arrive(Queued, arrival("a")), vec![]);
        assert_eq!(gate.arrive(Queued, arrival("b")), vec![]);
        assert_eq!(
            gate.disabled_reason.as_deref(),
            Some("freeze for the release")
        );
        assert_eq!(gate.enable(Queued), vec![enter("a")]);
        assert_eq!(gate.leave(Queued, "a"), vec![enter("b")]);

        let mut parallel = Gate::default();
        parallel.disable("hold");
        parallel.arrive(Parallel, arrival("x"));
        parallel.arrive(Parallel, arrival("y"));
        assert_eq!(parallel.enable(Parallel), vec![enter("x"), enter("y")]);
    }

    #[test]
    fn while_disabled_superseded_mode_still_replaces_the_waiting_execution() {
        // "the execution waiting to enter the stage can still be superseded by a new execution. When a
        // disabled transition is re-enabled, the latest execution … enters the stage" (UG, §5.5).
        let mut gate = Gate::default();
        gate.disable("hold");
        gate.arrive(Superseded, arrival("a"));
        assert_eq!(
            gate.arrive(Superseded, arrival("b")),
            vec![supersede("a", "b")]
        );
        assert_eq!(gate.enable(Superseded), vec![enter("b")]);
    }

    #[test]
    fn enabling_does_not_admit_into_a_locked_stage() {
        let mut gate = Gate::default();
        gate.arrive(Queued, arrival("a"));
        gate.disable("hold");
        gate.arrive(Queued, arrival("b"));
        assert_eq!(gate.enable(Queued), vec![], "a is still inside");
        assert_eq!(gate.leave(Queued, "a"), vec![enter("b")]);
    }

    #[test]
    fn a_stopped_waiting_execution_does_not_enter_later() {
        let mut gate = Gate::default();
        gate.arrive(Queued, arrival("a"));
        gate.arrive(Queued, arrival("b"));
        gate.arrive(Queued, arrival("c"));
        assert_eq!(gate.leave(Queued, "b"), vec![], "b stopped while waiting");
        assert_eq!(gate.leave(Queued, "a"), vec![enter("c")]);
    }

    fn again(id: &str) -> Arrival {
        Arrival {
            execution_id: id.to_string(),
            token: format!("token-{id}-again"),
        }
    }

    #[test]
    fn a_repeated_arrival_keeps_the_gate_and_waits_or_enters_with_the_new_token() {
        let mut gate = Gate::default();
        gate.arrive(Superseded, arrival("a"));
        gate.arrive(Superseded, arrival("b"));
        gate.carried_out(&[enter("a")]);
        // b waits: it keeps its place, with the token its entry task now waits on.
        assert_eq!(gate.arrive(Superseded, again("b")), vec![]);
        assert_eq!(gate.waiting, vec![again("b")]);
        assert!(gate.pending.is_empty());
        // a is inside: let in again with the new token, not twice.
        assert_eq!(
            gate.arrive(Superseded, again("a")),
            vec![Admission::Enter(again("a"))]
        );
        assert_eq!(gate.inside, vec!["a"]);
        assert_eq!(gate.pending, vec![Admission::Enter(again("a"))]);
        // The same token once more: still one pending entry.
        gate.arrive(Superseded, again("a"));
        assert_eq!(gate.pending, vec![Admission::Enter(again("a"))]);
        assert_eq!(
            gate.leave(Superseded, "a"),
            vec![Admission::Enter(again("b"))]
        );
    }

    #[test]
    fn decided_admissions_stay_pending_until_carried_out_and_a_leaving_execution_drops_its_own() {
        let mut gate = Gate::default();
        gate.arrive(Superseded, arrival("a"));
        gate.arrive(Superseded, arrival("b"));
        gate.arrive(Superseded, arrival("c"));
        assert_eq!(gate.pending, vec![enter("a"), supersede("b", "c")]);
        gate.carried_out(&[supersede("b", "c")]);
        assert_eq!(gate.pending, vec![enter("a")]);
        // a's entry was never carried out, and a is leaving (stopped): c enters, a's entry is moot.
        assert_eq!(gate.leave(Superseded, "a"), vec![enter("c")]);
        assert_eq!(gate.pending, vec![enter("c")]);
        gate.carried_out(&[enter("c")]);
        assert!(gate.pending.is_empty());
    }

    #[test]
    fn a_gate_written_before_admissions_were_kept_reads_with_none_pending() {
        let old = r#"{"inside":["a"],"waiting":[{"executionId":"b","token":"t"}],"inboundEnabled":true,"disabledReason":null}"#;
        let gate: Gate = serde_json::from_str(old).unwrap();
        assert!(gate.pending.is_empty());
        assert!(!serde_json::to_string(&gate).unwrap().contains("pending"));
    }

    #[test]
    fn the_gate_survives_a_round_trip_through_json() {
        let mut gate = Gate::default();
        gate.arrive(Superseded, arrival("a"));
        gate.arrive(Superseded, arrival("b"));
        gate.arrive(Superseded, arrival("c"));
        gate.disable("x");
        let text = serde_json::to_string(&gate).unwrap();
        assert_eq!(serde_json::from_str::<Gate>(&text).unwrap(), gate);
    }
}
