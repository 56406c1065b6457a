import { describe, expect, it, vi } from 'vitest';
import { ApiError, CSRF_HEADER, createClient, errorFromResponse, isAbort, nameProblem, queryString, statusForCode } from './api';

type Call = { url: string; init: RequestInit };

/** A fake fetch answering each call with the next of responses, recording the calls. */
function fakeFetch(...responses: Array<Response | Error>) {
	const calls: Call[] = [];
	const fn = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
		calls.push({ url: String(url), init: init ?? {} });
		const r = responses.shift();
		if (!r) throw new Error('unexpected call');
		if (r instanceof Error) throw r;
		return r;
	});
	return { fetch: fn as unknown as typeof fetch, calls };
}

function json(status: number, body: unknown): Response {
	return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function headersOf(c: Call): Record<string, string> {
	return c.init.headers as Record<string, string>;
}

describe('errorFromResponse', () => {
	it('reads the error envelope and its extra fields', async () => {
		const err = await errorFromResponse(
			json(400, { error: { code: 'invalid_source', message: 'unexpected token', line: 3, column: 7 } })
		);
		expect(err).toBeInstanceOf(ApiError);
		expect(err.status).toBe(400);
		expect(err.code).toBe('invalid_source');
		expect(err.message).toBe('unexpected token');
		expect(err.line).toBe(3);
		expect(err.column).toBe(7);
		expect(err.display).toBe('unexpected token (line 3, column 7)');
	});

	it('renders a position the message already carries once', async () => {
		const err = await errorFromResponse(
			json(400, { error: { code: 'invalid_source', message: 'unexpected token (line 3, position 7)', line: 3, column: 7 } })
		);
		expect(err.display).toBe('unexpected token (line 3, column 7)');
	});

	it('keeps the execution id of a failed script', async () => {
		const err = await errorFromResponse(
			json(500, { error: { code: 'script_error', message: 'boom', execution_id: 'e-1' } })
		);
		expect(err.executionId).toBe('e-1');
		expect(err.display).toBe('boom');
	});

	it.each([
		[401, 'unauthorized'],
		[404, 'not_found'],
		[409, 'name_taken'],
		[413, 'payload_too_large'],
		[429, 'overloaded'],
		[502, 'internal'],
		[503, 'budget_exceeded'],
		[504, 'timeout'],
		[418, 'bad_response']
	])('maps a bare HTTP %i to %s with a readable message', async (status, code) => {
		const err = await errorFromResponse(new Response('<html>proxy error</html>', { status }));
		expect(err.code).toBe(code);
		expect(err.message.length).toBeGreaterThan(5);
		expect(err.message).not.toContain('<html>');
	});

	it('falls back to the status code when the envelope has no code', async () => {
		const err = await errorFromResponse(json(409, { error: { message: 'taken' } }));
		expect(err.code).toBe('name_taken');
		expect(err.message).toBe('taken');
	});

	it('uses a message of its own when the server gives none', async () => {
		const err = await errorFromResponse(json(409, { error: { code: 'name_taken' } }));
		expect(err.message).toBe('That name is already taken.');
	});
});

describe('createClient', () => {
	it('lists scripts from a bare array or an items envelope', async () => {
		const f = fakeFetch(json(200, [{ id: 'a', name: 'a', version: 1 }]), json(200, { items: [{ id: 'b', name: 'b', version: 2 }] }));
		const api = createClient({ fetch: f.fetch });
		expect((await api.scripts.list()).map((s) => s.id)).toEqual(['a']);
		expect((await api.scripts.list()).map((s) => s.id)).toEqual(['b']);
		expect(f.calls[0].url).toBe('/api/scripts');
		expect(f.calls[0].init.method).toBe('GET');
		expect(f.calls[0].init.credentials).toBe('same-origin');
		expect(headersOf(f.calls[0])[CSRF_HEADER]).toBeUndefined();
	});

	it('lists nodes (none when the server says null) and forgets one by its escaped name', async () => {
		const node = { name: 'web-1:8001', address: 'http://10.0.0.5:8001', status: 'lost' };
		const f = fakeFetch(json(200, { items: [node] }), json(200, { items: null }), new Response(null, { status: 204 }));
		const api = createClient({ fetch: f.fetch });
		expect(await api.nodes.list()).toEqual([node]);
		expect(await api.nodes.list()).toEqual([]);
		await expect(api.nodes.forget('web-1:8001')).resolves.toBeUndefined();
		expect(f.calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
			'GET /api/nodes',
			'GET /api/nodes',
			'DELETE /api/nodes/web-1%3A8001'
		]);
		expect(headersOf(f.calls[2])[CSRF_HEADER]).toBe('1');
	});

	it('makes, lists, rotates and revokes tokens, and keys of a script', async () => {
		const row = { id: 'u1', name: 'ci', prefix: 'pct_1a2b3c4d', scopes: ['read'], created_at: null, last_used_at: null, expires_at: null };
		const f = fakeFetch(
			json(200, { items: [row] }),
			json(201, { ...row, token: 'pct_secret' }),
			json(200, { ...row, token: 'pct_other' }),
			new Response(null, { status: 204 }),
			json(200, { items: null }),
			json(201, { id: 'k1', script_id: 's', name: 'l', prefix: 'pck_1', created_at: null, last_used_at: null, key: 'pck_secret' }),
			new Response(null, { status: 204 })
		);
		const api = createClient({ fetch: f.fetch });
		expect(await api.tokens.list()).toEqual([row]);
		expect((await api.tokens.create({ name: 'ci', scopes: ['read'], expires_at: null })).token).toBe('pct_secret');
		expect((await api.tokens.rotate('admin')).token).toBe('pct_other');
		await api.tokens.revoke('u1');
		expect(await api.keys.list('my script')).toEqual([]);
		expect((await api.keys.create('s', 'l')).key).toBe('pck_secret');
		await api.keys.revoke('s', 'k1');
		expect(f.calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
			'GET /api/tokens',
			'POST /api/tokens',
			'POST /api/tokens/admin/rotate',
			'DELETE /api/tokens/u1',
			'GET /api/scripts/my%20script/keys',
			'POST /api/scripts/s/keys',
			'DELETE /api/scripts/s/keys/k1'
		]);
		expect(JSON.parse(String(f.calls[1].init.body))).toEqual({ name: 'ci', scopes: ['read'], expires_at: null });
		expect(JSON.parse(String(f.calls[5].init.body))).toEqual({ name: 'l' });
	});

	it('asks for the audit trail with its filters and the next cursor', async () => {
		const f = fakeFetch(json(200, { items: [{ id: 'e1', action: 'script.update' }], next: 'e1' }), json(200, { items: null }));
		const api = createClient({ fetch: f.fetch });
		const p = await api.audit({ action: 'script.', actor: '', since: '24h', limit: 10 });
		expect(p.next).toBe('e1');
		expect(p.items).toHaveLength(1);
		expect(await api.audit({ before: 'e1' })).toEqual({ items: [], next: '' });
		expect(f.calls.map((c) => c.url)).toEqual(['/api/audit?since=24h&action=script.&limit=10', '/api/audit?before=e1']);
	});

	it('reports forgetting an unknown node as not_found', async () => {
		const f = fakeFetch(json(404, { error: { code: 'not_found', message: 'no node named "x"' } }));
		const api = createClient({ fetch: f.fetch });
		const err = await api.nodes.forget('x').catch((e) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err.code).toBe('not_found');
		expect(err.message).toBe('no node named "x"');
	});

	it('sends JSON and the CSRF header on writes', async () => {
		const f = fakeFetch(json(201, { id: 'x', name: 'hello', version: 1 }));
		const api = createClient({ fetch: f.fetch });
		const s = await api.scripts.create({ name: 'hello', source: '42' });
		expect(s.version).toBe(1);
		const c = f.calls[0];
		expect(c.url).toBe('/api/scripts');
		expect(c.init.method).toBe('POST');
		expect(JSON.parse(String(c.init.body))).toEqual({ name: 'hello', source: '42' });
		expect(headersOf(c)['Content-Type']).toBe('application/json');
		expect(headersOf(c)[CSRF_HEADER]).toBe('1');
	});

	it('builds every script route', async () => {
		const f = fakeFetch(
			json(200, { id: 'a/b' }),
			json(200, { id: 'x', version: 3 }),
			new Response(null, { status: 204 }),
			json(200, [{ version: 1 }]),
			json(200, { version: 1, source: 's' }),
			json(200, { id: 'x', version: 4 }),
			json(200, { items: [], limit: 5, offset: 10 }),
			json(200, { execution_id: 'e', status: 'success', response: { status: 200 }, logs: [] }),
			json(200, { items: [], limit: 10, offset: 0 })
		);
		const api = createClient({ fetch: f.fetch, base: 'http://h' });
		await api.scripts.get('a/b');
		await api.scripts.update('x', { source: 'y' });
		await expect(api.scripts.remove('x')).resolves.toBeUndefined();
		await api.scripts.versions('x');
		await api.scripts.version('x', 1);
		await api.scripts.rollback('x', 1);
		await api.scripts.logs('x', { limit: 5, offset: 10 });
		await api.scripts.invoke('x', { method: 'POST', path: '/fn/x', headers: { 'x-a': '1' }, body: '{}' });
		expect(f.calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
			'GET http://h/api/scripts/a%2Fb',
			'PATCH http://h/api/scripts/x',
			'DELETE http://h/api/scripts/x',
			'GET http://h/api/scripts/x/versions',
			'GET http://h/api/scripts/x/versions/1',
			'POST http://h/api/scripts/x/rollback',
			'GET http://h/api/scripts/x/logs?limit=5&offset=10',
			'POST http://h/api/scripts/x/invoke'
		]);
		expect(JSON.parse(String(f.calls[5].init.body))).toEqual({ version: 1 });
		await api.scripts.logs('x', { limit: 10, status: 'error,timeout', trigger: 'http', since: '15m', q: 'a b&c' });
		expect(f.calls.at(-1)?.url).toBe('http://h/api/scripts/x/logs?limit=10&status=error%2Ctimeout&trigger=http&since=15m&q=a+b%26c');
		expect(api.scripts.tailURL('a/b')).toBe('http://h/api/scripts/a%2Fb/tail');
		expect(JSON.parse(String(f.calls[7].init.body))).toEqual({
			method: 'POST',
			path: '/fn/x',
			headers: { 'x-a': '1' },
			body: '{}'
		});
	});

	it('builds the stats and overview routes with their range', async () => {
		const { fetch, calls } = fakeFetch(
			json(200, { since: 'a', until: 'b', step_ms: 60000, buckets: [] }),
			json(200, { since: 'a', until: 'b', step_ms: 3600000, buckets: [] }),
			json(200, { since: 'a', until: 'b', step_ms: 120000, scripts: null }),
			json(200, { version: 'dev', role: 'serve', scripts: 0 })
		);
		const c = createClient({ fetch });
		await c.scripts.stats('a b', { since: '1h', step: '1m' });
		await c.stats.all({ since: '24h', step: '1h' });
		const s = await c.stats.scripts({ since: '1h', step: '2m', until: '' });
		expect(s.scripts).toBeNull();
		expect((await c.overview()).role).toBe('serve');
		expect(calls.map((x) => x.url)).toEqual([
			'/api/scripts/a%20b/stats?since=1h&step=1m',
			'/api/stats?since=24h&step=1h',
			'/api/stats/scripts?since=1h&step=2m',
			'/api/overview'
		]);
		expect(calls.every((x) => x.init.method === 'GET')).toBe(true);
	});

	it('builds every schedule, job and dead-letter route', async () => {
		const sched = { id: 's1', script_id: 'x', cron: '* * * * *', timezone: '', body: '', enabled: true };
		const f = fakeFetch(
			json(200, { items: [sched] }),
			json(201, { ...sched, next_runs: ['2026-11-01T12:01:00.000Z'] }),
			json(200, sched),
			json(200, sched),
			json(200, { ...sched, enabled: false }),
			json(200, sched),
			json(202, { job_id: '42' }),
			json(200, { items: [{ id: 'e1' }] }),
			new Response(null, { status: 204 }),
			json(200, { next_runs: ['2026-11-01T12:01:00.000Z', '2026-11-01T12:02:00.000Z'] }),
			json(200, { id: '42', state: 'dead' }),
			json(200, { items: [{ id: '42' }] }),
			json(200, { id: '42', state: 'queued' }),
			new Response(null, { status: 204 }),
			json(200, { id: 'e1' }),
			json(200, { items: [] })
		);
		const api = createClient({ fetch: f.fetch, base: 'http://h' });
		expect((await api.schedules.list('x')).map((s) => s.id)).toEqual(['s1']);
		expect((await api.schedules.create('x', { cron: '* * * * *', timezone: 'Europe/Paris' })).next_runs).toHaveLength(1);
		await api.schedules.get('s1');
		await api.schedules.update('s1', { body: '{}' });
		await api.schedules.pause('s1');
		await api.schedules.resume('s1');
		expect(await api.schedules.run('s1')).toEqual({ job_id: '42' });
		expect((await api.schedules.executions('s1', 5)).map((e) => e.id)).toEqual(['e1']);
		await expect(api.schedules.remove('s1')).resolves.toBeUndefined();
		expect(await api.schedules.preview('*/1 * * * *', 'UTC')).toHaveLength(2);
		expect((await api.jobs.get('42')).state).toBe('dead');
		expect((await api.deadLetters.list({ script: 'x', limit: 20 })).map((j) => j.id)).toEqual(['42']);
		expect((await api.deadLetters.requeue('42')).state).toBe('queued');
		await expect(api.deadLetters.discard('42')).resolves.toBeUndefined();
		expect((await api.executions.get('e1')).id).toBe('e1');
		await api.deadLetters.list();
		expect(f.calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
			'GET http://h/api/scripts/x/schedules',
			'POST http://h/api/scripts/x/schedules',
			'GET http://h/api/schedules/s1',
			'PATCH http://h/api/schedules/s1',
			'POST http://h/api/schedules/s1/pause',
			'POST http://h/api/schedules/s1/resume',
			'POST http://h/api/schedules/s1/run',
			'GET http://h/api/schedules/s1/executions?limit=5',
			'DELETE http://h/api/schedules/s1',
			'POST http://h/api/schedules/preview',
			'GET http://h/api/jobs/42',
			'GET http://h/api/dead-letters?script=x&limit=20',
			'POST http://h/api/dead-letters/42/requeue',
			'DELETE http://h/api/dead-letters/42',
			'GET http://h/api/executions/e1',
			'GET http://h/api/dead-letters'
		]);
		expect(JSON.parse(String(f.calls[1].init.body))).toEqual({ cron: '* * * * *', timezone: 'Europe/Paris' });
		expect(JSON.parse(String(f.calls[3].init.body))).toEqual({ body: '{}' });
		expect(JSON.parse(String(f.calls[9].init.body))).toEqual({ cron: '*/1 * * * *', timezone: 'UTC' });
		for (const i of [4, 5, 6, 12, 13]) expect(headersOf(f.calls[i])[CSRF_HEADER]).toBe('1');
	});

	it('reports the bad field of a refused cron expression', async () => {
		const f = fakeFetch(
			json(400, {
				error: {
					code: 'invalid_request',
					message: 'cron: field 1 (minute): 61 is out of range 0-59',
					field: 'cron',
					position: 1,
					field_name: 'minute'
				}
			})
		);
		const api = createClient({ fetch: f.fetch });
		const err = await api.schedules.preview('61 * * * *', '').catch((e) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err.code).toBe('invalid_request');
		expect(err.field).toBe('cron');
		expect(err.position).toBe(1);
		expect(err.fieldName).toBe('minute');
	});

	it('has messages for the queue\'s refusals', async () => {
		const full = await errorFromResponse(json(429, { error: { code: 'queue_full', retry_after: 5 } }));
		expect(full.message).toMatch(/queue is full/);
		const off = await errorFromResponse(json(503, { error: { code: 'unavailable' } }));
		expect(off.message).toMatch(/disabled/);
	});

	it('throws an ApiError carrying the server message', async () => {
		const f = fakeFetch(json(409, { error: { code: 'name_taken', message: 'name "hello" is taken' } }));
		const api = createClient({ fetch: f.fetch });
		const err = await api.scripts.create({ name: 'hello', source: '' }).catch((e) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err.code).toBe('name_taken');
		expect(err.message).toBe('name "hello" is taken');
	});

	it('reports an expired session once, on an authenticated call', async () => {
		const onUnauthorized = vi.fn();
		const f = fakeFetch(json(401, { error: { code: 'unauthorized', message: 'session expired' } }));
		const api = createClient({ fetch: f.fetch, onUnauthorized });
		await expect(api.scripts.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
		expect(onUnauthorized).toHaveBeenCalledTimes(1);
	});

	it('turns a network failure into a network ApiError', async () => {
		const f = fakeFetch(new TypeError('Failed to fetch'));
		const api = createClient({ fetch: f.fetch });
		const err = await api.scripts.list().catch((e) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err.code).toBe('network');
		expect(err.status).toBe(0);
	});

	it('turns a 200 that is not JSON into bad_response', async () => {
		const f = fakeFetch(new Response('<!doctype html>', { status: 200, headers: { 'content-type': 'text/html' } }));
		const api = createClient({ fetch: f.fetch });
		await expect(api.scripts.list()).rejects.toMatchObject({ code: 'bad_response' });
	});

	it('lets an abort through untouched', async () => {
		const abort = new DOMException('aborted', 'AbortError');
		const f = fakeFetch(abort);
		const api = createClient({ fetch: f.fetch });
		const err = await api.validate('1', { signal: AbortSignal.abort() }).catch((e) => e);
		expect(isAbort(err)).toBe(true);
	});
});

describe('session', () => {
	it('signs in with the token in the body and never elsewhere', async () => {
		const f = fakeFetch(new Response(null, { status: 204 }));
		const onUnauthorized = vi.fn();
		const api = createClient({ fetch: f.fetch, onUnauthorized });
		await api.session.signIn('s3cret');
		const c = f.calls[0];
		expect(c.url).toBe('/api/session');
		expect(c.init.method).toBe('POST');
		expect(JSON.parse(String(c.init.body))).toEqual({ token: 's3cret' });
		expect(headersOf(c).Authorization).toBeUndefined();
	});

	it('explains a wrong token without reporting an expired session', async () => {
		const f = fakeFetch(json(401, { error: { code: 'unauthorized', message: 'missing or wrong token' } }));
		const onUnauthorized = vi.fn();
		const api = createClient({ fetch: f.fetch, onUnauthorized });
		const err = await api.session.signIn('nope').catch((e) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err.message).toBe('That token is not a valid API token.');
		expect(onUnauthorized).not.toHaveBeenCalled();
	});

	it('reads a missing session as signed out', async () => {
		const f = fakeFetch(json(401, { error: { code: 'unauthorized', message: 'no session' } }), json(200, { authenticated: true }), json(200, {}));
		const api = createClient({ fetch: f.fetch });
		expect(await api.session.get()).toEqual({ authenticated: false });
		expect((await api.session.get()).authenticated).toBe(true);
		expect((await api.session.get()).authenticated).toBe(true);
	});

	it('signs out with DELETE and the CSRF header', async () => {
		const f = fakeFetch(new Response(null, { status: 204 }));
		const api = createClient({ fetch: f.fetch });
		await api.session.signOut();
		expect(f.calls[0].init.method).toBe('DELETE');
		expect(headersOf(f.calls[0])[CSRF_HEADER]).toBe('1');
	});
});

describe('validate', () => {
	it('returns compile errors from the result', async () => {
		const errors = [{ kind: 'ParseError', message: 'expected )', line: 2, column: 5 }];
		const f = fakeFetch(json(200, { ok: false, errors }), json(200, { ok: true, errors: [] }));
		const api = createClient({ fetch: f.fetch });
		expect(await api.validate('f(')).toEqual({ ok: false, errors });
		expect(await api.validate('1')).toEqual({ ok: true, errors: [] });
		expect(JSON.parse(String(f.calls[0].init.body))).toEqual({ source: 'f(' });
	});

	it('treats an invalid_source error answer as a compile error', async () => {
		const f = fakeFetch(json(400, { error: { code: 'invalid_source', message: 'bad', line: 4, column: 2 } }));
		const api = createClient({ fetch: f.fetch });
		expect(await api.validate('x')).toEqual({
			ok: false,
			errors: [{ kind: 'ParseError', message: 'bad', line: 4, column: 2 }]
		});
	});
});

describe('nameProblem', () => {
	it.each([
		['hello', undefined],
		['a', undefined],
		['0-x', undefined],
		['a'.repeat(63), undefined],
		['', 'required'],
		['a'.repeat(64), 'at most 63'],
		['Hello', 'Use lower-case'],
		['-x', 'Use lower-case'],
		['a_b', 'Use lower-case'],
		['a b', 'Use lower-case']
	])('%s', (name, want) => {
		const got = nameProblem(name);
		if (want === undefined) expect(got).toBeUndefined();
		else expect(got).toContain(want);
	});
});

describe('statusForCode', () => {
	it.each([
		['script_error', 500],
		['invalid_response', 500],
		['budget_exceeded', 503],
		['timeout', 504],
		['overloaded', 429],
		['invalid_source', 400],
		[undefined, 500]
	])('%s → %i', (code, status) => {
		expect(statusForCode(code)).toBe(status);
	});
});

describe('queryString', () => {
	it('keeps the set values only, encoded', () => {
		expect(queryString({})).toBe('');
		expect(queryString({ script: undefined, limit: 20 })).toBe('?limit=20');
		expect(queryString({ script: '', limit: 0 })).toBe('?limit=0');
		expect(queryString({ script: 'a b&c', limit: undefined })).toBe('?script=a+b%26c');
	});
});
