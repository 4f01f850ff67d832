import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build, parseArgs, render } from "../scripts/build.mjs";

const APP = join(dirname(fileURLToPath(import.meta.url)), "..");

test("--mode picks the environment, in either form, over DEPLOY_ENV", () => {
  assert.deepEqual(parseArgs(["--mode", "production"], { DEPLOY_ENV: "staging" }), { mode: "production", out: "dist" });
  assert.deepEqual(parseArgs(["--mode=staging", "--out", "x"]), { mode: "staging", out: "x" });
  assert.deepEqual(parseArgs([], { DEPLOY_ENV: "staging" }), { mode: "staging", out: "dist" });
});

test("bad arguments are refused", () => {
  assert.throws(() => parseArgs([]), /no mode/);
  assert.throws(() => parseArgs(["--mode"]), /--mode needs a value/);
  assert.throws(() => parseArgs(["--mode", "../etc"]), /invalid mode/);
  assert.throws(() => parseArgs(["--watch"]), /unknown option --watch/);
});

test("render escapes values, except *Html ones, and names a missing value", () => {
  assert.equal(render("<b>{{a}}</b>{{ xHtml }}", { a: "<&>", xHtml: "<i>ok</i>" }), "<b>&lt;&amp;&gt;</b><i>ok</i>");
  assert.throws(() => render("{{nope}}", {}, "src/page.html"), /src\/page.html: no value for \{\{nope\}\}/);
});

test("build writes the site for each mode", () => {
  const root = mkdtempSync(join(tmpdir(), "v2-build-"));
  try {
    for (const part of ["package.json", "config", "src"]) cpSync(join(APP, part), join(root, part), { recursive: true });
    const env = { CODEBUILD_RESOLVED_SOURCE_VERSION: "0123456789abcdef" };
    build({ mode: "staging", out: "dist" }, { root, env });
    const staging = readFileSync(join(root, "dist", "index.html"), "utf8");
    assert.match(staging, /<meta name="environment" content="staging">/);
    assert.match(staging, /<p class="banner">Staging: test data only<\/p>/);
    assert.match(staging, /· staging · 0123456789ab</);
    const info = JSON.parse(readFileSync(join(root, "dist", "build.json"), "utf8"));
    const version = JSON.parse(readFileSync(join(APP, "package.json"), "utf8")).version;
    assert.deepEqual(info, { name: "my-web-app", version, mode: "staging", commit: "0123456789ab" });

    build({ mode: "production", out: "dist" }, { root, env });
    const production = readFileSync(join(root, "dist", "index.html"), "utf8");
    assert.doesNotMatch(production, /banner/);
    assert.equal(JSON.parse(readFileSync(join(root, "dist", "config.json"), "utf8")).apiUrl, "https://api.my-web-app.example");

    assert.throws(() => build({ mode: "qa", out: "dist" }, { root, env }), /unknown mode qa: no config\/qa.json \(known: production, staging\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
