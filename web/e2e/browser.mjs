// One headless Chromium for an e2e script: the same flags, locale and
// clock for every script, on a throwaway profile that close() removes.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The Chromium the scripts drive: $CHROMIUM, else Debian's. */
export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** How long a locator or navigation waits before a step fails. */
export const timeout = 15_000;

/** Flags that keep a headless run quiet and offline except for the pages it opens. */
const args = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync'
];

/**
 * openBrowser launches Chromium on a fresh profile named after the script
 * and returns its context, its first page and close(), which closes the
 * browser and removes the profile. options are merged into the launch's
 * (a viewport, a colour scheme).
 */
export async function openBrowser(name, options = {}) {
	const profile = mkdtempSync(join(tmpdir(), `picloud-e2e-${name}-`));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath,
		headless: true,
		args,
		timezoneId: 'UTC',
		locale: 'en-US',
		...options
	});
	context.setDefaultTimeout(timeout);
	const page = context.pages()[0] ?? (await context.newPage());
	async function close() {
		await context.close().catch(() => {});
		rmSync(profile, { recursive: true, force: true });
	}
	return { context, page, close };
}
