// End-to-end test of calling protected scripts from a page of another origin, in real
// headless Chromium, against a running server (internal/dashboard/e2e's TestCrossOriginCalls
// starts `picloud serve` and runs this file). It does not use the dashboard: it creates
// scripts through the admin API, serves a blank page from its own loopback port (another
// origin than PiCloud's), and has that page call the scripts with fetch().
//
// A request carrying X-PiCloud-Key or Authorization makes the browser send a CORS
// preflight first, without credentials. PiCloud answers it for `key` and `token` scripts
// (docs/access-control.md, "Browsers and CORS"); the real request is then checked, and
// the page reads the answer only when the script allows the page's origin.
//
// Environment: PICLOUD_URL, PICLOUD_ADMIN_TOKEN and CHROMIUM as for run.mjs.

import { openBrowser } from './browser.mjs';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';

const base = (process.env.PICLOUD_URL ?? '').replace(/\/$/, '');
const token = process.env.PICLOUD_ADMIN_TOKEN ?? '';

if (!base || !token) {
	console.error('e2e: set PICLOUD_URL and PICLOUD_ADMIN_TOKEN');
	process.exit(2);
}

/** Calls the admin API with the admin token; returns the decoded JSON. */
async function admin(method, path, body) {
	const res = await fetch(base + path, {
		method,
		headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
	return text ? JSON.parse(text) : undefined;
}

// The page's origin: a blank page on another loopback port.
const pageServer = createServer((req, res) => {
	res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
	res.end('<!doctype html><meta charset="utf-8"><title>another origin</title><p>another origin</p>');
});
await new Promise((ok) => pageServer.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${pageServer.address().port}`;
assert.notEqual(origin, new URL(base).origin);

// Scripts that let the page's origin read their answers, and one that does not.
const allow = (o) =>
	`#{status: 200, headers: #{"access-control-allow-origin": "${o}"}, body: #{hello: "browser", method: request.method, key_seen: request.headers.contains("x-picloud-key")}}`;
const keyed = await admin('POST', '/api/scripts', { name: 'cors-keyed', source: allow(origin), access: 'key' });
await admin('POST', '/api/scripts', { name: 'cors-tokened', source: allow(origin), access: 'token' });
await admin('POST', '/api/scripts', { name: 'cors-closed', source: allow('https://other.example'), access: 'key' });
await admin('POST', '/api/scripts', { name: 'cors-lib', source: '1', access: 'library' });
const { key } = await admin('POST', `/api/scripts/${keyed.id}/keys`, { name: 'browser' });
const closedKey = (await admin('POST', '/api/scripts/cors-closed/keys', { name: 'browser' })).key;
const { token: caller } = await admin('POST', '/api/tokens', { name: 'cors-caller', scopes: ['invoke:cors-tokened'] });

const { context, page, close } = await openBrowser('cors');

/** The value of a sample of GET /metrics (0 when absent). */
async function metric(sample) {
	const res = await fetch(base + '/metrics', { headers: { Authorization: `Bearer ${token}` } });
	for (const line of (await res.text()).split('\n')) if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
	return 0;
}
const denied = (reason) => metric(`picloud_invoke_denied_total{reason="${reason}"}`);

let failed = false;
async function step(name, fn) {
	try {
		await fn();
		console.log(`ok   ${name}`);
	} catch (err) {
		console.error(`FAIL ${name}: ${err.stack ?? err}`);
		failed = true;
	}
}

/** fetch() from the page: {ok, status, body} or {error} when the browser refused it. */
function call(path, init) {
	return page.evaluate(
		async ([url, init]) => {
			try {
				const res = await fetch(url, init);
				return { ok: true, status: res.status, body: await res.text() };
			} catch (err) {
				return { error: String(err) };
			}
		},
		[base + path, init]
	);
}

const json = { 'Content-Type': 'application/json' };

await page.goto(origin + '/');

// A cross-origin request with X-PiCloud-Key or Authorization is sent only after a
// successful preflight: the calls that succeed below passed one.
await step('a key script answers the page that presents its key (preflight, then the checked call)', async () => {
	const r = await call('/fn/cors-keyed/orders', { method: 'POST', headers: { ...json, 'X-PiCloud-Key': key }, body: '{"n": 1}' });
	assert.equal(r.error, undefined, `fetch failed: ${r.error}`);
	assert.equal(r.status, 200);
	const body = JSON.parse(r.body);
	assert.equal(body.hello, 'browser');
	assert.equal(body.method, 'POST');
	assert.equal(body.key_seen, false, 'the key is PiCloud\'s, not the script\'s');
});

await step('a token script answers a bearer token that may invoke it; /api/execute/{id} too', async () => {
	const r = await call('/fn/cors-tokened', { method: 'PUT', headers: { Authorization: `Bearer ${caller}` } });
	assert.equal(r.status, 200, JSON.stringify(r));
	assert.equal(JSON.parse(r.body).method, 'PUT');
	const e = await call(`/api/execute/${keyed.id}`, { method: 'DELETE', headers: { 'X-PiCloud-Key': key } });
	assert.equal(e.status, 200, JSON.stringify(e));
});

await step('without the key, or with a wrong one, the browser gets nothing to read', async () => {
	const [missing, unknown] = [await denied('missing'), await denied('unknown')];
	for (const headers of [json, { 'X-PiCloud-Key': 'pck_' + '0'.repeat(64) }, { Authorization: 'Bearer pct_nope' }]) {
		const r = await call('/fn/cors-keyed', { method: 'POST', headers, body: '{}' });
		assert.ok(r.error, `read a refusal: ${JSON.stringify(r)} with ${JSON.stringify(headers)}`);
	}
	// The requests were sent (their preflights passed) and PiCloud refused them.
	assert.equal(await denied('missing'), missing + 1);
	assert.equal(await denied('unknown'), unknown + 2);
});

await step('a script that does not allow the page\'s origin runs, but the page cannot read it', async () => {
	const r = await call('/fn/cors-closed', { method: 'POST', headers: { 'X-PiCloud-Key': closedKey } });
	assert.ok(r.error, JSON.stringify(r));
});

await step('credentials are never allowed: a credentialed fetch fails at the preflight', async () => {
	const r = await call('/fn/cors-keyed', { method: 'POST', credentials: 'include', headers: { 'X-PiCloud-Key': key } });
	assert.ok(r.error, JSON.stringify(r));
	// Not sent: the last step finds no execution row for it.
});

await step('a library script and a missing one look the same: both refused at the preflight', async () => {
	for (const name of ['cors-lib', 'cors-missing']) {
		const r = await call('/fn/' + name, { method: 'POST', headers: { 'X-PiCloud-Key': key } });
		assert.ok(r.error, JSON.stringify(r));
	}
});

await step('only the checked calls that were let through left execution rows', async () => {
	const logs = await admin('GET', `/api/scripts/${keyed.id}/logs?limit=50`);
	// The POST of the first step and the DELETE through /api/execute; the
	// credentialed fetch never left the browser.
	const methods = logs.items.map((l) => l.request?.method ?? l.method).sort();
	assert.deepEqual(methods, ['DELETE', 'POST'], JSON.stringify(logs.items.map((l) => l.request)));
});

await close();
pageServer.close();
process.exit(failed ? 1 : 0);
