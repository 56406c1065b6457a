// End-to-end test of the dashboard in real headless Chromium, against a running
// `picloud serve` (internal/dashboard/e2e starts one on a fresh SQLite data directory and
// runs this file; see docs/dashboard.md).
//
//   PICLOUD_URL=http://127.0.0.1:8080 PICLOUD_ADMIN_TOKEN=... node e2e/run.mjs
//
// Environment:
//   PICLOUD_URL           the server's base URL (required)
//   PICLOUD_ADMIN_TOKEN   the admin token (required)
//   CHROMIUM              the browser, /usr/bin/chromium by default (Debian's package)
//   E2E_SCREENSHOTS       where screenshots go, web/e2e/screenshots by default
//
// Every step runs in order against one browser profile. Screenshots of the main pages
// are saved on the way (and one named FAILED-... when a step fails), and at the end the
// test asserts that the browser console stayed clean: no errors, warnings or uncaught
// exceptions beyond the ones a step announced it expects.

import { chromium } from 'playwright-core';
import { openBrowser, executablePath, timeout } from './browser.mjs';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.env.PICLOUD_URL ?? '').replace(/\/$/, '');
const token = process.env.PICLOUD_ADMIN_TOKEN ?? '';
const shots = resolve(process.env.E2E_SCREENSHOTS ?? join(here, 'screenshots'));

if (!base || !token) {
	console.error('e2e: set PICLOUD_URL and PICLOUD_ADMIN_TOKEN');
	process.exit(2);
}

rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });
const { context, page, close } = await openBrowser('dashboard', {
	viewport: { width: 1366, height: 900 },
	colorScheme: 'light'
});

// Console problems, and the ones a step says it expects.
const problems = [];
let expected = [];
page.on('console', (msg) => {
	if (msg.type() !== 'error' && msg.type() !== 'warning') return;
	const text = `${msg.type()}: ${msg.text()}`;
	const i = expected.findIndex((re) => re.test(text));
	if (i >= 0) expected.splice(i, 1);
	else problems.push(`${current}: ${text}`);
});
page.on('pageerror', (err) => problems.push(`${current}: uncaught ${err.message}`));
page.on('requestfailed', (req) => {
	if (req.failure()?.errorText === 'net::ERR_ABORTED') return; // superseded validations
	problems.push(`${current}: request failed ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
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

async function shot(name, { fullPage = true } = {}) {
	shotNo++;
	// Full-page captures scroll; from the top, the sticky header stays where it belongs.
	if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
	const file = join(shots, `${String(shotNo).padStart(2, '0')}-${name}.png`);
	await page.screenshot({ path: file, fullPage });
}

function slug(s) {
	return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function finish(code) {
	await close();
	process.exit(code);
}

/** Replaces the editor's text as a paste would (no auto-closed brackets). */
async function setSource(text) {
	const content = page.getByTestId('editor').locator('.cm-content');
	await content.click();
	await page.keyboard.press('Control+A');
	await page.keyboard.insertText(text);
}

/** Polls fn until it returns a truthy value, or fails after the step timeout. */
async function until(fn, what) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

/** An admin API call from the page (the session cookie and the CSRF header). */
async function apiCall(method, path, body, contentType = 'application/json') {
	return page.evaluate(
		async ([method, path, body, contentType]) => {
			const headers = { 'X-PiCloud-CSRF': '1' };
			if (body !== undefined) headers['Content-Type'] = contentType;
			const res = await fetch(path, { method, headers, body });
			const text = await res.text();
			return { status: res.status, body: text ? JSON.parse(text) : null };
		},
		[method, path, body, contentType]
	);
}

async function editorText() {
	return page
		.getByTestId('editor')
		.locator('.cm-line')
		.evaluateAll((lines) => lines.map((l) => l.textContent).join('\n'));
}

const name = `e2e-${Date.now().toString(36)}`;
const v1 = `// version one
let who = request.query.who ?? "world";
"Hello, " + who
`;
const v2 = `// version two: echoes the body and a header
let who = request.body.who;
log::info("greeting", #{ who: who, tag: request.headers["x-e2e"] });
#{
    status: 201,
    headers: #{ "x-greeting": "hi " + who },
    body: #{ message: "Hello, " + who, tag: request.headers["x-e2e"] }
}
`;

await step('the sign-in page shows', async () => {
	await page.goto(base + '/');
	await page.getByLabel('API token').waitFor();
	// This server has no --oidc-issuer: no single sign-on is offered (e2e/oidc.mjs tests it).
	assert.equal(await page.getByTestId('sso-sign-in').count(), 0, 'no single sign-on without --oidc-issuer');
	await shot('sign-in');
});

await step('a wrong token is refused with a message', async () => {
	expected.push(/status of 401/); // the browser logs the refused POST /api/session
	await page.getByLabel('API token').fill('not-the-token');
	await page.getByRole('button', { name: 'Sign in' }).click();
	const err = page.getByTestId('signin-error');
	await err.waitFor();
	assert.match(await err.innerText(), /not a valid API token/i);
	await shot('sign-in-wrong-token');
});

await step('signing in shows the empty script list', async () => {
	await page.getByLabel('API token').fill(token);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('heading', { name: 'Scripts' }).waitFor();
	await page.getByTestId('empty-scripts').waitFor();
	// An empty server: a friendly note instead of empty charts.
	await page.getByTestId('summary-empty').waitFor();
	assert.equal(await page.getByTestId('summary').locator('canvas').count(), 0, 'no chart without executions');
	assert.equal(await page.getByTestId('summary-calls').innerText(), '0');
	// The cookie is scoped to the admin API: pages under /fn/ never get it.
	assert.equal((await context.cookies(base + '/fn/x')).length, 0, 'no cookie is sent to functions');
	const cookies = await context.cookies(base + '/api/session');
	assert.ok(cookies.length > 0, 'a session cookie is set');
	for (const c of cookies) {
		assert.equal(c.httpOnly, true, `cookie ${c.name} is HttpOnly`);
		assert.equal(c.sameSite, 'Strict', `cookie ${c.name} is SameSite=Strict`);
		assert.equal(c.path, '/api', `cookie ${c.name} is scoped to /api`);
		assert.match(c.value, /^pcs_[0-9a-f]{64}$/, 'the cookie is a random session id');
		assert.ok(!c.value.includes(token), 'the cookie is not the token');
	}
	const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
	assert.ok(!storage.includes(token), 'the token is not in browser storage');
	await shot('scripts-empty');
});

await step('a global secret is set from the list page and listed without its value', async () => {
	const panel = page.getByTestId('global-secrets');
	await panel.getByTestId('secrets-empty').waitFor();
	await panel.getByTestId('secret-name').fill('E2E_GLOBAL');
	await panel.getByTestId('secret-value').fill('e2e-global-value-123');
	await panel.getByRole('button', { name: 'Set' }).click();
	await panel.getByTestId('secret-E2E_GLOBAL').waitFor();
	assert.ok(!(await panel.innerText()).includes('e2e-global-value-123'), 'the value is not shown');
	const res = await page.evaluate(async () => (await fetch('/api/secrets')).text());
	assert.ok(res.includes('E2E_GLOBAL') && !res.includes('e2e-global-value-123'), 'the API lists the name only');
});

await step('a bad name is caught before it is sent', async () => {
	await page.getByLabel('Name', { exact: true }).fill('Bad Name');
	await page.getByRole('button', { name: 'Create script' }).click();
	await page.getByText('Use lower-case letters').waitFor();
	assert.equal(await page.getByTestId('script-row').count(), 0);
});

await step('the create form\'s starting source compiles', async () => {
	const template = await page.getByLabel('Source').inputValue();
	const result = await page.evaluate(async (source) => {
		const res = await fetch('/api/validate', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'X-PiCloud-CSRF': '1' },
			body: JSON.stringify({ source })
		});
		return res.json();
	}, template);
	assert.deepEqual(result, { ok: true, errors: [] });
});

await step('creating a script lists it', async () => {
	await page.getByLabel('Name', { exact: true }).fill(name);
	await page.getByLabel('Source').fill(v1);
	await page.getByRole('button', { name: 'Create script' }).click();
	const row = page.getByTestId('script-row').filter({ hasText: name });
	await row.waitFor();
	assert.match(await row.innerText(), /v1/);
	assert.match(await row.innerText(), /never/);
	await shot('scripts-list');
});

await step('the detail page opens with the editor', async () => {
	await page.getByTestId('script-row').getByRole('link', { name, exact: true }).click();
	await page.getByTestId('script-name').filter({ hasText: name }).waitFor();
	assert.equal(await page.getByTestId('script-version').innerText(), 'v1');
	await page.getByTestId('editor').locator('.cm-content').waitFor();
	assert.equal((await editorText()).trim(), v1.trim());
	// The Rhai highlighter styled the comment and the string.
	assert.ok((await page.getByTestId('editor').locator('.cm-line span').count()) > 3, 'source is highlighted');
	await page.getByTestId('compiles').waitFor();
	await shot('script-detail');
});

await step('the endpoint shows a curl example that copies', async () => {
	const endpoint = page.getByTestId('endpoint');
	await endpoint.locator('summary').click();
	const curl = await endpoint.getByTestId('curl').innerText();
	assert.ok(curl.startsWith(`curl -X POST ${base}/fn/${name}`), `curl example: ${curl}`);
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
	await endpoint.getByTestId('copy-curl').click();
	await endpoint.getByTestId('copy-curl').filter({ hasText: 'Copied' }).waitFor();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
	await endpoint.locator('summary').click();
});

await step('bad source shows an inline compile error', async () => {
	await setSource('let x = 1;\nlet y = (x + ;\n');
	const list = page.getByTestId('compile-errors');
	await list.waitFor();
	assert.match(await list.innerText(), /^2:\d+/m, 'the error is on line 2');
	await page.getByTestId('editor').locator('.cm-lintRange-error').first().waitFor();
	await shot('compile-error');
	// Saving it anyway: the server's refusal, its position once; an edit clears the banner.
	expected.push(/status of 400/);
	await page.keyboard.press('Control+S');
	const banner = page.getByTestId('save-error');
	await banner.waitFor();
	assert.equal((await banner.innerText()).match(/line 2/g)?.length, 1, `position once: ${await banner.innerText()}`);
	await page.keyboard.type(' ');
	await banner.waitFor({ state: 'detached' });
});

await step('editing and saving bumps the version', async () => {
	await setSource(v2);
	await page.getByTestId('compiles').waitFor();
	await page.keyboard.press('Control+S'); // the editor's save key; the Save button does the same
	await page.getByTestId('saved').filter({ hasText: 'version 2' }).waitFor();
	assert.equal(await page.getByTestId('script-version').innerText(), 'v2');
	assert.equal(await page.getByTestId('unsaved').count(), 0);
});

await step('limits save without a new version', async () => {
	await page.getByText('Settings', { exact: true }).click();
	await page.getByLabel('Timeout (ms)', { exact: true }).fill('2500');
	await page.getByLabel('Max memory (bytes)', { exact: true }).fill('68719476737');
	await page.getByTestId('limits-problem').filter({ hasText: 'Max memory (bytes): at most' }).waitFor();
	assert.equal(await page.getByTestId('save').isDisabled(), true, 'an out-of-range setting cannot be saved');
	await page.getByLabel('Max memory (bytes)', { exact: true }).fill('16777216');
	await page.getByTestId('save').click();
	await page.getByTestId('saved').filter({ hasText: /^Saved\.$/ }).waitFor();
	assert.equal(await page.getByTestId('script-version').innerText(), 'v2');
	assert.equal(await page.getByLabel('Timeout (ms)', { exact: true }).inputValue(), '2500');
	assert.equal(await page.getByLabel('Max memory (bytes)', { exact: true }).inputValue(), '16777216');
	await page.getByText('Settings', { exact: true }).click();
});

await step('a test invocation with a body and a header shows the response', async () => {
	const panel = page.getByTestId('test-panel');
	await panel.getByLabel('Method').selectOption('POST');
	await panel.getByLabel('Headers').fill('X-E2E: from-the-browser');
	await panel.getByLabel('JSON body').fill('{"who": "tester"}');
	await page.getByTestId('run-test').click();
	await page.getByTestId('test-result').waitFor();
	assert.equal(await page.getByTestId('test-status').innerText(), 'HTTP 201');
	const headers = await page.getByTestId('test-headers').innerText();
	assert.match(headers, /x-greeting\s+hi tester/i);
	const body = await page.getByTestId('test-body').innerText();
	assert.match(body, /"message": "Hello, tester"/);
	assert.match(body, /from-the-browser/);
	assert.match(await page.getByTestId('test-logs').innerText(), /greeting/);
	assert.match(await page.getByTestId('test-operations').innerText(), /^\d[\d,]*$/);
	await shot('test-panel');
});

await step('the execution appears with its log lines', async () => {
	const row = page.getByTestId('execution').first();
	await row.filter({ hasText: 'POST' }).waitFor();
	assert.match(await row.innerText(), /test/);
	await row.getByRole('button').first().click();
	const detail = row.getByTestId('execution-detail');
	await detail.waitFor();
	const logs = await detail.getByTestId('execution-logs').innerText();
	assert.match(logs, /greeting/);
	assert.match(logs, /tester/, 'the log line keeps its structured data');
	const text = await detail.innerText();
	assert.match(text, /x-e2e/i, 'the request headers are recorded');
	assert.match(text, /HTTP 201/);
	await shot('executions');
});

await step('a failing run shows its error and position', async () => {
	const panel = page.getByTestId('test-panel');
	await panel.getByLabel('Method').selectOption('GET'); // no body: request.body is ()
	await page.getByTestId('run-test').click();
	await page.getByTestId('test-status').filter({ hasText: 'script_error' }).waitFor();
	const err = page.getByTestId('test-result').getByTestId('script-error');
	assert.match(await err.innerText(), /line 2, column \d+/);
	assert.equal((await err.innerText()).match(/line 2/g).length, 1, 'the position is rendered once');
	// The execution's id links to its page.
	const link = page.getByTestId('test-result').getByTestId('test-execution-link');
	assert.equal(await link.getAttribute('href'), `/executions/${await link.innerText()}`);
	const row = page.getByTestId('execution').first();
	await row.filter({ hasText: 'GET' }).waitFor();
	assert.match(await row.innerText(), /error/);
	await row.getByRole('button').first().click();
	assert.match(await row.getByTestId('script-error').innerText(), /line 2/);
	await shot('failed-run');
});

await step('executions page by ten', async () => {
	const id = new URL(page.url()).pathname.split('/').pop();
	await page.evaluate(async (id) => {
		for (let i = 0; i < 9; i++) {
			const res = await fetch(`/api/scripts/${id}/invoke`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', 'X-PiCloud-CSRF': '1' },
				body: JSON.stringify({
					method: 'POST',
					path: '/fn/page',
					headers: { 'content-type': 'application/json' },
					body: `{"who": "n${i}"}`
				})
			});
			if (!res.ok) throw new Error(`invoke: HTTP ${res.status}`);
		}
	}, id);
	const list = page.getByTestId('executions');
	await list.getByRole('button', { name: 'Refresh' }).click();
	await list.getByText('1–10').waitFor();
	assert.equal(await list.getByTestId('execution').count(), 10);
	await list.getByTestId('older').click();
	await list.getByText('11–11').waitFor();
	assert.equal(await list.getByTestId('execution').count(), 1);
	assert.match(await list.getByTestId('execution').innerText(), /POST/);
	await list.getByRole('button', { name: '← Newer' }).click();
	await list.getByText('1–10').waitFor();
});

await step('an invocation made while the list is open appears without a reload', async () => {
	const list = page.getByTestId('executions');
	await list.getByTestId('live-state').filter({ hasText: 'Live' }).waitFor();
	const before = await list.getByTestId('execution').first().getAttribute('data-execution-id');
	// A reload would drop this marker.
	await page.evaluate(() => (window.__e2eNoReload = true));
	const status = await page.evaluate(async (name) => {
		const res = await fetch(`/fn/${name}`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'X-E2E': 'live' },
			body: JSON.stringify({ who: 'live-tail' })
		});
		return res.status;
	}, name);
	assert.equal(status, 201);
	const first = list.getByTestId('execution').first();
	await until(async () => (await first.getAttribute('data-execution-id')) !== before, 'the new execution at the top');
	assert.match(await first.innerText(), /POST \/fn\//);
	assert.match(await first.innerText(), /http/);
	assert.equal(await page.evaluate(() => window.__e2eNoReload), true, 'the page was not reloaded');
	assert.equal(await list.getByTestId('execution').count(), 10, 'the first page keeps ten rows');
	await shot('executions-live', { fullPage: false });
});

await step('a status filter narrows the list, and clearing it restores it', async () => {
	const list = page.getByTestId('executions');
	await list.getByTestId('filter-status').selectOption('error');
	await until(async () => (await list.getByTestId('execution').count()) === 1, 'one error row');
	assert.match(await list.getByTestId('execution').innerText(), /error/);
	await list.getByTestId('filter-text').fill('no such text anywhere');
	await list.getByTestId('no-executions').filter({ hasText: 'match these filters' }).waitFor();
	await shot('executions-filtered', { fullPage: false });
	await list.getByTestId('filter-clear').click();
	await until(async () => (await list.getByTestId('execution').count()) === 10, 'the ten newest rows again');
});

/** The number shown by a test id ('1,234' → 1234). */
async function shownNumber(testid) {
	return Number((await page.getByTestId(testid).innerText()).replace(/[^0-9]/g, ''));
}

/** POSTs {who} to the script's endpoint from the page; returns the status. */
async function callFn(fnName) {
	return page.evaluate(
		async (n) =>
			(await fetch(`/fn/${n}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"who":"traffic"}' })).status,
		fnName
	);
}

await step('the traffic charts are drawn, labelled, and rise after new executions without a reload', async () => {
	const traffic = page.getByTestId('traffic');
	await traffic.getByTestId('traffic-calls').waitFor();
	assert.equal(await traffic.getByTestId('range-hour').getAttribute('aria-pressed'), 'true');
	for (const [id, labels] of [
		['chart-invocations', ['success', 'errors']],
		['chart-duration', ['p50', 'p95', 'p99']],
		['chart-operations', ['operations', 'outbound calls']]
	]) {
		const chart = traffic.getByTestId(id);
		await chart.locator('canvas').first().waitFor();
		const legend = await chart.getByTestId('legend-item').allInnerTexts();
		for (const l of labels) assert.ok(legend.some((t) => t.startsWith(l)), `${id}'s legend names ${l}: ${legend}`);
		const label = await chart.getByRole('img').getAttribute('aria-label');
		assert.ok(label && label.length > 10, `${id} has an accessible name`);
		const box = await chart.locator('canvas').first().boundingBox();
		assert.ok(box && box.width > 150 && box.height > 100, `${id} is drawn at a useful size`);
	}
	const calls = await shownNumber('traffic-calls');
	assert.ok(calls >= 10, `the last hour's calls are counted (${calls})`);
	const errors = await shownNumber('traffic-errors');
	assert.ok(errors >= 1, 'the failed run is counted');
	assert.match(await traffic.getByTestId('chart-invocations').getByRole('img').getAttribute('aria-label'), new RegExp(`${calls} calls`));
	// New executions arrive through the live tail: the figures follow, no reload, no polling.
	await page.evaluate(() => (window.__e2eNoReload = true));
	for (let i = 0; i < 3; i++) assert.equal(await callFn(name), 201);
	await until(async () => (await shownNumber('traffic-calls')) >= calls + 3, 'the traffic count to rise by 3');
	assert.equal(await shownNumber('traffic-errors'), errors, 'successes are not failures');
	assert.equal(await page.evaluate(() => window.__e2eNoReload), true, 'the page was not reloaded');
	await traffic.scrollIntoViewIfNeeded();
	// Pointing at the newest bucket: the legend shows its time and values.
	const over = traffic.getByTestId('chart-invocations').locator('.u-over');
	const ob = await over.boundingBox();
	await page.mouse.move(ob.x + ob.width - 2, ob.y + ob.height / 2);
	await traffic.getByTestId('chart-invocations').locator('.at').waitFor();
	const success = traffic.getByTestId('chart-invocations').getByTestId('legend-item').first();
	assert.match(await success.innerText(), /^success\s+\d+$/);
	await shot('script-traffic', { fullPage: false });
	await page.mouse.move(0, 0);
	// Another range: a day by 30 minutes still counts them.
	await traffic.getByTestId('range-day').click();
	assert.equal(await traffic.getByTestId('range-day').getAttribute('aria-pressed'), 'true');
	await until(async () => (await traffic.locator('.totals').innerText()).includes('by 30m'), 'the day range');
	assert.ok((await shownNumber('traffic-calls')) >= calls + 3);
	await traffic.getByTestId('range-hour').click();
});

await step('the layout works on a phone', async () => {
	await page.setViewportSize({ width: 390, height: 844 });
	await page.evaluate(() => window.scrollTo(0, 0));
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
	// The charts follow the narrow width.
	const canvas = page.getByTestId('chart-invocations').locator('canvas').first();
	await until(async () => ((await canvas.boundingBox())?.width ?? 999) <= 390, 'the chart to fit the phone');
	await shot('script-detail-phone');
	await page.setViewportSize({ width: 1366, height: 900 });
	// Dark mode: the charts are redrawn in the dark palette.
	const light = await canvas.evaluate((c) => c.toDataURL());
	await page.emulateMedia({ colorScheme: 'dark' });
	await until(async () => {
		const c = page.getByTestId('chart-invocations').locator('canvas').first();
		return (await c.count()) > 0 && (await c.evaluate((el) => el.toDataURL())) !== light;
	}, 'the chart redrawn in dark colours');
	await shot('script-detail-dark');
	await page.getByTestId('traffic').scrollIntoViewIfNeeded();
	await shot('script-traffic-dark', { fullPage: false });
	await page.emulateMedia({ colorScheme: 'light' });
});

await step('rolling back to version 1 makes version 3', async () => {
	const versions = page.getByTestId('versions');
	await versions.getByTestId('version-1').click();
	const view = page.getByTestId('version-view');
	await view.waitFor();
	assert.match(await view.innerText(), /version one/);
	await view.getByTestId('rollback').click();
	const dialog = page.getByTestId('confirm-dialog').filter({ hasText: 'Roll back?' });
	await dialog.getByRole('button', { name: 'Roll back' }).click();
	await page.getByTestId('script-version').filter({ hasText: 'v3' }).waitFor();
	assert.equal((await editorText()).trim(), v1.trim());
	await versions.getByTestId('version-3').waitFor();
	await shot('rolled-back');
});

await step('any two versions compare side by side', async () => {
	await page.getByTestId('compare-versions').click();
	const diff = page.getByTestId('version-diff');
	// It opens on the latest change: v2 → v3 (the rollback to v1's source).
	assert.equal(await diff.getByTestId('diff-from').inputValue(), '2');
	assert.equal(await diff.getByTestId('diff-to').inputValue(), '3');
	await diff.getByTestId('diff-row').first().waitFor();
	const first = diff.getByTestId('diff-row').first();
	assert.equal(await first.getAttribute('data-kind'), 'changed');
	assert.match(await first.innerText(), /version two[\s\S]*version one/);
	assert.ok((await diff.getByTestId('diff-row').filter({ hasText: 'request.body.who' }).count()) === 1);
	assert.match(await diff.getByTestId('diff-stats').innerText(), /\+\d+\s+−\d+/);
	await shot('version-diff');
	await page.setViewportSize({ width: 390, height: 844 });
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `the diff scrolls inside its box on a phone (overflow ${overflow}px)`);
	await page.emulateMedia({ colorScheme: 'dark' });
	await diff.scrollIntoViewIfNeeded();
	await shot('version-diff-phone-dark', { fullPage: false });
	await page.emulateMedia({ colorScheme: 'light' });
	await page.setViewportSize({ width: 1366, height: 900 });
	// v1 and v3 have the same source.
	await diff.getByTestId('diff-from').selectOption('1');
	await diff.getByTestId('diff-stats').filter({ hasText: 'identical' }).waitFor();
	assert.equal(await diff.locator('[data-kind="changed"], [data-kind="added"], [data-kind="removed"]').count(), 0);
	await diff.getByRole('button', { name: 'Close' }).click();
	await diff.waitFor({ state: 'detached' });
});

await step('the list shows the new version and the last invocation', async () => {
	await page.getByRole('link', { name: '← Scripts' }).click();
	const row = page.getByTestId('script-row').filter({ hasText: name });
	await row.waitFor();
	const text = await row.innerText();
	assert.match(text, /v3/);
	assert.match(text, /success/, 'the last run (a paging one) succeeded');
	assert.match(text, /6\.7%/, 'one failure in fifteen runs (three from the traffic step)');
	assert.doesNotMatch(text, /never/);
	await page.setViewportSize({ width: 390, height: 844 });
	await shot('scripts-list-phone');
	await page.setViewportSize({ width: 1366, height: 900 });
});

await step('the home summary shows the last day, the top scripts, the gate and the log queue, and follows new calls', async () => {
	const summary = page.getByTestId('summary');
	const chart = summary.getByTestId('chart-calls-24h');
	await chart.locator('canvas').first().waitFor();
	const legend = await chart.getByTestId('legend-item').allInnerTexts();
	assert.ok(legend.some((t) => t.startsWith('success')) && legend.some((t) => t.startsWith('errors')), `legend: ${legend}`);
	assert.match(await chart.getByRole('img').getAttribute('aria-label'), /Calls, last 24 hours\. \d+ calls/);
	const calls = await shownNumber('summary-calls');
	assert.ok(calls >= 15, `the day's calls (${calls})`);
	assert.ok((await shownNumber('summary-errors')) >= 1, 'the failed calls');
	for (const t of ['top-count', 'top-errors', 'top-time']) {
		assert.match(await summary.getByTestId(t).innerText(), new RegExp(name), `${t} names the script`);
	}
	assert.match(await summary.getByTestId('gate-running').innerText(), /^\d+ \/ \d+$/);
	assert.match(await summary.getByTestId('sink-queued').innerText(), /^[\d,]+ \/ [\d,]+$/);
	assert.equal(await summary.getByRole('meter').count(), 2, 'the gate and the log queue as meters');
	// Each row's sparkline: the last hour's calls.
	const spark = page.getByTestId('script-row').filter({ hasText: name }).getByTestId('sparkline');
	const before = Number(await spark.getAttribute('data-calls'));
	assert.ok(before >= 15, `the sparkline counts the hour's calls (${before})`);
	assert.match(await spark.getAttribute('aria-label'), /calls and \d+ failed in the last hour/);
	assert.ok((await spark.locator('path').first().getAttribute('d')).startsWith('M0,'));
	await shot('home-summary');
	// New calls, then Refresh: the figures rise.
	for (let i = 0; i < 2; i++) assert.equal(await callFn(name), 200); // v3 is v1: a plain string
	await until(async () => {
		await page.getByTestId('refresh').click();
		await new Promise((r) => setTimeout(r, 300));
		return (await shownNumber('summary-calls')) >= calls + 2 && Number(await spark.getAttribute('data-calls')) >= before + 2;
	}, 'the summary and the sparkline to count two more calls');
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot('home-summary-dark');
	await page.emulateMedia({ colorScheme: 'light' });
	await page.setViewportSize({ width: 390, height: 844 });
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
	await shot('home-summary-phone');
	await page.setViewportSize({ width: 1366, height: 900 });
});

// Step 9: schedules, jobs, dead letters and the trigger of each execution.
const failing = `${name}-dl`;
let failingId = '';

await step('a schedule is previewed as it is typed, with the bad field marked', async () => {
	await page.getByTestId('script-row').getByRole('link', { name, exact: true }).click();
	await page.getByTestId('script-name').filter({ hasText: name }).waitFor();
	const panel = page.getByTestId('schedules');
	await panel.getByTestId('schedules-empty').waitFor();
	expected.push(/status of 400/); // the preview of the bad expression
	await panel.getByLabel('Cron expression').fill('0 25 * * *');
	const problem = panel.getByTestId('schedule-problem');
	await problem.waitFor();
	assert.match(await problem.innerText(), /field 2 \(hour\)/);
	assert.equal(await problem.locator('mark').innerText(), '25', 'the bad field is marked');
	assert.equal(await panel.getByTestId('schedule-add').isDisabled(), true, 'a bad expression cannot be added');
	await panel.scrollIntoViewIfNeeded();
	await shot('schedule-bad-cron', { fullPage: false });
	await panel.getByLabel('Cron expression').fill('30 9 * * *');
	await panel.getByLabel('Time zone').fill('Europe/Paris');
	const times = panel.getByTestId('schedule-preview-times').filter({ hasText: 'Europe/Paris' });
	await times.waitFor();
	const next = await times.locator('li').allInnerTexts();
	assert.equal(next.length, 5, 'five firing times');
	for (const t of next) assert.match(t, /^\d{4}-\d\d-\d\d 09:30:00 Europe\/Paris/);
	assert.equal(await problem.count(), 0);
});

await step('adding the schedule lists it with its next five runs', async () => {
	const panel = page.getByTestId('schedules');
	await panel.locator('#sched-body').fill('{"who": "cron"}');
	await panel.getByTestId('schedule-add').click();
	const sched = panel.getByTestId('schedule');
	await sched.waitFor();
	assert.equal(await sched.getByTestId('schedule-cron').innerText(), '30 9 * * *');
	assert.equal(await sched.getByTestId('schedule-state').innerText(), 'enabled');
	const next = await sched.getByTestId('schedule-next-runs').locator('li').allInnerTexts();
	assert.equal(next.length, 5);
	for (const t of next) assert.match(t, /09:30:00 Europe\/Paris/);
	assert.equal(await panel.getByLabel('Cron expression').inputValue(), '', 'the form is reset');
});

await step('run now queues a firing; the job view links its attempt to the execution', async () => {
	const sched = page.getByTestId('schedules').getByTestId('schedule');
	await sched.getByTestId('schedule-run').click();
	const ran = sched.getByTestId('schedule-ran');
	await ran.waitFor();
	// The panel follows the firing until it is done, then shows it in the last runs and
	// reloads the executions list.
	await ran.getByTestId('schedule-ran-state').filter({ hasText: 'succeeded' }).waitFor();
	await sched.getByTestId('schedule-last-runs').filter({ hasText: 'success' }).waitFor();
	await page.getByTestId('executions').getByTestId('execution-trigger').filter({ hasText: 'cron' }).waitFor();
	await ran.getByRole('link').click();
	await page.getByTestId('job-detail').waitFor();
	assert.equal(await page.getByTestId('job-trigger').innerText(), 'cron');
	assert.match(await page.getByTestId('job-schedule').innerText(), /30 9 \* \* \*/);
	assert.equal(await page.getByTestId('job-state').innerText(), 'succeeded');
	assert.match(await page.getByTestId('job-request').innerText(), /"who": "cron"/, 'the firing carried the body');
	await shot('job-cron');
	await page.getByTestId('attempt-execution').first().click();
	const exec = page.getByTestId('execution-page');
	await exec.waitFor();
	assert.match(await exec.innerText(), /cron/);
	assert.match(await exec.getByTestId('execution-job').innerText(), /^#\d+$/);
	assert.equal(await exec.getByTestId('execution-node').count(), 0, 'an all-in-one server names no node');
	await page.getByRole('link', { name: '← Script' }).click();
	await page.getByTestId('script-name').filter({ hasText: name }).waitFor();
});

await step('the executions list shows each run\'s trigger; a cron run names its schedule and job', async () => {
	const list = page.getByTestId('executions');
	const row = list.getByTestId('execution').filter({ has: page.getByTestId('execution-trigger').filter({ hasText: 'cron' }) });
	await row.first().waitFor();
	assert.equal(await row.count(), 1);
	assert.equal(await row.getByTestId('execution-schedule').innerText(), '30 9 * * *');
	assert.match(await row.getByTestId('execution-job-link').innerText(), /^job #\d+, attempt 1$/);
	const triggers = await list.getByTestId('execution-trigger').allInnerTexts();
	assert.deepEqual([...new Set(triggers)].sort(), ['cron', 'http', 'test'], 'test runs (and the call to /fn/NAME) show their trigger too');
	assert.equal(await list.getByTestId('execution-node-tag').count(), 0, 'an all-in-one server\'s list has no node tags');
	await list.scrollIntoViewIfNeeded();
	await shot('executions-triggers', { fullPage: false });
	// The schedule's last runs show the firing.
	const panel = page.getByTestId('schedules');
	await panel.getByTestId('schedule-last-runs').filter({ hasText: 'success' }).waitFor();
	await panel.scrollIntoViewIfNeeded();
	await shot('schedules', { fullPage: false });
	await page.setViewportSize({ width: 390, height: 844 });
	await page.evaluate(() => window.scrollTo(0, 0));
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
	await panel.scrollIntoViewIfNeeded();
	await shot('schedules-phone', { fullPage: false });
	await page.setViewportSize({ width: 1366, height: 900 });
});

await step('a schedule pauses, resumes and is deleted', async () => {
	const panel = page.getByTestId('schedules');
	const sched = panel.getByTestId('schedule');
	await sched.getByRole('button', { name: 'Pause' }).click();
	await sched.getByTestId('schedule-state').filter({ hasText: 'paused' }).waitFor();
	assert.match(await sched.innerText(), /Paused: no firings/);
	await sched.getByRole('button', { name: 'Resume' }).click();
	await sched.getByTestId('schedule-state').filter({ hasText: 'enabled' }).waitFor();
	await sched.getByRole('button', { name: 'Delete the schedule 30 9 * * *' }).click();
	const dialog = page.getByTestId('confirm-dialog').filter({ hasText: 'Delete the schedule?' });
	await dialog.getByRole('button', { name: 'Delete' }).click();
	await panel.getByTestId('schedules-empty').waitFor();
});

await step('the settings form saves enabled, max attempts and subscriptions', async () => {
	const created = await apiCall('POST', '/api/scripts', JSON.stringify({ name: failing, source: 'throw "always fails"' }));
	assert.equal(created.status, 201, JSON.stringify(created.body));
	failingId = created.body.id;
	await page.goto(`${base}/scripts/${failingId}`);
	await page.getByTestId('script-name').filter({ hasText: failing }).waitFor();
	await page.getByText('Settings', { exact: true }).click();
	await page.getByLabel('Max attempts').fill('1');
	await page.getByLabel('Event subscriptions').fill('e2e.failed, Bad Topic');
	await page.getByTestId('limits-problem').filter({ hasText: 'Subscriptions:' }).waitFor();
	await page.getByLabel('Event subscriptions').fill('e2e.failed, e2e.other');
	assert.equal(await page.getByTestId('topics').locator('li').count(), 2);
	await page.getByTestId('enabled').uncheck();
	await page.getByTestId('save').click();
	await page.getByTestId('saved').filter({ hasText: /^Saved\.$/ }).waitFor();
	await page.getByTestId('script-disabled').waitFor();
	await page.getByTestId('schedules-disabled').waitFor();
	const s = (await apiCall('GET', `/api/scripts/${failingId}`)).body;
	assert.equal(s.enabled, false);
	assert.equal(s.max_attempts, 1);
	assert.deepEqual(s.subscriptions, ['e2e.failed', 'e2e.other']);
	await shot('settings-disabled');
	await page.getByTestId('enabled').check();
	await page.getByTestId('save').click();
	await page.getByTestId('saved').filter({ hasText: /^Saved\.$/ }).waitFor();
	assert.equal(await page.getByTestId('script-disabled').count(), 0);
	assert.equal((await apiCall('GET', `/api/scripts/${failingId}`)).body.enabled, true);
	await page.getByText('Settings', { exact: true }).click();
});

let deadJob = '';

await step('a failed async run is a dead letter: inspected, then re-queued', async () => {
	const accepted = await apiCall('POST', `/api/scripts/${failingId}/async`, '{"order": 42}');
	assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
	deadJob = accepted.body.job_id;
	await page.getByTestId('nav-dead-letters').click();
	await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
	const row = page.getByTestId('dead-letter').filter({ hasText: `#${deadJob}` });
	await until(async () => {
		if ((await row.count()) > 0) return true;
		await page.getByRole('button', { name: 'Refresh the dead letters' }).click();
		return false;
	}, 'the dead letter');
	assert.match(await row.getByTestId('dl-last-error').innerText(), /always fails/);
	assert.match(await row.innerText(), /async/);
	await row.getByTestId('dl-inspect').click();
	const detail = page.getByTestId('job-detail');
	await detail.waitFor();
	assert.match(await detail.getByTestId('job-request-body').innerText(), /"order": 42/, 'the stored request');
	assert.match(await detail.getByTestId('job-attempts').innerText(), /always fails/, 'each attempt\'s error');
	await shot('dead-letters');
	await row.getByTestId('dl-requeue').click();
	const note = page.getByTestId('dl-requeued');
	await note.waitFor();
	assert.equal(await row.count(), 0, 'a re-queued job leaves the list');
	await note.getByRole('link').click();
	// It fails again: dead, with both attempts and their errors.
	await page.getByTestId('job-state').filter({ hasText: 'dead' }).waitFor();
	await until(async () => (await page.getByTestId('job-attempt-row').count()) === 2, 'the second attempt');
	const errors = await page.getByTestId('attempt-error').allInnerTexts();
	assert.equal(errors.length, 2);
	for (const e of errors) assert.match(e, /always fails/);
	await shot('job-dead');
	// Re-queued from the job view, it runs a third time; the page follows it.
	await page.getByTestId('job-requeue').click();
	await until(async () => (await page.getByTestId('job-attempt-row').count()) === 3, 'the third attempt');
	await page.getByTestId('job-state').filter({ hasText: 'dead' }).waitFor();
});

await step('async runs show their trigger and link to their job', async () => {
	await page.getByRole('link', { name: `← ${failing}` }).click();
	await page.getByTestId('script-name').filter({ hasText: failing }).waitFor();
	const list = page.getByTestId('executions');
	await until(async () => {
		if ((await list.getByTestId('execution').count()) >= 3) return true;
		await list.getByRole('button', { name: 'Refresh' }).click();
		return false;
	}, 'the three attempts in the executions list');
	assert.deepEqual(await list.getByTestId('execution-trigger').allInnerTexts(), ['async', 'async', 'async']);
	assert.deepEqual(await list.getByTestId('execution-job-link').allInnerTexts(), [
		`job #${deadJob}, attempt 3`,
		`job #${deadJob}, attempt 2`,
		`job #${deadJob}, attempt 1`
	]);
	await list.getByTestId('execution-job-link').first().click();
	await page.getByTestId('job-id').filter({ hasText: `#${deadJob}` }).waitFor();
});

let eventJob = '';
let emitterId = '';

await step('an event reaches its subscriber; the failed run is a dead letter showing the event', async () => {
	const emitter = await apiCall(
		'POST',
		'/api/scripts',
		JSON.stringify({ name: `${name}-emit`, source: 'events::emit("e2e.failed", #{ order: 7 });\n"sent"' })
	);
	assert.equal(emitter.status, 201, JSON.stringify(emitter.body));
	emitterId = emitter.body.id;
	const run = await apiCall(
		'POST',
		`/api/scripts/${emitterId}/invoke`,
		JSON.stringify({ method: 'POST', path: `/fn/${name}-emit`, headers: {}, body: '' })
	);
	assert.equal(run.body.status, 'success', JSON.stringify(run.body));
	await page.getByTestId('nav-dead-letters').click();
	const row = page.getByTestId('dead-letter').filter({ has: page.locator('.badge.t-event') });
	await until(async () => {
		if ((await row.count()) > 0) return true;
		await page.getByRole('button', { name: 'Refresh the dead letters' }).click();
		return false;
	}, 'the event run\'s dead letter');
	eventJob = (await row.getByRole('link').first().innerText()).replace('#', '');
	await row.getByTestId('dl-inspect').click();
	const event = page.getByTestId('job-event');
	await event.waitFor();
	const text = await event.innerText();
	assert.match(text, /e2e\.failed/);
	assert.match(text, new RegExp(`from ${name}-emit`));
	assert.match(text, /"order": 7/);
	await page.setViewportSize({ width: 390, height: 844 });
	await page.evaluate(() => window.scrollTo(0, 0));
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
	await shot('dead-letters-phone');
	await page.setViewportSize({ width: 1366, height: 900 });
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot('dead-letters-dark');
	await page.emulateMedia({ colorScheme: 'light' });
});

await step('dead letters are discarded', async () => {
	for (const id of [deadJob, eventJob]) {
		const row = page.getByTestId('dead-letter').filter({ hasText: `#${id}` });
		await row.waitFor();
		await row.getByTestId('dl-discard').click();
		const dialog = page.getByTestId('confirm-dialog').filter({ hasText: `Discard job #${id}?` });
		await dialog.getByRole('button', { name: 'Discard' }).click();
		await row.waitFor({ state: 'detached' });
	}
	await page.getByTestId('dl-empty').waitFor();
	const left = (await apiCall('GET', '/api/dead-letters')).body.items.map((j) => j.id);
	assert.deepEqual(left, [], 'the discarded jobs are gone');
	for (const id of [failingId, emitterId]) assert.equal((await apiCall('DELETE', `/api/scripts/${id}`)).status, 204);
	await page.getByRole('link', { name: 'Scripts', exact: true }).click();
	await page.getByTestId('script-row').filter({ hasText: name }).waitFor();
});

await step('a draft is saved without being served, then promoted to the next version', async () => {
	await page.getByTestId('script-row').getByRole('link', { name, exact: true }).click();
	await page.getByTestId('script-name').waitFor();
	const before = Number((await page.getByTestId('script-version').innerText()).slice(1));
	const live = await editorText();
	const drafted = `// drafted\n"draft of ${name}"\n`;
	await setSource(drafted);
	await page.getByTestId('compiles').waitFor();
	await page.getByTestId('save-draft').click();
	await page.getByTestId('saved').filter({ hasText: 'Draft saved' }).waitFor();
	await page.getByTestId('draft-shown').waitFor();
	assert.equal(await page.getByTestId('script-version').innerText(), `v${before}`, 'a draft is not a version');
	const served = await page.evaluate(async (n) => (await fetch(`/fn/${n}`, { method: 'POST' })).text(), name);
	assert.ok(!served.includes('draft of'), `the draft is not served: ${served}`);
	// A reload shows the live source, and says a draft is waiting.
	await page.reload();
	await page.getByTestId('draft-note').waitFor();
	assert.equal((await editorText()).trim(), live.trim());
	await shot('draft-waiting');
	await page.getByTestId('open-draft').click();
	await page.getByTestId('draft-shown').waitFor();
	assert.equal((await editorText()).trim(), drafted.trim());
	await page.getByTestId('promote').click();
	const dialog = page.getByTestId('confirm-dialog').filter({ hasText: 'Promote the draft?' });
	await dialog.getByRole('button', { name: 'Promote' }).click();
	await page.getByTestId('saved').filter({ hasText: `version ${before + 1} is live` }).waitFor();
	assert.equal(await page.getByTestId('script-version').innerText(), `v${before + 1}`);
	assert.equal(await page.getByTestId('draft-note').count(), 0, 'the draft is gone');
	const after = await page.evaluate(async (n) => (await fetch(`/fn/${n}`, { method: 'POST' })).text(), name);
	assert.ok(after.includes(`draft of ${name}`), `the promoted draft is served: ${after}`);
	expected.push(/status of 404/); // the draft GET below, logged by the browser
	assert.equal((await apiCall('GET', `/api/scripts/${name}/draft`)).status, 404);
	await page.getByRole('link', { name: 'Scripts', exact: true }).click();
	await page.getByTestId('script-row').filter({ hasText: name }).waitFor();
});

await step('a draft is replayed against live traffic before Promote, which mentions the result', async () => {
	const rname = `${name}-replay`;
	const created = await apiCall('POST', '/api/scripts', JSON.stringify({ name: rname, source: '#{n: 1}' }));
	assert.equal(created.status, 201, JSON.stringify(created.body));
	const rid = created.body.id;
	// One served call, so there is a capture to replay.
	const live = await page.evaluate(async (n) => (await fetch(`/fn/${n}?k=v`, { method: 'POST' })).text(), rname);
	assert.ok(live.includes('1'), `live answer: ${live}`);
	for (let i = 0; i < 100; i++) {
		const logs = await apiCall('GET', `/api/scripts/${rid}/logs?limit=5`);
		if ((logs.body?.items ?? []).length > 0) break;
		await page.waitForTimeout(100);
	}
	await page.goto(`${base}/scripts/${rid}`);
	await page.getByTestId('script-name').filter({ hasText: rname }).waitFor();
	assert.equal(await page.getByTestId('replay').count(), 0, 'no Replay without a draft');
	await setSource('#{n: 2}');
	await page.getByTestId('compiles').waitFor();
	await page.getByTestId('save-draft').click();
	await page.getByTestId('saved').filter({ hasText: 'Draft saved' }).waitFor();
	await page.getByTestId('replay').click();
	await page.getByTestId('replay-summary').filter({ hasText: '0 same, 1 differ, 0 not replayable' }).waitFor();
	const item = page.getByTestId('replay-item');
	assert.equal(await item.count(), 1);
	const text = await item.innerText();
	assert.ok(text.includes(`POST /fn/${rname}?k=v`), `the request line: ${text}`);
	const change = await page.getByTestId('replay-body-change').innerText();
	assert.ok(change.includes('/n') && change.includes('1 → 2'), `the body change: ${change}`);
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot('replay-dark');
	await page.emulateMedia({ colorScheme: 'light' });
	await page.getByTestId('promote').click();
	const dialog = page.getByTestId('confirm-dialog').filter({ hasText: 'Promote the draft?' });
	await dialog.getByTestId('promote-replay').filter({ hasText: '1 differ' }).waitFor();
	await dialog.getByRole('button', { name: 'Promote' }).click();
	await page.getByTestId('saved').filter({ hasText: 'version 2 is live' }).waitFor();
	assert.equal(await page.getByTestId('replay-panel').count(), 0, 'the replay goes with its draft');
	// Leave its page before deleting the script: the open page's own requests (its live
	// tail, a reload of its figures) would otherwise race the deletion and meet a 404.
	await page.getByRole('link', { name: 'Scripts', exact: true }).click();
	await page.getByTestId('script-row').filter({ hasText: name }).first().waitFor();
	assert.equal((await apiCall('DELETE', `/api/scripts/${rid}`)).status, 204);
});

await step('deleting asks for confirmation, then removes the script', async () => {
	await page.getByTestId('script-row').getByRole('link', { name, exact: true }).click();
	await page.getByTestId('delete').click();
	const dialog = page.getByTestId('confirm-dialog').filter({ hasText: `Delete ${name}?` });
	await dialog.waitFor();
	await shot('delete-confirm', { fullPage: false }); // a modal covers the viewport only
	// Cancel keeps it.
	await dialog.getByRole('button', { name: 'Cancel' }).click();
	await page.getByTestId('script-name').waitFor();
	await page.getByTestId('delete').click();
	await dialog.getByRole('button', { name: 'Delete' }).click();
	await page.getByTestId('empty-scripts').waitFor();
	assert.equal(new URL(page.url()).pathname, '/');
	await page.getByTestId('toast').filter({ hasText: `Deleted ${name}.` }).waitFor();
});

// Step 12: invoke keys, API tokens with scopes, the audit trail.
const keyed = `${name}-keyed`;
let keyedId = '';
let readToken = '';
let reader; // the read token's own browser, signed in while its token lives

/** GET /fn/keyed's status, from outside the browser (no cookie: functions never get it). */
async function fnStatus(headers = {}) {
	const res = await context.request.get(`${base}/fn/${keyed}`, { headers });
	return res.status();
}

await step('an invoke key is shown once and listed by prefix; access key makes /fn need it', async () => {
	const made = await apiCall('POST', '/api/scripts', JSON.stringify({ name: keyed, source: '"keyed ok"' }));
	assert.equal(made.status, 201, JSON.stringify(made.body));
	keyedId = made.body.id;
	await page.goto(`${base}/scripts/${keyedId}`);
	const keys = page.getByTestId('keys');
	await keys.getByTestId('keys-empty').waitFor();
	assert.equal(await fnStatus(), 200, 'a public script needs no key');
	await keys.getByTestId('key-label').fill('e2e-caller');
	await keys.getByTestId('create-key').click();
	const secret = (await keys.getByTestId('secret-once-value').innerText()).trim();
	assert.match(secret, /^pck_[0-9a-f]{64}$/);
	const row = keys.getByTestId('key-row');
	await row.waitFor();
	assert.equal(await row.getAttribute('data-prefix'), secret.slice(0, 12));
	const text = await row.innerText();
	assert.match(text, /e2e-caller/);
	assert.match(text, /never used/);
	assert.ok(!text.includes(secret.slice(12)), 'the list does not show the key');
	await keys.getByTestId('secret-once-copy').click();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
	await shot('invoke-key-once');
	await keys.getByTestId('secret-once-done').click();
	await keys.getByTestId('secret-once').waitFor({ state: 'detached' });

	await page.getByText('Settings', { exact: true }).click();
	const access = page.getByTestId('access');
	assert.match(await access.innerText(), /Invoke key — callers send one of its invoke keys/);
	await page.getByTestId('access-key').check();
	await page.getByLabel('Requests per second', { exact: true }).fill('50');
	await page.getByTestId('save').click();
	await page.getByTestId('saved').filter({ hasText: /^Saved\.$/ }).waitFor();
	await page.getByTestId('script-access').filter({ hasText: 'key' }).waitFor();
	assert.equal(await page.getByLabel('Requests per second', { exact: true }).inputValue(), '50');
	await page.getByText('Settings', { exact: true }).click();
	assert.equal(await fnStatus(), 401, 'without the key: 401');
	assert.equal(await fnStatus({ 'X-PiCloud-Key': 'pck_' + '0'.repeat(64) }), 401, 'with a wrong key: 401');
	const ok = await context.request.get(`${base}/fn/${keyed}`, { headers: { 'X-PiCloud-Key': secret } });
	assert.equal(ok.status(), 200, 'with the key: 200');
	assert.match(await ok.text(), /keyed ok/);
	// Its last use is written in the background: the list shows it once the server has it.
	await until(async () => (await apiCall('GET', `/api/scripts/${keyedId}/keys`)).body.items[0]?.last_used_at, 'the key\'s last use');
	await page.reload();
	await page.getByTestId('key-row').filter({ hasText: 'used' }).filter({ hasNotText: 'never used' }).waitFor();

	// Revoked: the key stops working.
	await page.getByTestId('revoke-key').click();
	const dialog = page.getByRole('dialog');
	await dialog.getByRole('button', { name: 'Revoke' }).click();
	await page.getByTestId('keys').getByTestId('keys-empty').waitFor();
	await until(async () => (await fnStatus({ 'X-PiCloud-Key': secret })) === 401, 'the revoked key to be refused');
});

await step('the tokens page lists the admin token and makes a read token, shown once', async () => {
	await page.getByTestId('nav-tokens').click();
	const admin = page.locator('[data-testid="token-row"][data-name="admin"]');
	await admin.waitFor();
	assert.match(await admin.innerText(), /admin/);
	assert.equal(await admin.getByTestId('revoke-token').count(), 0, 'the admin token cannot be revoked');
	// No scope: refused before it is sent.
	await page.getByTestId('scope-read').uncheck();
	await page.getByLabel('Name', { exact: true }).fill('e2e-reader');
	await page.getByTestId('create-token').click();
	await page.getByTestId('token-form-error').filter({ hasText: 'Choose at least one scope.' }).waitFor();
	await page.getByTestId('scope-read').check();
	await page.getByTestId('create-token').click();
	readToken = (await page.getByTestId('secret-once-value').innerText()).trim();
	assert.match(readToken, /^pct_[0-9a-f]{64}$/);
	const row = page.locator('[data-testid="token-row"][data-name="e2e-reader"]');
	await row.waitFor();
	const text = await row.innerText();
	assert.ok(text.includes(readToken.slice(0, 12)), `the row shows the prefix: ${text}`);
	assert.ok(!text.includes(readToken.slice(12)), 'the row does not show the token');
	assert.match(text, /read/);
	assert.match(text, /never/);
	await page.getByTestId('secret-once-copy').click();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), readToken);
	await shot('tokens');
	await page.getByTestId('secret-once-done').click();
});

await step('a read token signs in in a fresh browser and cannot deploy', async () => {
	const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic'] });
	const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
	ctx.setDefaultTimeout(timeout);
	const p = await ctx.newPage();
	reader = { browser, ctx, p, problems: [], expected: [] };
	p.on('console', (msg) => {
		if (msg.type() !== 'error' && msg.type() !== 'warning') return;
		const text = `${msg.type()}: ${msg.text()}`;
		const i = reader.expected.findIndex((re) => re.test(text));
		if (i >= 0) reader.expected.splice(i, 1);
		else reader.problems.push(`reader: ${text}`);
	});
	p.on('pageerror', (err) => reader.problems.push(`reader: uncaught ${err.message}`));

	await p.goto(base + '/');
	await p.getByLabel('API token').fill(readToken);
	await p.getByRole('button', { name: 'Sign in' }).click();
	await p.getByRole('heading', { name: 'Scripts' }).waitFor();
	await p.getByTestId('signed-in-as').filter({ hasText: 'e2e-reader' }).waitFor();
	for (const nav of ['nav-tokens', 'nav-audit', 'nav-nodes']) {
		assert.equal(await p.getByTestId(nav).count(), 0, `${nav} is hidden from a read token`);
	}
	assert.equal(await p.getByTestId('nav-dead-letters').count(), 1);
	assert.equal(await p.getByRole('button', { name: 'Create script' }).isDisabled(), true, 'no create for read');

	await p.goto(`${base}/scripts/${keyedId}`);
	await p.getByTestId('read-only').waitFor();
	await p.getByTestId('keys').getByTestId('keys-empty').waitFor();
	for (const id of ['save', 'delete', 'create-key', 'run-test']) {
		const b = p.getByTestId(id);
		assert.equal(await b.isDisabled(), true, `${id} is disabled for read`);
	}
	assert.match((await p.getByTestId('delete').getAttribute('title')) ?? '', /Needs the deploy scope; this token \(e2e-reader\) has read/);
	await p.screenshot({ path: join(shots, `${String(++shotNo).padStart(2, '0')}-read-token-script.png`), fullPage: true });

	// The server refuses what the page does not offer.
	reader.expected.push(/status of 403/);
	const forced = await p.evaluate(async (id) => {
		const res = await fetch(`/api/scripts/${id}`, {
			method: 'PATCH',
			headers: { 'Content-Type': 'application/json', 'X-PiCloud-CSRF': '1' },
			body: JSON.stringify({ enabled: false })
		});
		return { status: res.status, body: await res.json() };
	}, keyedId);
	assert.equal(forced.status, 403);
	assert.equal(forced.body.error.code, 'forbidden');
	assert.equal((await apiCall('GET', `/api/scripts/${keyedId}`)).body.enabled, true, 'the refused write changed nothing');

	await p.goto(base + '/tokens');
	await p.getByTestId('admin-only').waitFor();
	assert.equal(await p.getByTestId('tokens').count(), 0, 'the tokens page is not shown');
});

await step('rotating a token shows the new one once and ends its sessions; revoking removes it', async () => {
	const row = page.locator('[data-testid="token-row"][data-name="e2e-reader"]');
	await row.getByTestId('rotate-token').click();
	await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
	const rotated = (await page.getByTestId('secret-once-value').innerText()).trim();
	assert.match(rotated, /^pct_[0-9a-f]{64}$/);
	assert.notEqual(rotated, readToken);
	await page.getByTestId('secret-once-done').click();
	const session = await reader.ctx.request.get(base + '/api/session');
	assert.ok(session.status() === 401 || !(await session.json()).authenticated, 'the reader\'s session ended with the rotation');

	await row.getByTestId('revoke-token').click();
	const dialog = page.getByRole('dialog').filter({ hasText: 'Revoke e2e-reader?' });
	await dialog.getByRole('button', { name: 'Cancel' }).click();
	await row.waitFor();
	await row.getByTestId('revoke-token').click();
	await dialog.getByRole('button', { name: 'Revoke' }).click();
	await row.waitFor({ state: 'detached' });
	const bearer = await context.request.get(base + '/api/scripts', { headers: { Authorization: `Bearer ${rotated}` } });
	assert.equal(bearer.status(), 401, 'the revoked token is refused');

	await reader.browser.close();
	assert.deepEqual(reader.problems, [], 'the reader\'s console stayed clean');
	assert.deepEqual(reader.expected.map(String), [], 'the reader\'s expected console messages appeared');
});

await step('the audit page shows the run\'s actions newest first, filters them, and pages', async () => {
	await page.getByTestId('nav-audit').click();
	await page.getByTestId('audit-row').first().waitFor();
	const actions = await page.getByTestId('audit-action').allInnerTexts();
	assert.equal(actions[0], 'token.revoke', `the newest first: ${actions.slice(0, 5)}`);
	for (const a of ['token.rotate', 'token.create', 'key.revoke', 'key.create', 'script.update', 'script.create', 'session.create']) {
		assert.ok(actions.includes(a), `${a} is in the trail: ${actions}`);
	}
	const times = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.dataset.at));
	assert.deepEqual([...times].sort().reverse(), times, 'newest first');
	await shot('audit');

	// By actor: the read token signed in, and did nothing else (its write was refused).
	await page.getByLabel('Actor', { exact: true }).fill('e2e-reader');
	await page.getByTestId('audit-apply').click();
	await until(async () => {
		const a = await page.getByTestId('audit-action').allInnerTexts();
		return a.length > 0 && a.every((x) => x === 'session.create');
	}, 'only the reader\'s sign-in');
	assert.equal(new URL(page.url()).searchParams.get('actor'), 'e2e-reader');

	// By action, with the settings change's before and after.
	await page.getByLabel('Actor', { exact: true }).fill('');
	await page.getByLabel('Action', { exact: true }).fill('script.update');
	await page.getByTestId('audit-apply').click();
	await until(async () => {
		const a = await page.getByTestId('audit-action').allInnerTexts();
		return a.length > 0 && a.every((x) => x === 'script.update');
	}, 'only script updates');
	const first = page.getByTestId('audit-row').first();
	assert.match(await first.innerText(), new RegExp(keyed));
	await first.getByTestId('audit-toggle').click();
	const accessRow = page.locator('[data-testid="audit-change"][data-field="access"]');
	await accessRow.waitFor();
	assert.equal(await accessRow.locator('.after').innerText(), 'key');
	assert.match(await accessRow.locator('.before').innerText(), /public|""/);
	await shot('audit-detail');

	// Paging: ten at a time, Older appends the next ten, still newest first.
	await page.getByLabel('Action', { exact: true }).fill('');
	await page.getByLabel('Per page', { exact: true }).selectOption('10');
	await page.getByTestId('audit-apply').click();
	await until(async () => (await page.getByTestId('audit-action').allInnerTexts()).includes('token.revoke'), 'the unfiltered first page');
	assert.equal(await page.getByTestId('audit-row').count(), 10);
	await page.getByTestId('audit-older').click();
	await until(async () => (await page.getByTestId('audit-row').count()) === 20, 'the second page');
	const paged = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.dataset.at));
	assert.deepEqual([...paged].sort().reverse(), paged, 'newest first across pages');

	assert.equal((await apiCall('DELETE', `/api/scripts/${keyedId}`)).status, 204);
});

await step('a script a restricted token deployed shows it is confined; an admin lifts it', async () => {
	const made = await apiCall('POST', '/api/tokens', JSON.stringify({ name: `${name}-ci`, scopes: ['deploy'], scripts: `${name}-conf*` }));
	assert.equal(made.status, 201, JSON.stringify(made.body));
	const ci = made.body.token;
	const res = await context.request.post(`${base}/api/scripts`, {
		headers: { Authorization: `Bearer ${ci}` },
		data: { name: `${name}-conf`, source: '"confined"' }
	});
	assert.equal(res.status(), 201, await res.text());
	const confined = await res.json();
	assert.equal(confined.confined_to, `${name}-conf*`);
	await page.goto(`${base}/scripts/${confined.id}`);
	await page.getByTestId('script-confined').waitFor();
	const notice = page.getByTestId('confined');
	assert.match(await notice.innerText(), new RegExp(`Confined to ${name}-conf\\*: a token restricted to those scripts wrote it`));
	await shot('script-confined');
	await notice.getByTestId('unconfine').click();
	await notice.waitFor({ state: 'detached' });
	assert.equal(await page.getByTestId('script-confined').count(), 0, 'the badge is gone');
	assert.equal((await apiCall('GET', `/api/scripts/${confined.id}`)).body.confined_to, '');
	const audit = await apiCall('GET', `/api/audit?action=script.update&target=${name}-conf`);
	assert.ok(
		audit.body.items.some((e) => e.actor === 'admin' && e.detail?.after?.confined_to === ''),
		`the lift is audited: ${JSON.stringify(audit.body.items)}`
	);
	assert.equal((await apiCall('DELETE', `/api/scripts/${confined.id}`)).status, 204);
	assert.equal((await apiCall('DELETE', `/api/tokens/${made.body.id}`)).status, 204);
});

await step('a client route loads directly (index.html fallback)', async () => {
	expected.push(/status of 404/); // the browser logs the missing script's GET
	await page.goto(base + '/scripts/00000000-0000-0000-0000-000000000000');
	await page.getByRole('heading', { name: 'Script not found' }).waitFor();
});

await step('an expired session returns to the sign-in form with a message', async () => {
	await page.goto(base + '/');
	await page.getByRole('heading', { name: 'Scripts' }).waitFor();
	await page.getByTestId('summary-calls').waitFor();
	await page.waitForLoadState('networkidle'); // the summary's requests are done
	await context.clearCookies(); // as when the cookie expires or the token is rotated
	expected.push(/status of 401/); // the refused GET /api/scripts
	await page.getByRole('button', { name: 'Refresh the list' }).click();
	const msg = page.getByTestId('session-message');
	await msg.waitFor();
	assert.match(await msg.innerText(), /session has expired/i);
	await shot('session-expired');
	await page.getByLabel('API token').fill(token);
	await page.getByLabel('API token').press('Enter'); // the form works from the keyboard
	await page.getByRole('heading', { name: 'Scripts' }).waitFor();
});

await step('signing out returns to the sign-in page and ends the session', async () => {
	const [session] = await context.cookies(base + '/api/session');
	assert.ok(session, 'signed in before signing out');
	await page.getByTestId('sign-out').click();
	await page.getByLabel('API token').waitFor();
	await page.reload();
	await page.getByLabel('API token').waitFor();
	// The session was deleted on the server: a copy of the cookie is refused.
	const replay = await context.request.get(base + '/api/scripts', {
		headers: { Cookie: `${session.name}=${session.value}` }
	});
	assert.equal(replay.status(), 401, 'the cookie, replayed after signing out, is refused');
	await shot('signed-out');
});

await step('the console stayed clean', async () => {
	assert.deepEqual(problems, [], 'console errors and warnings');
	assert.deepEqual(
		expected.map(String),
		[],
		'every console message a step expected appeared'
	);
});

console.log(`\n${passed.length} steps passed; screenshots in ${shots}`);
await finish(0);
