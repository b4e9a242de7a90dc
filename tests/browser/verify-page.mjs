// Drives kyso's public verification page (/xac-minh) in headless Debian Chromium through
// playwright-core, and checks its accessibility with axe-core:
//
//   node verify-page.mjs --url URL --file PATH [--signature PATH] --out FILE.json
//                        [--screenshot FILE.png] [--width PX]
//
// Opens URL (the page), runs axe-core on the form, chooses --file (and --signature) in the
// form's inputs with the keyboard-reachable controls, submits, waits for the report (or the
// error) and the drawing of the PDF's pages, and runs axe-core again. Writes {form_axe:
// [violations], result_axe: [violations], verdict: text of #ket-luan, main: text of
// <main>, status: HTTP status of the upload, pages: pages drawn, boxes: signature
// rectangles outlined on them, placed_signatures: signatures with a known rectangle,
// links: the panel's links to them, link_target: the rectangle the first link shows}
// to --out and exits 0; exits 1 on any failure. Each violation is {id, impact, help, nodes}.
// --width sets the viewport width (e.g. 390 for a phone); the screenshot is of the report.
//
// The page's Content-Security-Policy allows only its own scripts; the browser context
// bypasses it only so that axe-core can be injected.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { axe } from "./axe.mjs";
import { chromiumArgs, executablePath } from "./chromium.mjs";


const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    file: { type: "string" },
    signature: { type: "string" },
    out: { type: "string" },
    screenshot: { type: "string" },
    width: { type: "string" },
  },
  strict: true,
});
if (!args.url || !args.file || !args.out) {
  process.stderr.write("usage: node verify-page.mjs --url URL --file PATH [--signature PATH] --out FILE.json [--screenshot P] [--width PX]\n");
  process.exit(2);
}
const width = args.width ? Number(args.width) : 1280;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kyso-chromium-"));
const result = {};
let context;
let code = 0;

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
  const first = await page.goto(args.url, { waitUntil: "load", timeout: 30_000 });
  if (!first || !first.ok()) throw new Error(`cannot open ${args.url}: HTTP ${first?.status()}`);
  result.form_axe = await axe(page);
  await page.getByLabel("Tệp cần kiểm tra", { exact: false }).setInputFiles(args.file);
  if (args.signature) {
    await page.getByLabel("Tệp chữ ký .p7s", { exact: false }).setInputFiles(args.signature);
  }
  // The page's script sends the form in the background and draws the PDF's pages; the
  // report replaces the old one in place (without the script the form would navigate).
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/xac-minh") && r.request().method() === "POST", {
      timeout: 60_000,
    }),
    page.getByRole("button", { name: "Kiểm tra", exact: true }).press("Enter"),
  ]);
  result.status = response.status();
  await page.waitForSelector("#ket-qua-kiem-tra, #loi-kiem-tra", { state: "attached", timeout: 60_000 });
  await page.waitForFunction(() => document.getElementById("tien-trinh").textContent === "", null, {
    timeout: 60_000,
  });
  const verdict = page.locator("#ket-luan");
  result.verdict = (await verdict.count()) ? (await verdict.innerText()).trim() : "";
  result.main = (await page.locator("main").innerText()).trim();
  result.pages = Number((await page.locator("#trang-van-ban").getAttribute("data-pages")) || 0);
  result.boxes = await page.locator(".vung-chu-ky").count();
  result.placed_signatures = await page.locator("[data-rect]").count();
  // The panel links each placed signature to its rectangle on the drawn page.
  const links = page.locator("a.xem-vi-tri");
  result.links = await links.count();
  if (result.links > 0) {
    await links.first().press("Enter");
    result.link_target = await page.evaluate(() => {
      const target = document.querySelector(":target");
      if (!target) return "";
      const r = target.getBoundingClientRect();
      const visible = r.bottom > 0 && r.top < window.innerHeight;
      return visible ? target.id : `${target.id} (not in view)`;
    });
  }
  result.result_axe = await axe(page);
  if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
} catch (e) {
  result.error = String(e && e.message ? e.message : e);
  process.stderr.write(`verify-page.mjs: ${result.error}\n`);
  code = 1;
} finally {
  fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + "\n");
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
