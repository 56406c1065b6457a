// The dashboard's calls to the kv routes: a script's keys (or a shared namespace's it
// lists in kv_namespaces), read, written and deleted as the script's kv:: sees them.

import { ApiError, send as sendRequest } from './api';

/** One stored key: its value (any JSON), expiry and last write. */
export interface KVEntry {
	key: string;
	value: unknown;
	expires_at?: string;
	updated_at: string;
}

/** A page of keys in byte order; cursor is '' on the last page. */
export interface KVPage {
	keys: string[];
	cursor: string;
	usage: { keys: number; bytes: number };
}

/** The server's limits (the root package's constants). */
export const MAX_KV_KEY_BYTES = 512;
export const MAX_KV_VALUE_BYTES = 1 << 20;

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Why key cannot be stored, or '' when it can. */
export function kvKeyProblem(key: string): string {
	if (key === '') return 'A key is required.';
	if (bytes(key) > MAX_KV_KEY_BYTES) return `A key is at most ${MAX_KV_KEY_BYTES} bytes.`;
	if (key.includes('\0')) return 'A key cannot hold NUL.';
	return '';
}

/** Parses the value field: JSON, as kv:: stores it. Throws a message when it is not. */
export function parseKVValue(text: string): unknown {
	if (bytes(text) > MAX_KV_VALUE_BYTES) throw new Error('A value is at most 1 MiB of JSON.');
	try {
		return JSON.parse(text);
	} catch {
		throw new Error('The value is JSON: quote text ("like this"), or write a number, true, null, [..] or {..}.');
	}
}

/** The path of a script's keys, or of one key; namespace selects a shared one. */
export function kvPath(scriptId: string, key?: string, namespace?: string): string {
	let p = `/api/scripts/${encodeURIComponent(scriptId)}/kv`;
	if (key !== undefined) p += '/' + encodeURIComponent(key);
	return namespace ? `${p}?namespace=${encodeURIComponent(namespace)}` : p;
}

export function createKVClient(doFetch: typeof fetch = (i, init) => fetch(i, init)) {
	const send = (method: string, path: string, body?: unknown) => sendRequest(doFetch, method, path, body);
	async function json<T>(res: Response): Promise<T> {
		try {
			return (await res.json()) as T;
		} catch {
			throw new ApiError(res.status, 'bad_response');
		}
	}
	return {
		async list(scriptId: string, q: { prefix?: string; cursor?: string; limit?: number; namespace?: string } = {}): Promise<KVPage> {
			const params = new URLSearchParams();
			if (q.prefix) params.set('prefix', q.prefix);
			if (q.cursor) params.set('cursor', q.cursor);
			if (q.limit) params.set('limit', String(q.limit));
			if (q.namespace) params.set('namespace', q.namespace);
			const qs = params.toString();
			const page = await json<KVPage>(await send('GET', kvPath(scriptId) + (qs ? '?' + qs : '')));
			return { keys: page.keys ?? [], cursor: page.cursor ?? '', usage: page.usage ?? { keys: 0, bytes: 0 } };
		},
		async get(scriptId: string, key: string, namespace?: string): Promise<KVEntry> {
			return json<KVEntry>(await send('GET', kvPath(scriptId, key, namespace)));
		},
		async set(scriptId: string, key: string, value: unknown, ttlSeconds = 0, namespace?: string): Promise<KVEntry> {
			const body: { value: unknown; ttl_seconds?: number } = { value };
			if (ttlSeconds > 0) body.ttl_seconds = ttlSeconds;
			return json<KVEntry>(await send('PUT', kvPath(scriptId, key, namespace), body));
		},
		async remove(scriptId: string, key: string, namespace?: string): Promise<void> {
			await send('DELETE', kvPath(scriptId, key, namespace));
		}
	};
}

export const kv = createKVClient();
