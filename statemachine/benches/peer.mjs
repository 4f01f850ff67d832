// The peer side of `cargo bench -p sluice-statemachine --bench engine`: runs the same definitions with the
// same inputs and iteration counts in aws-local-stepfunctions (npm, installed at the workspace root by
// `npm ci`) and prints its timings as one JSON object on stdout.
//
//   node peer.mjs timings '<spec>'   spec: {"runs": [{"name", "definition", "input", "warmup", "iterations"}]}
//   node --expose-gc peer.mjs parked <definition> <input> <count> <state>
//
// Timings: one StateMachine per definition (its validation is not timed, as our create_state_machine is
// not), then sequential executions, each timed from run() to its result.
// Parked: starts <count> executions whose Task <state> is overridden by a handler that never answers, and
// reports the process's RSS (VmRSS/VmHWM from /proc/self/status) before and after.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StateMachine } from 'aws-local-stepfunctions';

const require = createRequire(import.meta.url);
// The package exports no package.json; its entry point lives in build/.
const entry = require.resolve('aws-local-stepfunctions');
const version = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')).version;

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    iterations: sorted.length,
    median_ms: at(0.5),
    p95_ms: at(0.95),
    mean_ms: sum / sorted.length,
    min_ms: sorted[0],
    max_ms: sorted[sorted.length - 1],
  };
}

function memory() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { vm_rss_kib: kib('VmRSS'), vm_hwm_kib: kib('VmHWM') };
}

async function timings(spec) {
  const runs = {};
  for (const run of spec.runs) {
    const machine = new StateMachine(readJson(run.definition));
    const input = readJson(run.input);
    let output;
    for (let i = 0; i < run.warmup; i++) {
      output = await machine.run(structuredClone(input)).result;
    }
    const samples = [];
    for (let i = 0; i < run.iterations; i++) {
      const copy = structuredClone(input);
      const start = performance.now();
      output = await machine.run(copy).result;
      samples.push(performance.now() - start);
    }
    runs[run.name] = { ...stats(samples), output };
  }
  return runs;
}

async function parked(definition, inputPath, count, state) {
  const machine = new StateMachine(readJson(definition));
  const input = readJson(inputPath);
  let taken = 0;
  const never = new Promise(() => {});
  const options = {
    overrides: {
      taskResourceLocalHandlers: {
        [state]: () => {
          taken += 1;
          return never;
        },
      },
    },
  };
  globalThis.gc?.();
  const before = memory();
  const start = performance.now();
  const executions = [];
  for (let i = 0; i < count; i++) {
    // The peer issues no task tokens: `$$.Task.Token` comes from a context object given per execution.
    const context = { Task: { Token: `token-${i}` } };
    executions.push(machine.run({ ...input, i }, { ...options, context }));
  }
  while (taken < count) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  const elapsed = performance.now() - start;
  globalThis.gc?.();
  const after = memory();
  return { count, taken, elapsed_ms: elapsed, before, after, open: executions.length };
}

const [mode, ...args] = process.argv.slice(2);
let result;
if (mode === 'timings') {
  result = { runs: await timings(JSON.parse(args[0])) };
} else if (mode === 'parked') {
  result = { parked: await parked(args[0], args[1], Number(args[2]), args[3]) };
} else {
  console.error('usage: node peer.mjs timings <spec> | parked <definition> <input> <count> <state>');
  process.exit(2);
}
console.log(JSON.stringify({ peer: 'aws-local-stepfunctions', version, node: process.version, ...result }));
process.exit(0);
