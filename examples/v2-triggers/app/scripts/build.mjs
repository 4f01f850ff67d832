// Builds the site for one environment into dist/:
//
//   npm run build -- --mode <staging|production>     (or: node scripts/build.mjs --mode staging)
//
// --mode picks config/<mode>.json (DEPLOY_ENV when --mode is not given). Every src/*.html page has
// its {{placeholders}} filled from that config plus mode, version (package.json) and commit;
// other files are copied. dist/config.json is the config the page runs with, dist/build.json says
// what was built.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export function parseArgs(argv, env = {}) {
  let mode = env.DEPLOY_ENV || null;
  let out = "dist";
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (name !== "--mode" && name !== "--out") throw new Error(`unknown option ${arg}; expected --mode or --out`);
    const value = inline ?? argv[(i += 1)];
    if (!value) throw new Error(`${name} needs a value`);
    if (name === "--mode") mode = value;
    else out = value;
  }
  if (!mode) throw new Error("no mode: pass --mode <environment> (or set DEPLOY_ENV)");
  if (!/^[a-z][a-z0-9-]*$/.test(mode)) throw new Error(`invalid mode ${JSON.stringify(mode)}`);
  return { mode, out };
}

export function loadConfig(mode, root = ROOT) {
  const file = join(root, "config", `${mode}.json`);
  if (!existsSync(file)) {
    const known = readdirSync(join(root, "config")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
    throw new Error(`unknown mode ${mode}: no config/${mode}.json (known: ${known.join(", ")})`);
  }
  return JSON.parse(readFileSync(file, "utf8"));
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** Fills {{name}} from values (HTML-escaped; names ending in Html are inserted as they are). */
export function render(template, values, page = "template") {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name) => {
    if (!(name in values)) throw new Error(`${page}: no value for {{${name}}}`);
    return name.endsWith("Html") ? String(values[name]) : escapeHtml(values[name]);
  });
}

export function build({ mode, out }, { root = ROOT, env = process.env } = {}) {
  const config = loadConfig(mode, root);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const commit = (env.CODEBUILD_RESOLVED_SOURCE_VERSION || "local").slice(0, 12);
  const values = {
    ...config,
    mode,
    version: pkg.version,
    commit,
    bannerHtml: config.banner ? `<p class="banner">${escapeHtml(config.banner)}</p>` : "",
  };
  const outDir = join(root, out);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const name of readdirSync(join(root, "src")).sort()) {
    const from = join(root, "src", name);
    if (name.endsWith(".html")) writeFileSync(join(outDir, name), render(readFileSync(from, "utf8"), values, `src/${name}`));
    else copyFileSync(from, join(outDir, name));
    written.push(name);
  }
  writeFileSync(join(outDir, "config.json"), `${JSON.stringify({ mode, ...config }, null, 2)}\n`);
  writeFileSync(join(outDir, "build.json"), `${JSON.stringify({ name: pkg.name, version: pkg.version, mode, commit }, null, 2)}\n`);
  written.push("config.json", "build.json");
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const options = parseArgs(process.argv.slice(2), process.env);
    const written = build(options);
    console.log(`build: ${options.mode}: wrote ${written.length} files to ${options.out}/ (${written.join(", ")})`);
  } catch (error) {
    console.error(`build: ${error.message}`);
    process.exit(1);
  }
}
