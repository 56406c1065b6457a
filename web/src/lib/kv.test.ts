import { describe, expect, it, vi } from 'vitest';
import { CSRF_HEADER } from './api';
import { createKVClient, kvKeyProblem, kvPath, parseKVValue } from './kv';

function fake(...responses: Response[]) {
	const calls: { url: string; init: RequestInit }[] = [];
	const fn = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
		calls.push({ url: String(url), init: init ?? {} });
		const r = responses.shift();
		if (!r) throw new Error('unexpected call');
		return r;
	});
	return { client: createKVClient(fn as unknown as typeof fetch), calls };
}

describe('kv client', () => {
	it('lists a page with prefix, cursor and namespace', async () => {
		const { client, calls } = fake(
			new Response(JSON.stringify({ keys: ['a/1'], cursor: 'a/1', usage: { keys: 3, bytes: 40 } }), { status: 200 })
		);
		const page = await client.list('s 1', { prefix: 'a/', cursor: 'a/0', limit: 1, namespace: 'orders' });
		expect(page).toEqual({ keys: ['a/1'], cursor: 'a/1', usage: { keys: 3, bytes: 40 } });
		expect(calls[0].url).toBe('/api/scripts/s%201/kv?prefix=a%2F&cursor=a%2F0&limit=1&namespace=orders');
	});

	it('escapes keys, sends JSON values with the CSRF header, and deletes', async () => {
		const entry = { key: 'a/b c', value: { n: 1 }, updated_at: '2026-01-01T00:00:00.000Z' };
		const { client, calls } = fake(
			new Response(JSON.stringify(entry), { status: 200 }),
			new Response(JSON.stringify(entry), { status: 200 }),
			new Response(null, { status: 204 })
		);
		expect(await client.set('id', 'a/b c', { n: 1 }, 60)).toEqual(entry);
		expect(await client.get('id', 'a/b c')).toEqual(entry);
		await client.remove('id', 'a/b c', 'orders');
		expect(calls[0].url).toBe('/api/scripts/id/kv/a%2Fb%20c');
		expect(calls[0].init.method).toBe('PUT');
		expect(JSON.parse(String(calls[0].init.body))).toEqual({ value: { n: 1 }, ttl_seconds: 60 });
		expect((calls[0].init.headers as Record<string, string>)[CSRF_HEADER]).toBe('1');
		expect(calls[2].url).toBe('/api/scripts/id/kv/a%2Fb%20c?namespace=orders');
		expect(calls[2].init.method).toBe('DELETE');
	});

	it('turns an error body into an ApiError', async () => {
		const { client } = fake(
			new Response(JSON.stringify({ error: { code: 'payload_too_large', message: 'kv: quota of 2 keys reached' } }), {
				status: 413
			})
		);
		await expect(client.set('id', 'k', 1)).rejects.toMatchObject({ code: 'payload_too_large' });
	});
});

describe('kv checks', () => {
	it('checks keys', () => {
		expect(kvKeyProblem('')).not.toBe('');
		expect(kvKeyProblem('x'.repeat(513))).toContain('512');
		expect(kvKeyProblem('é'.repeat(256))).toBe('');
		expect(kvKeyProblem('é'.repeat(257))).toContain('512');
		expect(kvKeyProblem('ok/key')).toBe('');
	});

	it('parses values as JSON', () => {
		expect(parseKVValue('{"a": [1, "x"]}')).toEqual({ a: [1, 'x'] });
		expect(parseKVValue('null')).toBe(null);
		expect(() => parseKVValue('plain text')).toThrow(/JSON/);
	});

	it('builds paths', () => {
		expect(kvPath('a b')).toBe('/api/scripts/a%20b/kv');
		expect(kvPath('id', '?#/', 'ns')).toBe('/api/scripts/id/kv/%3F%23%2F?namespace=ns');
	});
});
