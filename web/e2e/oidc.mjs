// End-to-end test of the dashboard's single sign-on in real headless Chromium, against a
// running server configured with --oidc-* and a real OpenID Connect provider on loopback
// (internal/dashboard/e2e's TestDashboardOIDC starts mockoidc and `picloud serve` and runs
// this file). The grant gives read to *@example.com. The provider signs in, without a
// login form of its own, the users the test queued: first OIDC_OUTSIDER (no grant matches:
// the server refuses), then OIDC_USER. The test created the script SCRIPT_ID beforehand.
//
// Environment: PICLOUD_URL, CHROMIUM and E2E_SCREENSHOTS as for run.mjs (screenshots go to
// an oidc/ folder inside E2E_SCREENSHOTS), OIDC_PROVIDER (the provider's issuer URL),
// OIDC_USER, OIDC_OUTSIDER, SCRIPT_ID.

import { openBrowser } from './browser.mjs';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.env.PICLOUD_URL ?? '').replace(/\/$/, '');
const provider = (process.env.OIDC_PROVIDER ?? '').replace(/\/$/, '');
const user = process.env.OIDC_USER ?? '';
const outsider = process.env.OIDC_OUTSIDER ?? '';
const scriptID = process.env.SCRIPT_ID ?? '';
const shots = join(resolve(process.env.E2E_SCREENSHOTS ?? join(here, 'screenshots')), 'oidc');

if (!base || !provider || !user || !outsider || !scriptID) {
	console.error('e2e: set PICLOUD_URL, OIDC_PROVIDER, OIDC_USER, OIDC_OUTSIDER and SCRIPT_ID');
	process.exit(2);
}

rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });
const { context, page, close } = await openBrowser('oidc', {
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
	if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
	problems.push(`${current}: request failed ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
});

// The top-level navigations, redirects included: the way through the provider.
let navigations = [];
page.on('request', (req) => {
	if (req.isNavigationRequest() && req.frame() === page.mainFrame()) navigations.push(req.url());
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

/** GET /api/session from the page, as the dashboard asks it. */
async function session() {
	return page.evaluate(async () => (await fetch('/api/session', { headers: { Accept: 'application/json' } })).json());
}

const ssoButton = page.getByRole('link', { name: 'Sign in with single sign-on' });

await step('the sign-in page offers single sign-on beside the token form', async () => {
	await page.goto(base + '/');
	await ssoButton.waitFor();
	assert.equal(await ssoButton.getAttribute('href'), '/api/session/oidc/login');
	assert.equal(await page.getByLabel('API token').count(), 1, 'the token form stays');
	assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
	const s = await session();
	assert.deepEqual(s, { authenticated: false, oidc: { enabled: true } });
	await shot('sign-in');
});

await step('a user no grant matches is refused by the server\'s page, with a way back', async () => {
	// The browser logs the refused callback's status.
	expected.push(/status of 403/);
	navigations = [];
	const refused = page.waitForResponse((res) => new URL(res.url()).pathname === '/api/session/oidc/callback');
	await ssoButton.click();
	const res = await refused;
	assert.equal(res.status(), 403);
	await page.getByRole('heading', { name: 'Sign-in refused' }).waitFor();
	const text = await page.locator('body').innerText();
	assert.ok(text.includes(`${outsider} signed in at the identity provider, but no grant of this PiCloud matches`), text);
	assert.ok(navigations.some((u) => u.startsWith(provider)), `the browser went through the provider: ${navigations.join(' → ')}`);
	await shot('refused');
	await page.getByRole('link', { name: 'Back to PiCloud' }).click();
	await ssoButton.waitFor();
	assert.equal((await session()).authenticated, false, 'the refusal opened no session');
});

await step('single sign-on goes through the provider and lands signed in with read', async () => {
	navigations = [];
	await ssoButton.click();
	await page.getByRole('heading', { name: 'Scripts', level: 1 }).waitFor();
	assert.equal(new URL(page.url()).pathname, '/');
	const paths = navigations.map((u) => (u.startsWith(provider) ? 'provider' + new URL(u).pathname : new URL(u).pathname));
	assert.deepEqual(paths, ['/api/session/oidc/login', 'provider/oidc/authorize', '/api/session/oidc/callback', '/'], navigations.join(' → '));
	const authorize = new URL(navigations[1]);
	assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
	assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));

	const who = page.getByTestId('signed-in-as');
	await who.waitFor();
	assert.match(await who.innerText(), new RegExp(`^${user.replace(/\./g, '\\.')}\\s+read\\s+·?\\s*single sign-on$`));
	assert.equal(await page.getByTestId('signed-in-via').innerText(), 'single sign-on');
	assert.equal(await who.getAttribute('title'), `Signed in as ${user} through single sign-on: read`);

	const s = await session();
	assert.deepEqual(s, {
		authenticated: true,
		method: 'session',
		token: { id: '', name: user, scopes: ['read'], sso: true },
		oidc: { enabled: true }
	});
	// Every cookie of this browser: the session's is scoped to /api, the sign-in's to /api/session/oidc.
	const cookies = await context.cookies();
	const sc = cookies.find((c) => c.name === 'picloud_session');
	assert.ok(sc, 'the session cookie is set');
	assert.equal(sc.httpOnly, true);
	assert.equal(sc.sameSite, 'Strict');
	assert.equal(sc.path, '/api');
	assert.equal(cookies.filter((c) => c.name === 'picloud_oidc').length, 0, 'the sign-in cookie is spent');
	await shot('signed-in');
});

await step('the read user sees no admin pages and cannot deploy', async () => {
	for (const nav of ['nav-tokens', 'nav-audit', 'nav-nodes']) {
		assert.equal(await page.getByTestId(nav).count(), 0, `${nav} is hidden from a read user`);
	}
	assert.equal(await page.getByRole('button', { name: 'Create script' }).isDisabled(), true, 'no create for read');
	await page.getByRole('link', { name: 'e2e-sso-hello' }).first().click();
	const ro = page.getByTestId('read-only');
	await ro.waitFor();
	assert.match(await ro.innerText(), new RegExp(`${user.replace(/\./g, '\\.')} \\(single sign-on\\) has read`));
	assert.equal(new URL(page.url()).pathname, `/scripts/${scriptID}`);
	for (const id of ['save', 'delete', 'create-key', 'run-test']) {
		assert.equal(await page.getByTestId(id).isDisabled(), true, `${id} is disabled for read`);
	}
	assert.equal(
		await page.getByTestId('delete').getAttribute('title'),
		`Needs the deploy scope; ${user} (single sign-on) has read.`
	);
	await shot('script-read-only');
	await page.goto(base + '/tokens');
	await page.getByTestId('admin-only').waitFor();
	assert.match(await page.getByTestId('admin-only').innerText(), new RegExp(`${user.replace(/\./g, '\\.')} \\(single sign-on\\) has read`));
});

await step('the session survives a reload', async () => {
	await page.goto(base + '/');
	await page.getByTestId('signed-in-via').waitFor();
});

await step('sign out returns to the sign-in page, which still offers single sign-on', async () => {
	await page.getByTestId('sign-out').click();
	await page.getByTestId('session-message').filter({ hasText: 'You are signed out.' }).waitFor();
	await ssoButton.waitFor();
	assert.equal((await context.cookies()).filter((c) => c.name === 'picloud_session').length, 0, 'the session cookie is gone');
	await page.reload();
	await ssoButton.waitFor();
	assert.deepEqual(await session(), { authenticated: false, oidc: { enabled: true } });
});

await step('the sign-in page works on a phone and in the dark', async () => {
	await page.setViewportSize({ width: 390, height: 844 });
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
	const box = await ssoButton.boundingBox();
	assert.ok(box && box.width > 200, 'the single sign-on button spans the form');
	await shot('phone');
	await page.setViewportSize({ width: 1366, height: 900 });
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot('dark');
	await page.emulateMedia({ colorScheme: 'light' });
});

await step('the console stayed clean', async () => {
	assert.deepEqual(problems, [], 'console errors and warnings');
});

console.log(`\n${passed.length} steps passed; screenshots in ${shots}`);
await finish(0);
