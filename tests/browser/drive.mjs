// Drives page.html in headless Debian Chromium (through playwright-core) for the agent's
// end-to-end test:
//
//   node drive.mjs --url URL --action NAME [--action NAME…] --out FILE.json
//                  [--screenshot FILE.png] [--timeout-ms N]
//                  [--chromium-arg ARG]… [--grant PERMISSION]…
//
// Opens URL, and for each action in order clicks #btn-NAME and waits for
// #result-NAME[data-done="1"] (the page's callback sets it). Writes
// {NAME: reply (parsed JSON, or the text when it is not JSON), …, console: [lines]} to
// --out and exits 0. Any failure (browser launch, page load, timeout) exits 1 with a message
// on stderr; --out then holds what was gathered so far and an "error" field.
//
// The environment is used as it is: Chromium on Linux trusts the certificate authorities in
// $HOME/.pki/nssdb, so the caller sets HOME to a directory whose NSS database holds the
// agent's local root. The browser is /usr/bin/chromium (Debian's package), or
// $KYSO_CHROMIUM; its profile is a fresh directory under os.tmpdir(), removed on exit.
//
// --chromium-arg adds a Chromium flag, e.g. --ignore-certificate-errors-spki-list=B64 (the
// base64 SHA-256 of the agent's leaf SPKI; trusts that key without NSS) or
// --ip-address-space-overrides=127.0.0.1:PORT=public (the page's server counts as a public
// site, as real integrations are: Chromium then blocks its WebSocket to 127.0.0.1 with
// net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS unless --grant local-network-access, the
// permission a person grants at the prompt). --grant gives the page's context a permission.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { chromiumArgs as baseArgs, executablePath } from "./chromium.mjs";

const usage =
  "usage: node drive.mjs --url URL --action NAME [--action NAME…] --out FILE.json " +
  "[--screenshot FILE.png] [--timeout-ms N] [--chromium-arg ARG]… [--grant PERMISSION]…";

function fail(message) {
  process.stderr.write(`drive.mjs: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      url: { type: "string" },
      action: { type: "string", multiple: true },
      out: { type: "string" },
      screenshot: { type: "string" },
      "timeout-ms": { type: "string" },
      "chromium-arg": { type: "string", multiple: true },
      grant: { type: "string", multiple: true },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (e) {
  fail(`${e.message}\n${usage}`);
}
if (!args.url || !args.out || !args.action || args.action.length === 0) fail(usage);
const timeoutMs = args["timeout-ms"] === undefined ? 60_000 : Number(args["timeout-ms"]);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) fail(`--timeout-ms takes a positive number of milliseconds, not '${args["timeout-ms"]}'`);
for (const a of args.action) {
  if (!/^[A-Za-z0-9_-]+$/.test(a)) fail(`bad action name '${a}'`);
}

const chromiumArgs = [...baseArgs, ...(args["chromium-arg"] ?? [])];

const result = {};
const consoleLines = [];
let context;
let page;
let userDataDir;
let exitCode = 0;

function writeOut(error) {
  const out = { ...result, console: consoleLines };
  if (error) out.error = error;
  fs.writeFileSync(args.out, JSON.stringify(out, null, 2) + "\n");
}

try {
  if (!fs.existsSync(executablePath)) {
    throw new Error(`no browser at ${executablePath} (apt-get install chromium)`);
  }
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kyso-chromium-"));
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: chromiumArgs,
      env: process.env,
      timeout: 60_000,
    });
  } catch (e) {
    throw new Error(`cannot launch ${executablePath}: ${e.message}`);
  }
  if (args.grant) await context.grantPermissions(args.grant);
  page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) =>
    consoleLines.push(`requestfailed: ${r.url()}: ${r.failure()?.errorText ?? "?"}`),
  );

  try {
    const response = await page.goto(args.url, { waitUntil: "load", timeout: 30_000 });
    if (response && !response.ok()) throw new Error(`HTTP ${response.status()}`);
  } catch (e) {
    throw new Error(`cannot open ${args.url}: ${e.message}`);
  }

  for (const name of args.action) {
    const button = page.locator(`#btn-${name}`);
    if ((await button.count()) !== 1) throw new Error(`the page has no button #btn-${name}`);
    await button.click({ timeout: 10_000 });
    const sel = `#result-${name}[data-done="1"]`;
    try {
      await page.waitForSelector(sel, { state: "attached", timeout: timeoutMs });
    } catch {
      throw new Error(`action ${name}: no reply within ${timeoutMs} ms (waited for ${sel})`);
    }
    const text = await page.locator(`#result-${name}`).textContent();
    let value = text;
    try {
      value = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    result[name] = value;
  }
  if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  writeOut();
} catch (e) {
  exitCode = 1;
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`drive.mjs: ${message}\n`);
  if (consoleLines.length) process.stderr.write(`drive.mjs: page console:\n  ${consoleLines.join("\n  ")}\n`);
  if (page && args.screenshot) {
    await page.screenshot({ path: args.screenshot, fullPage: true, timeout: 5_000 }).catch(() => {});
  }
  try {
    writeOut(message);
  } catch (w) {
    process.stderr.write(`drive.mjs: cannot write ${args.out}: ${w.message}\n`);
  }
} finally {
  if (context) {
    await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
  }
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(exitCode);
