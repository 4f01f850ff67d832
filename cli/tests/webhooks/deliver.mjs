// Sends every push, pull_request and ping example of @octokit/webhooks-examples to a Sluice webhook
// receiver, each signed by @octokit/webhooks-methods' `sign`, as GitHub sends them. Prints one JSON line
// per delivery: the event, the example's index, action, ref and deleted flag, and the answer.
// Usage: node deliver.mjs URL SECRET
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";

const [url, secret] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const index = JSON.parse(
  await readFile(require.resolve("@octokit/webhooks-examples/api.github.com/index.json"), "utf8"),
);
for (const { name, examples } of index) {
  if (!["push", "pull_request", "ping"].includes(name)) continue;
  for (const [i, payload] of examples.entries()) {
    const body = JSON.stringify(payload);
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": name,
        "x-github-delivery": `${name}-${i}`,
        "x-hub-signature-256": await sign(secret, body),
      },
      body,
    });
    console.log(
      JSON.stringify({
        event: name,
        index: i,
        action: payload.action ?? null,
        ref: payload.ref ?? null,
        deleted: payload.deleted ?? false,
        after: payload.after ?? null,
        head: payload.pull_request?.head?.sha ?? null,
        base: payload.pull_request?.base?.ref ?? null,
        status: response.status,
        answer: await response.json(),
      }),
    );
  }
}
