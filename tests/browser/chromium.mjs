// Debian's Chromium as the tests launch it (shared by drive.mjs and verify-page.mjs).
// Without the background-networking flags Chromium's own connections fail on a machine
// without internet access, and its connections to loopback get refused along with them.
export const executablePath = process.env.KYSO_CHROMIUM || "/usr/bin/chromium";
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
