// Builds the static front end into --out (default dist/): src/ copied, the version stamped into
// index.html, and config.js telling the page where the API is.
//
//   node build.mjs [--out DIR] [--api-url URL] [--version V]
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function parseArgs(argv, env = {}) {
  const options = { out: "dist", apiUrl: env.API_URL || "/api", version: env.SERVICE_VERSION || "dev" };
  const names = { "--out": "out", "--api-url": "apiUrl", "--version": "version" };
  for (let i = 0; i < argv.length; i += 1) {
    const key = names[argv[i]];
    if (!key) throw new Error(`unknown option ${argv[i]}; expected --out, --api-url or --version`);
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    options[key] = argv[(i += 1)];
  }
  return options;
}

export function build({ out, apiUrl, version }, srcDir = join(dirname(fileURLToPath(import.meta.url)), "src")) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(srcDir, out, { recursive: true });
  const index = join(out, "index.html");
  writeFileSync(index, readFileSync(index, "utf8").replaceAll("{{VERSION}}", version));
  writeFileSync(join(out, "config.js"), `window.APP_CONFIG = ${JSON.stringify({ apiUrl, version })};\n`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const options = parseArgs(process.argv.slice(2), process.env);
    build(options);
    console.log(`web: built ${options.out} (api ${options.apiUrl}, version ${options.version})`);
  } catch (error) {
    console.error(`web: ${error.message}`);
    process.exit(1);
  }
}
