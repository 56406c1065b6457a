import { describe, expect, it, vi } from 'vitest';
import { createClient } from './api';
import { changePath, changeText, requestLine, sideText, summarize, summaryText } from './replay';
import type { ReplayResult, ReplayRun } from './types';

const run: ReplayRun = { status: 200, headers: {}, body: '', outcome: 'success', operations: 1, duration_ms: 0.1 };

describe('replay', () => {
	it('posts draft and last to the replay route', async () => {
		const answer: ReplayResult = { items: [], not_replayable: [] };
		const calls: { url: string; init: RequestInit }[] = [];
		const fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
			calls.push({ url: String(url), init: init ?? {} });
			return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
		});
		const api = createClient({ fetch: fetch as unknown as typeof globalThis.fetch, base: 'http://h' });
		await expect(api.scripts.replay('a/b', { draft: true, last: 20 })).resolves.toEqual(answer);
		expect(calls[0].url).toBe('http://h/api/scripts/a%2Fb/replay');
		expect(calls[0].init.method).toBe('POST');
		expect(JSON.parse(String(calls[0].init.body))).toEqual({ draft: true, last: 20 });
	});

	it('counts same, differing and not replayable', () => {
		const r: ReplayResult = {
			items: [
				{ execution_id: '1', request: null, live: run, draft: run, diff: {}, same: true },
				{ execution_id: '2', request: null, live: run, draft: run, diff: { body: [{ path: '/n', live: 1, draft: 2 }] }, same: false },
				{ execution_id: '3', request: null, live: run, draft: run, diff: {}, same: true }
			],
			not_replayable: [{ execution_id: '4', reason: 'the captured body was truncated' }]
		};
		expect(summarize(r)).toEqual({ same: 2, differ: 1, notReplayable: 1 });
		expect(summaryText(summarize(r))).toBe('2 same, 1 differ, 1 not replayable');
		expect(summaryText(summarize({ items: [], not_replayable: [] }))).toBe('0 same, 0 differ, 0 not replayable');
	});

	it('writes changes as old → new, absent sides as —', () => {
		expect(changeText({ path: '/n', live: 1, draft: 2 })).toBe('1 → 2');
		expect(changeText({ path: '/a', live: null, draft: { x: 'y' } })).toBe('— → {"x":"y"}');
		expect(changeText({ path: '', live: 'hi', draft: 'ho' })).toBe('"hi" → "ho"');
		expect(changePath({ path: '', live: 'a', draft: 'b' })).toBe('(body)');
		expect(changePath({ path: '/items/0', live: 1, draft: 2 })).toBe('/items/0');
		expect(sideText('x'.repeat(300)).length).toBe(201);
	});

	it('writes the request line with its query', () => {
		expect(requestLine({ method: 'POST', path: '/fn/x', query: { a: '1', b: 'c d' } })).toBe('POST /fn/x?a=1&b=c+d');
		expect(requestLine({ method: 'GET', path: '/fn/x', query: null })).toBe('GET /fn/x');
		expect(requestLine(null)).toBe('(no request)');
	});
});
