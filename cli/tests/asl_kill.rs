//! A real process killed with SIGKILL at random moments: running the same `sluice asl run --db` command
//! again carries the execution on from its last written state until it succeeds, and every Task state
//! succeeds exactly once in the history (an interrupted task is failed and run again only by the
//! definition's Retry).

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use sluice_statemachine::store::{SqliteStore, Store};

const STATES: [&str; 5] = ["Fetch", "Build", "Test", "Package", "Publish"];

fn definition() -> String {
    let mut states = serde_json::Map::new();
    for (i, name) in STATES.iter().enumerate() {
        let mut state = serde_json::json!({
            "Type": "Task",
            "Resource": format!("arn:aws:lambda:local:000000000000:function:{name}"),
            "ResultPath": format!("$.{name}"),
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 20, "BackoffRate": 1.0}]
        });
        match STATES.get(i + 1) {
            Some(next) => state["Next"] = serde_json::json!(next),
            None => state["End"] = serde_json::json!(true),
        }
        states.insert(name.to_string(), state);
    }
    serde_json::json!({"StartAt": STATES[0], "States": states}).to_string()
}

#[test]
fn a_run_killed_at_random_moments_finishes_with_each_task_succeeding_once() {
    let dir = std::env::temp_dir().join(format!("sluice-asl-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("machine.asl.json");
    std::fs::write(&file, definition()).unwrap();
    let db = dir.join("engine.db");
    let mut args: Vec<String> = vec![
        "asl".into(),
        "run".into(),
        file.to_string_lossy().into_owned(),
        "--db".into(),
        db.to_string_lossy().into_owned(),
        "--name".into(),
        "release-1".into(),
        "--input".into(),
        r#"{"version": "1.0"}"#.into(),
    ];
    for name in STATES {
        args.push("--task".into());
        args.push(format!("{name}=sleep 0.15; echo '\"{name} done\"'"));
    }
    // Kill points spread over the run, from a fixed seed so failures can be replayed.
    let mut seed: u64 = 0x5eed;
    let mut kills = 0;
    let output = loop {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(100 + (seed >> 33) % 300);
        std::thread::sleep(after);
        if kills < 6 && child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            continue;
        }
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        break output;
    };
    assert!(kills > 0, "the run was never interrupted");
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut expected = serde_json::json!({"version": "1.0"});
    for name in STATES {
        expected[name] = serde_json::json!(format!("{name} done"));
    }
    assert_eq!(result, expected);

    let store = SqliteStore::open(&db).unwrap();
    let history = store
        .history("arn:aws:states:local:000000000000:execution:sluice-asl-run:release-1")
        .unwrap();
    let mut succeeded: HashMap<String, usize> = HashMap::new();
    let mut exited: HashMap<String, usize> = HashMap::new();
    for event in &history {
        match event.event_type.as_str() {
            "TaskSucceeded" => {
                *succeeded
                    .entry(
                        event.details["taskSucceededEventDetails"]["resource"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                    )
                    .or_default() += 1
            }
            "TaskStateExited" => {
                *exited
                    .entry(
                        event.details["stateExitedEventDetails"]["name"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                    )
                    .or_default() += 1
            }
            _ => {}
        }
    }
    for name in STATES {
        assert_eq!(
            exited.get(name),
            Some(&1),
            "{name} left its state {:?} times",
            exited.get(name)
        );
        let resource = format!("arn:aws:lambda:local:000000000000:function:{name}");
        assert_eq!(
            succeeded.get(&resource),
            Some(&1),
            "{name}'s task succeeded {:?} times",
            succeeded.get(&resource)
        );
    }
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=history.len() as u64).collect::<Vec<_>>(),
        "history ids are gapless"
    );
}
