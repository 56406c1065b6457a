// Package e2e holds the dashboard's end-to-end test: it builds the real
// picloud binary, starts `picloud serve` on a fresh SQLite data directory and
// drives the embedded dashboard in headless Chromium with web/e2e/run.mjs
// (playwright-core). It skips, saying why, when Chromium, Node.js or the
// dashboard's npm dependencies are missing. See docs/dashboard.md.
package e2e
