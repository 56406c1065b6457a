// End-to-end test of the dashboard's Nodes page in real headless Chromium, against a
// running server (internal/dashboard/e2e's TestDashboardNodes starts `picloud serve` and
// runs this file). The server has no nodes at first; when this script prints the line
//
//   e2e: seed nodes
//
// it waits for a line on its standard input, by which time the test has saved three
// nodes into the server's store (picloud.NodeStore.SaveNode) and keeps two of them
// heartbeating:
//
//   e2e-node-a          ok, load 3 of 8, journal empty, components journal and manager ok
//   e2e-node-b          degraded, load 4 of 4, 5120 journal bytes, manager down (unreachable)
//   e2e-node-gone:8003  reported ok, but its last heartbeat is 30 s old: lost (a colon in
//                       its name, as the default host:port names have, reaches DELETE escaped)
//
// With the nodes it also creates the script e2e-on-node and writes two of its executions
// (picloud.ExecutionStore.InsertExecutions): e2e-exec-on-node ran on e2e-node-a, and an
// older test run has no node, as a manager's own test runs do.
//
// Environment: PICLOUD_URL, PICLOUD_ADMIN_TOKEN, CHROMIUM and E2E_SCREENSHOTS as for
// run.mjs (screenshots go to a nodes/ folder inside E2E_SCREENSHOTS).

import { openBrowser, timeout } from './browser.mjs';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.env.PICLOUD_URL ?? '').replace(/\/$/, '');
const token = process.env.PICLOUD_ADMIN_TOKEN ?? '';
const shots = join(resolve(process.env.E2E_SCREENSHOTS ?? join(here, 'screenshots')), 'nodes');
// The page reloads the list every 5 s; nodes seeded meanwhile show at the next reload.
const reloadWait = 20_000;

if (!base || !token) {
	console.error('e2e: set PICLOUD_URL and PICLOUD_ADMIN_TOKEN');
	process.exit(2);
}

rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });
const { context, page, close } = await openBrowser('nodes', {
	viewport: { width: 1366, height: 900 },
	colorScheme: 'light'
});

const problems = [];
page.on('console', (msg) => {
	if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${current}: ${msg.type()}: ${msg.text()}`);
});
page.on('pageerror', (err) => problems.push(`${current}: uncaught ${err.message}`));
page.on('requestfailed', (req) => {
	if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
	problems.push(`${current}: request failed ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
});

// GET /api/nodes requests the page makes, to see that it polls only while visible.
let listRequests = 0;
page.on('request', (req) => {
	if (req.method() === 'GET' && new URL(req.url()).pathname === '/api/nodes') listRequests++;
});

let current = 'start';
let shotNo = 0;
const passed = [];

async function step(name, fn) {
	current = name;
	const t0 = Date.now();
	try {
		await fn();
	} catch (err) {
		await page.screenshot({ path: join(shots, `FAILED-${slug(name)}.png`), fullPage: true }).catch(() => {});
		console.error(`FAIL ${name}: ${err.stack ?? err}`);
		await finish(1);
	}
	passed.push(name);
	console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}

async function shot(name) {
	shotNo++;
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: join(shots, `${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
}

function slug(s) {
	return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function finish(code) {
	await close();
	process.exit(code);
}

/** Makes the page think its tab is hidden (or visible again), as switching tabs does. */
async function setHidden(hidden) {
	await page.evaluate((hidden) => {
		if (hidden) Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
		else delete document.visibilityState;
		document.dispatchEvent(new Event('visibilitychange'));
	}, hidden);
}

const rows = page.getByTestId('node');
const row = (name) => rows.filter({ has: page.getByTestId('node-name').filter({ hasText: name }) });

await step('the nodes page, loaded directly, asks to sign in and then shows', async () => {
	await page.goto(base + '/nodes');
	await page.getByLabel('API token').fill(token);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
	assert.equal(await page.getByTestId('nav-nodes').getAttribute('aria-current'), 'page');
});

await step('without nodes, it explains the all-in-one server and how to start nodes', async () => {
	const empty = page.getByTestId('nodes-empty');
	await empty.waitFor();
	assert.match(await empty.innerText(), /all-in-one/);
	const howto = await page.getByTestId('nodes-howto').innerText();
	assert.match(howto, /picloud manager --cluster-token/);
	assert.match(howto, /picloud node --manager \S+ --cluster-token/);
	assert.match(await empty.innerText(), /docs\/cluster\.md/);
	await shot('empty');
});

await step('seeded nodes appear at the next refresh, without reloading the page', async () => {
	console.log('e2e: seed nodes');
	const lines = createInterface({ input: process.stdin });
	await new Promise((resolve, reject) => {
		lines.once('line', resolve);
		lines.once('close', () => reject(new Error('standard input closed before the nodes were seeded')));
	});
	lines.close();
	await page.waitForFunction(() => document.querySelectorAll('[data-testid="node"]').length === 3, null, {
		timeout: reloadWait
	});
	assert.deepEqual(await page.getByTestId('node-name').allInnerTexts(), ['e2e-node-a', 'e2e-node-b', 'e2e-node-gone:8003']);
});

await step('each row shows its status, load, journal and heartbeat', async () => {
	const statuses = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
	assert.deepEqual(statuses, ['ok', 'degraded', 'lost']);
	assert.deepEqual(await page.getByTestId('node-status').allInnerTexts(), ['ok', 'degraded', 'lost']);

	const a = row('e2e-node-a');
	assert.equal(await a.getByTestId('node-load').innerText(), '3 / 8');
	assert.equal(await a.getByTestId('node-journal').innerText(), '0 B');
	assert.match(await a.innerText(), /http:\/\/127\.0\.0\.1:18001/);
	assert.match(await a.getByTestId('node-heartbeat').innerText(), /^\d+ s ago$/);

	const b = row('e2e-node-b');
	assert.equal(await b.getByTestId('node-load').innerText(), '4 / 4');
	const journal = b.getByTestId('node-journal');
	assert.equal(await journal.innerText(), '5 KiB waiting');
	assert.ok(await journal.evaluate((el) => el.classList.contains('pending')), 'a journal holding rows is highlighted');
	assert.equal(await b.getByTestId('node-status').getAttribute('title'), 'journal: ok, manager: down (unreachable)');

	assert.equal(await page.getByTestId('nodes-count-lost').innerText(), '1 lost');
	assert.equal(await page.getByTestId('node-forget').count(), 1, 'only the lost node can be forgotten');
	assert.equal(await row('e2e-node-gone:8003').getByTestId('node-forget').count(), 1);
	await shot('list');
});

await step('the last heartbeat counts up between reloads', async () => {
	const hb = row('e2e-node-gone:8003').getByTestId('node-heartbeat');
	const first = await hb.innerText();
	assert.match(first, /^\d+ s ago$/);
	await page.waitForFunction(
		([first]) => {
			const tr = [...document.querySelectorAll('[data-testid="node"]')].find((r) => r.getAttribute('data-name') === 'e2e-node-gone:8003');
			const t = tr?.querySelector('[data-testid="node-heartbeat"]')?.textContent;
			return t && t !== first;
		},
		[first],
		{ timeout: reloadWait }
	);
});

await step('details show the node\'s health components', async () => {
	const b = row('e2e-node-b');
	await b.getByTestId('node-details').click();
	const detail = page.getByTestId('node-detail');
	await detail.waitFor();
	const comps = await detail.getByTestId('node-component').allInnerTexts();
	assert.equal(comps.length, 2);
	assert.match(comps[0], /journal\s+ok/);
	assert.match(comps[1], /manager\s+down\s+—?\s*unreachable/);
	assert.match(await detail.innerText(), /5,120 bytes not yet delivered/);
	await shot('details');
	await b.getByTestId('node-details').click();
	await detail.waitFor({ state: 'detached' });
});

await step('the list is not polled while the tab is hidden, and is reloaded when it shows', async () => {
	await setHidden(true);
	const before = listRequests;
	// Longer than the 5 s reload period: a page that kept polling would ask at least once.
	await new Promise((r) => setTimeout(r, 6500));
	assert.equal(listRequests, before, 'no GET /api/nodes while hidden');
	const reloaded = page.waitForRequest((req) => req.method() === 'GET' && new URL(req.url()).pathname === '/api/nodes', {
		timeout: 2000
	});
	await setHidden(false);
	await reloaded;
});

await step('forget asks for confirmation, then removes the lost node', async () => {
	await row('e2e-node-gone:8003').getByTestId('node-forget').click();
	const dialog = page.getByTestId('confirm-dialog').filter({ hasText: 'Forget node e2e-node-gone:8003?' });
	await dialog.waitFor();
	await shot('forget-confirm');
	await dialog.getByRole('button', { name: 'Forget' }).click();
	await page.getByTestId('nodes-forgotten').waitFor();
	await row('e2e-node-gone:8003').waitFor({ state: 'detached' });
	// The next reload asks the server, which has forgotten it: the node stays gone.
	const req = await page.waitForRequest((req) => req.method() === 'GET' && new URL(req.url()).pathname === '/api/nodes', {
		timeout: reloadWait
	});
	const res = await req.response();
	assert.equal(res?.status(), 200);
	assert.deepEqual((await res.json()).items.map((n) => n.name), ['e2e-node-a', 'e2e-node-b']);
	await page.waitForTimeout(300); // the page renders the answer
	assert.deepEqual(await page.getByTestId('node-name').allInnerTexts(), ['e2e-node-a', 'e2e-node-b']);
	assert.equal(await page.getByTestId('node-forget').count(), 0);
});

await step('the page works on a phone and in the dark', async () => {
	await page.setViewportSize({ width: 390, height: 844 });
	await page.evaluate(() => window.scrollTo(0, 0));
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
	await shot('phone');
	await page.setViewportSize({ width: 1366, height: 900 });
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot('dark');
	await page.emulateMedia({ colorScheme: 'light' });
});

await step('an execution a node ran names it, on its page and in its script\'s list', async () => {
	await page.goto(base + '/executions/e2e-exec-on-node');
	const exec = page.getByTestId('execution-page');
	await exec.waitFor();
	assert.equal(await exec.getByTestId('execution-node').innerText(), 'e2e-node-a');
	await page.getByRole('link', { name: '← Script' }).click();
	const list = page.getByTestId('executions');
	await list.getByTestId('execution').nth(1).waitFor();
	// Newest first; the manager's test run has no node and says so only because its list has one.
	assert.deepEqual(await list.getByTestId('execution-node-tag').allInnerTexts(), ['e2e-node-a', '—']);
	await list.getByTestId('execution').last().getByRole('button').first().click();
	const detail = list.getByTestId('execution-detail');
	await detail.waitFor();
	assert.equal(await detail.getByTestId('execution-node').count(), 0, 'no Node entry for a row without one');
	await shot('executions-with-node');
});

await step('the console stayed clean', async () => {
	assert.deepEqual(problems, [], 'console errors and warnings');
});

console.log(`\n${passed.length} steps passed; screenshots in ${shots}`);
await finish(0);
