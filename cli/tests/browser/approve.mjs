// Opens an approval page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) as
// a reviewer does, in two steps the test between them checks:
//   1. loads the page twice, then prints {"step":"loaded", ...} and waits for a line on standard input;
//   2. fills the reviewer's name and the summary, takes a screenshot, presses Approve, and prints
//      {"step":"decided", ...} with what the page then says.
// Usage: node approve.mjs URL SCREENSHOT NAME SUMMARY
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [url, screenshot, name, summary] = process.argv.slice(2);
const print = (line) => console.log(JSON.stringify(line));
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  // Nothing reaches out past the loopback: this machine's network is closed to it, and the test needs
  // none of Chromium's own services.
  args: ["--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 760 } });
  const loads = [];
  for (let i = 0; i < 2; i++) {
    const response = await page.goto(url);
    loads.push({ status: response.status(), heading: await page.locator("h1").innerText() });
  }
  print({ step: "loaded", loads, buttons: await page.locator("button").allInnerTexts() });
  const answer = await lines.next();
  if (answer.done || answer.value.trim() !== "approve") {
    throw new Error(`expected "approve" on standard input, got ${JSON.stringify(answer.value)}`);
  }
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Summary").fill(summary);
  await page.screenshot({ path: screenshot, fullPage: true });
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name: "Approve" }).click(),
  ]);
  print({
    step: "decided",
    status: response.status(),
    url: page.url(),
    heading: await page.locator("h1").innerText(),
    state: await page.locator(".state").innerText(),
    text: await page.locator("main").innerText(),
  });
} finally {
  input.close();
  await browser.close();
}
