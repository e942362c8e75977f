// Minimal test harness for the browser end-to-end tests: launches Debian's
// Chromium through playwright-core (never a downloaded browser), gives each
// test a fresh page that records console errors, and prints a summary line
// "N passed, N failed".
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export class AssertionError extends Error {}

export function assert(cond, message) {
  if (!cond) throw new AssertionError(message);
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor(what, fn, timeoutMs = 20_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new AssertionError(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function runSuite(tests, { baseUrl, only }) {
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`e2e: ${CHROMIUM} not found (apt-get install chromium)`);
    process.exit(1);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventshop-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    baseURL: baseUrl,
  });
  let passed = 0;
  let failed = 0;
  try {
    for (const t of tests) {
      if (only && !only.some((o) => t.name.includes(o))) continue;
      const page = await context.newPage();
      const consoleErrors = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") consoleErrors.push(msg.text());
      });
      page.on("pageerror", (err) => consoleErrors.push(`uncaught: ${err.message}`));
      const started = Date.now();
      try {
        await t.fn({ page, context, consoleErrors, allowConsoleErrors: (re) => t.allowed.push(re) });
        const unexpected = consoleErrors.filter((m) => !t.allowed.some((re) => re.test(m)));
        assert(unexpected.length === 0, `console errors: ${unexpected.join(" | ")}`);
        passed++;
        console.log(`PASS ${t.name} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${t.name} (${Date.now() - started} ms): ${e.stack ?? e}`);
        const shot = path.join(os.tmpdir(), `eventshop-e2e-failure-${t.name.replace(/\W+/g, "-")}.png`);
        await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
        console.log(`     screenshot of the failure: ${shot}`);
      } finally {
        await page.close().catch(() => {});
      }
    }
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0;
}

export function test(name, fn) {
  return { name, fn, allowed: [] };
}
