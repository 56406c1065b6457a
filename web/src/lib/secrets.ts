// The dashboard's calls to the secret routes. Secrets are write-only: the server never
// answers with a value, so this client has no way to read one either.

import { ApiError, send as sendRequest } from './api';

/** What a list shows of a secret: its name and when it was last set. */
export interface SecretInfo {
	name: string;
	updated_at: string;
}

/** The rule the server applies to a secret's name. */
export const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

/** The largest value the server accepts, in bytes (64 KiB). */
export const MAX_SECRET_BYTES = 64 << 10;

/** Why name cannot be a secret's name, or '' when it can. */
export function secretNameProblem(name: string): string {
	if (name === '') return 'A name is required.';
	if (!SECRET_NAME.test(name)) return 'Use upper-case letters, digits and _, not starting with a digit (at most 64).';
	return '';
}

/** The base path of a script's secrets, or of the global ones when scriptId is undefined. */
export function secretsPath(scriptId?: string): string {
	return scriptId === undefined ? '/api/secrets' : `/api/scripts/${encodeURIComponent(scriptId)}/secrets`;
}

export function createSecretsClient(doFetch: typeof fetch = (i, init) => fetch(i, init)) {
	const send = (method: string, path: string, body?: unknown) => sendRequest(doFetch, method, path, body);
	return {
		async list(scriptId?: string): Promise<SecretInfo[]> {
			const res = await send('GET', secretsPath(scriptId));
			try {
				const body = (await res.json()) as { items?: SecretInfo[] };
				return body.items ?? [];
			} catch {
				throw new ApiError(res.status, 'bad_response');
			}
		},
		async set(scriptId: string | undefined, name: string, value: string): Promise<void> {
			await send('PUT', `${secretsPath(scriptId)}/${encodeURIComponent(name)}`, { value });
		},
		async remove(scriptId: string | undefined, name: string): Promise<void> {
			await send('DELETE', `${secretsPath(scriptId)}/${encodeURIComponent(name)}`);
		}
	};
}

export const secrets = createSecretsClient();
