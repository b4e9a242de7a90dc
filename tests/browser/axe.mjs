// axe-core run in a page (shared by verify-page.mjs and ui-flow.mjs): its violations as
// {id, impact, help, nodes}. The browser context must bypass the page's CSP so that the
// script can be injected.
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export async function axe(page) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { resultTypes: ["violations"] }),
  );
  return r.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
}
