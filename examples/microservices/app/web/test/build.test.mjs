import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { build, parseArgs } from "../build.mjs";

test("parseArgs reads options over the environment", () => {
  assert.deepEqual(parseArgs(["--out", "x", "--version", "7"], { API_URL: "https://api.example" }), {
    out: "x",
    apiUrl: "https://api.example",
    version: "7",
  });
  assert.throws(() => parseArgs(["--mode", "prod"]), /unknown option --mode/);
  assert.throws(() => parseArgs(["--out"]), /--out needs a value/);
});

test("build stamps the version and writes config.js", () => {
  const dir = mkdtempSync(join(tmpdir(), "web-build-"));
  try {
    const out = join(dir, "dist");
    build({ out, apiUrl: "/api", version: "abc123" });
    assert.match(readFileSync(join(out, "index.html"), "utf8"), /<footer>web abc123<\/footer>/);
    assert.equal(readFileSync(join(out, "config.js"), "utf8"), 'window.APP_CONFIG = {"apiUrl":"/api","version":"abc123"};\n');
    assert.ok(existsSync(join(out, "render.js")) && existsSync(join(out, "app.js")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
