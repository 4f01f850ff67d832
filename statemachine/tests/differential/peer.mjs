// Runs every differential case of a directory in the npm package aws-local-stepfunctions 3.0.0 and prints
// one JSON line per case, in name order:
//
//   {"name": "...", "status": "SUCCEEDED", "output": <value>}
//   {"name": "...", "status": "FAILED", "error": {"Error": "...", "Cause": "..." | null}}
//
// A case is NAME.asl.json (the definition), NAME.input.json (the execution input) and, optionally,
// NAME.tasks.json: how each Task resource answers, by resource ARN (see tests/differential.rs, which
// answers the same way in our engine):
//
//   {"<resource>": {"Succeed": <value>}}                         the task returns the value
//   {"<resource>": {"Echo": true}}                               the task returns its input
//   {"<resource>": {"Fail": {"Error": "...", "Cause": "..."}}}   the task fails
//   {"<resource>": {"FailThen": {"Times": n, "Error": "...", "Cause": "...", "Succeed": <value>}}}
//
// Wait states and Retry pauses are overridden to 0 ms: our engine runs in virtual time, and neither
// changes what an execution computes. All cases run in this one process, one after the other.
//
// Usage: node peer.mjs <directory>

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3.0.0 declares node >= 22, and its Task state calls Promise.withResolvers (ES2024,
// Node 22). This machine runs Node 20, so supply the standard function when it is missing; nothing else of
// Node 22 is used.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// The same names the Rust side starts its executions with; only the deterministic fields are given.
const CONTEXT = {
  Execution: { Name: 'one' },
  StateMachine: {
    Id: 'arn:aws:states:local:000000000000:stateMachine:test',
    Name: 'test',
  },
};

/** Calls `visit(name, state)` for every state, nested ones (Parallel branches, Map processors) included. */
function eachState(definition, visit) {
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    visit(name, state);
    for (const branch of state.Branches ?? []) eachState(branch, visit);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) eachState(processor, visit);
  }
}

/** A local handler answering a task as `answer` says; `calls` counts calls per resource for FailThen. */
function handler(resource, answer, calls) {
  return async (input) => {
    calls[resource] = (calls[resource] ?? 0) + 1;
    if ('Succeed' in answer) return answer.Succeed;
    if ('Echo' in answer) return input;
    const failure = answer.Fail ?? answer.FailThen;
    if (!failure) throw new Error(`unknown answer for ${resource}: ${JSON.stringify(answer)}`);
    if (answer.FailThen && calls[resource] > answer.FailThen.Times) return answer.FailThen.Succeed;
    const error = new Error(failure.Cause);
    error.name = failure.Error;
    throw error;
  };
}

function overrides(definition, tasks) {
  const calls = {};
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  const retryIntervalOverrides = {};
  eachState(definition, (name, state) => {
    if (state.Type === 'Task') {
      const answer = tasks[state.Resource];
      if (!answer) throw new Error(`no answer in the tasks file for ${state.Resource} (state ${name})`);
      if (name in taskResourceLocalHandlers && taskResourceLocalHandlers[name].resource !== state.Resource) {
        throw new Error(`two Task states named ${name} call different resources`);
      }
      taskResourceLocalHandlers[name] = handler(state.Resource, answer, calls);
      taskResourceLocalHandlers[name].resource = state.Resource;
    }
    if (state.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (state.Retry) retryIntervalOverrides[name] = 0;
  });
  return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides };
}

function describeFailure(error) {
  // A failed execution rejects with ExecutionError, whose `cause` is the state's error: its name is the
  // ASL error name and its message the cause.
  const inner = error?.name === 'ExecutionError' && error.cause ? error.cause : error;
  const cause = typeof inner?.message === 'string' && inner.message !== '' ? inner.message : null;
  return { Error: String(inner?.name ?? 'Error'), Cause: cause };
}

async function runCase(dir, name) {
  const definition = JSON.parse(readFileSync(join(dir, `${name}.asl.json`), 'utf8'));
  const input = JSON.parse(readFileSync(join(dir, `${name}.input.json`), 'utf8'));
  const tasksFile = join(dir, `${name}.tasks.json`);
  const tasks = existsSync(tasksFile) ? JSON.parse(readFileSync(tasksFile, 'utf8')) : {};
  let machine;
  try {
    // By default the peer first checks the definition with asl-validator, which builds its JSON schemas anew
    // on every call: 0.2 to 0.6 s a definition here, most of this script's time. Our engine's reader (at
    // least as strict as asl-validator) checks every case on the Rust side, so the peer skips that step.
    machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  } catch (error) {
    return { name, status: 'FAILED', error: { Error: 'Peer.DefinitionRejected', Cause: String(error.message) } };
  }
  try {
    const execution = machine.run(input, { context: CONTEXT, overrides: overrides(definition, tasks) });
    const output = await execution.result;
    return { name, status: 'SUCCEEDED', output: output === undefined ? null : output };
  } catch (error) {
    return { name, status: 'FAILED', error: describeFailure(error) };
  }
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node peer.mjs <directory>');
  process.exit(1);
}
const names = readdirSync(dir)
  .filter((file) => file.endsWith('.asl.json'))
  .map((file) => file.slice(0, -'.asl.json'.length))
  .sort();
for (const name of names) {
  process.stdout.write(`${JSON.stringify(await runCase(dir, name))}\n`);
}
