// Drives kyso's staff web pages in headless Debian Chromium (through playwright-core) by
// a plan of steps, and checks each page's accessibility with axe-core:
//
//   node ui-flow.mjs --plan PLAN.json --out RESULT.json
//
// PLAN.json: {"base": "http://127.0.0.1:PORT", "width": 1280, "steps": [STEP…]}. One
// browser, one page; the steps run in order, each an object with "do":
//   login {user, password}         the login form, then the page it leads to
//   logout                         the "Đăng xuất" button
//   goto {path, name?}             opens base+path; result[name] = HTTP status
//   click {selector, navigate?}    clicks; with navigate: waits for the page that follows
//                                  (a link, or a form whose script reloads the page)
//   fill {selector, value}         types into a field
//   check {selector}               ticks a checkbox
//   files {selector, path}         chooses a file in an <input type=file>
//   select {selector, label}       chooses an option by its text
//   wait_text {selector, text, timeout_ms?}   until the element's text contains text
//   wait {selector, timeout_ms?}   until the element exists
//   text {selector, name}          result[name] = the element's text ("" when absent)
//   count {selector, name}         result[name] = how many elements match
//   url {name}                     result[name] = the page's path
//   axe {name}                     result.axe[name] = axe-core violations of the page
//   screenshot {path, width?}      a full-page PNG (at width, then back); with width,
//                                  result.widths[file name] = the page's scroll width
// Writes {…results, axe: {name: [violations]}, console: [errors], error?} to --out; exits
// 0, or 1 at the first failing step (named in "error"). Each violation is {id, impact,
// help, nodes}.
//
// The pages' Content-Security-Policy allows only their own scripts; the browser context
// bypasses it only so that axe-core can be injected. Chromium trusts kyso agent's local
// root through $HOME/.pki/nssdb (the caller sets HOME), as for drive.mjs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { axe } from "./axe.mjs";
import { chromiumArgs, executablePath } from "./chromium.mjs";


const { values: args } = parseArgs({
  options: { plan: { type: "string" }, out: { type: "string" } },
  strict: true,
});
if (!args.plan || !args.out) {
  process.stderr.write("usage: node ui-flow.mjs --plan PLAN.json --out RESULT.json\n");
  process.exit(2);
}
const plan = JSON.parse(fs.readFileSync(args.plan, "utf8"));
const width = plan.width || 1280;
const result = { axe: {} };
const consoleErrors = [];
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kyso-chromium-"));
let context;
let code = 0;

async function navigating(page, action) {
  const nav = page.waitForNavigation({ waitUntil: "load", timeout: 90_000 });
  nav.catch(() => {});
  await action();
  // A form's script shows the server's refusal instead of reloading: stop there.
  const refused = page
    .waitForSelector(".form-error:not(:empty)", { state: "attached", timeout: 90_000 })
    .then(async (el) => {
      throw new Error(`the page says: ${await el.innerText()}`);
    });
  refused.catch(() => {});
  await Promise.race([nav, refused]);
}

async function run(page, step) {
  const timeout = step.timeout_ms || 60_000;
  switch (step.do) {
    case "login": {
      await page.goto(`${plan.base}/dang-nhap`, { waitUntil: "load" });
      await page.getByLabel("Tên đăng nhập", { exact: true }).fill(step.user);
      await page.getByLabel("Mật khẩu", { exact: true }).fill(step.password);
      await navigating(page, () => page.getByRole("button", { name: "Đăng nhập" }).click());
      if (page.url().includes("/dang-nhap")) {
        const why = await page.locator("#loi-dang-nhap").innerText().catch(() => "");
        throw new Error(`login ${step.user} failed: ${why}`);
      }
      break;
    }
    case "logout":
      await navigating(page, () => page.getByRole("button", { name: "Đăng xuất" }).click());
      break;
    case "goto": {
      const r = await page.goto(`${plan.base}${step.path}`, { waitUntil: "load" });
      if (step.name) result[step.name] = r ? r.status() : 0;
      break;
    }
    case "click":
      if (step.navigate) await navigating(page, () => page.locator(step.selector).first().click());
      else await page.locator(step.selector).first().click();
      break;
    case "fill":
      await page.locator(step.selector).fill(step.value);
      break;
    case "check":
      await page.locator(step.selector).check();
      break;
    case "files":
      await page.locator(step.selector).setInputFiles(step.path);
      break;
    case "select":
      await page.locator(step.selector).selectOption({ label: step.label });
      break;
    case "wait_text":
      await page.waitForFunction(
        ([sel, text]) => {
          const el = document.querySelector(sel);
          return el && el.textContent.includes(text);
        },
        [step.selector, step.text],
        { timeout },
      );
      break;
    case "wait":
      await page.waitForSelector(step.selector, { state: "attached", timeout });
      break;
    case "text": {
      const el = page.locator(step.selector);
      result[step.name] = (await el.count()) ? (await el.first().innerText()).trim() : "";
      break;
    }
    case "count":
      result[step.name] = await page.locator(step.selector).count();
      break;
    case "url":
      result[step.name] = new URL(page.url()).pathname;
      break;
    case "axe":
      result.axe[step.name] = await axe(page);
      break;
    case "screenshot":
      if (step.width) {
        await page.setViewportSize({ width: step.width, height: 900 });
        // What overflows the narrow screen shows as a page wider than it.
        result.widths ??= {};
        result.widths[path.basename(step.path)] = await page.evaluate(
          () => document.documentElement.scrollWidth,
        );
      }
      await page.screenshot({ path: step.path, fullPage: true });
      if (step.width) await page.setViewportSize({ width, height: 900 });
      break;
    default:
      throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    bypassCSP: true,
    viewport: { width, height: 900 },
    args: chromiumArgs,
    timeout: 60_000,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(60_000);
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  for (const [i, step] of plan.steps.entries()) {
    try {
      await run(page, step);
    } catch (e) {
      const where = new URL(page.url()).pathname;
      const status = await page.locator(".form-status").allInnerTexts().catch(() => []);
      throw new Error(
        `step ${i} ${JSON.stringify(step)} on ${where}: ${e && e.message ? e.message : e}` +
          (status.some((s) => s) ? ` — form status: ${status.filter((s) => s).join(" | ")}` : ""),
      );
    }
  }
} catch (e) {
  result.error = String(e && e.message ? e.message : e);
  process.stderr.write(`ui-flow.mjs: ${result.error}\n`);
  code = 1;
} finally {
  result.console = consoleErrors;
  fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + "\n");
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
