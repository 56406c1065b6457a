import { describe, expect, it, vi } from 'vitest';
import { CSRF_HEADER } from './api';
import { createSecretsClient, secretNameProblem, secretsPath } from './secrets';

function fake(...responses: Response[]) {
	const calls: { url: string; init: RequestInit }[] = [];
	const fn = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
		calls.push({ url: String(url), init: init ?? {} });
		const r = responses.shift();
		if (!r) throw new Error('unexpected call');
		return r;
	});
	return { client: createSecretsClient(fn as unknown as typeof fetch), calls };
}

describe('secrets client', () => {
	it('lists names and times', async () => {
		const { client, calls } = fake(
			new Response(JSON.stringify({ items: [{ name: 'API_KEY', updated_at: '2026-01-01T00:00:00Z' }] }), { status: 200 })
		);
		const list = await client.list('s 1');
		expect(list).toEqual([{ name: 'API_KEY', updated_at: '2026-01-01T00:00:00Z' }]);
		expect(calls[0].url).toBe('/api/scripts/s%201/secrets');
	});

	it('sets a value with PUT and the CSRF header, and deletes', async () => {
		const { client, calls } = fake(new Response(null, { status: 204 }), new Response(null, { status: 204 }));
		await client.set(undefined, 'TOKEN', 'v@lue');
		await client.remove('abc', 'TOKEN');
		expect(calls[0].url).toBe('/api/secrets/TOKEN');
		expect(calls[0].init.method).toBe('PUT');
		expect(JSON.parse(String(calls[0].init.body))).toEqual({ value: 'v@lue' });
		expect((calls[0].init.headers as Record<string, string>)[CSRF_HEADER]).toBe('1');
		expect(calls[1].url).toBe('/api/scripts/abc/secrets/TOKEN');
		expect(calls[1].init.method).toBe('DELETE');
	});

	it('turns an error body into an ApiError', async () => {
		const { client } = fake(
			new Response(JSON.stringify({ error: { code: 'invalid_request', message: 'bad name' } }), { status: 400 })
		);
		await expect(client.set('a', 'x', 'v')).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
	});
});

describe('secret names', () => {
	it('follows the server rule', () => {
		expect(secretNameProblem('API_KEY')).toBe('');
		expect(secretNameProblem('_X9')).toBe('');
		expect(secretNameProblem('')).not.toBe('');
		expect(secretNameProblem('lower')).not.toBe('');
		expect(secretNameProblem('9LIVES')).not.toBe('');
		expect(secretNameProblem('A'.repeat(65))).not.toBe('');
		expect(secretsPath()).toBe('/api/secrets');
	});
});
