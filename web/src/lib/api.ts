// The dashboard's typed client for PiCloud's admin API.
//
// Every call goes to the same origin and is authenticated by the HttpOnly session cookie
// that POST /api/session sets; the admin token itself is sent once, when signing in, and
// never stored. Writes carry the CSRF header the server requires of cookie-authenticated
// requests. Every failure — an error body from the server, a network failure, a response
// that is not the JSON we expect — becomes an ApiError whose message the UI can show.

import { withoutPosition } from './diff';
import type {
	APIToken,
	AuditPage,
	ClusterNode,
	InvokeKey,
	KeySecret,
	TokenInput,
	TokenSecret,
	CompileError,
	Draft,
	ExecutionStats,
	Overview,
	ReplayInput,
	ReplayResult,
	Execution,
	InvokeInput,
	InvokeResult,
	Job,
	JobAccepted,
	Page,
	Schedule,
	ScheduleInput,
	Script,
	ScriptInput,
	ScriptsStats,
	Session,
	ValidateResult,
	Version
} from './types';

/** The header (and value) the server's CSRF guard requires on cookie-authenticated writes. */
export const CSRF_HEADER = 'X-PiCloud-CSRF';
export const CSRF_VALUE = '1';

/** Error codes from the API's error table, plus two of the client's own. */
export type ErrorCode =
	| 'invalid_request'
	| 'invalid_source'
	| 'unauthorized'
	| 'forbidden'
	| 'not_found'
	| 'name_taken'
	| 'payload_too_large'
	| 'overloaded'
	| 'script_error'
	| 'invalid_response'
	| 'budget_exceeded'
	| 'timeout'
	| 'internal'
	| 'method_not_allowed'
	| 'rate_limited'
	| 'unavailable'
	| 'queue_full'
	/** The server could not be reached (no HTTP response at all). */
	| 'network'
	/** The server answered with something that is not the API's JSON. */
	| 'bad_response';

/** Messages for when the server gives none, by code. */
const fallbackMessages: Record<string, string> = {
	invalid_request: 'The request was not valid.',
	invalid_source: 'The script does not compile.',
	unauthorized: 'Your session has expired or the token is wrong. Sign in again.',
	forbidden: 'The server refused the request.',
	not_found: 'Not found.',
	name_taken: 'That name is already taken.',
	payload_too_large: 'The request is too large.',
	overloaded: 'The server is busy; try again in a moment.',
	script_error: 'The script failed.',
	invalid_response: 'The script returned an unusable response.',
	budget_exceeded: 'The script exceeded a resource limit.',
	timeout: 'The script ran out of time.',
	internal: 'The server had an internal error.',
	method_not_allowed: 'The server does not allow that method here.',
	rate_limited: 'Too many requests; try again in a moment.',
	unavailable: 'The script is disabled or the server is not ready.',
	queue_full: 'The job queue is full; try again later.',
	network: 'Cannot reach the PiCloud server. Check that it is running.',
	bad_response: 'The server sent a response the dashboard does not understand.'
};

const codeForStatus: Record<number, ErrorCode> = {
	400: 'invalid_request',
	401: 'unauthorized',
	403: 'forbidden',
	404: 'not_found',
	405: 'method_not_allowed',
	409: 'name_taken',
	413: 'payload_too_large',
	429: 'overloaded',
	503: 'budget_exceeded',
	504: 'timeout'
};

/** The HTTP status the API answers with for an error code (500 when unknown). */
export function statusForCode(code: string | undefined): number {
	for (const [status, c] of Object.entries(codeForStatus)) if (c === code) return Number(status);
	return code === 'invalid_source' ? 400 : 500;
}

/** A failed API call. `message` is fit to show to the operator. */
export class ApiError extends Error {
	/** HTTP status; 0 when there was no response. */
	readonly status: number;
	readonly code: ErrorCode | string;
	/** Extra fields of the error body (line, column, execution_id, ...). */
	readonly details: Readonly<Record<string, unknown>>;

	constructor(status: number, code: ErrorCode | string, message?: string, details: Record<string, unknown> = {}) {
		super(message || fallbackMessages[code] || `Request failed (HTTP ${status}).`);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.details = details;
	}

	get line(): number | undefined {
		return typeof this.details.line === 'number' ? this.details.line : undefined;
	}

	get column(): number | undefined {
		return typeof this.details.column === 'number' ? this.details.column : undefined;
	}

	get executionId(): string | undefined {
		return typeof this.details.execution_id === 'string' ? this.details.execution_id : undefined;
	}

	/** The request field a 400 names ("cron", "timezone", ...). */
	get field(): string | undefined {
		return typeof this.details.field === 'string' ? this.details.field : undefined;
	}

	/** For a bad cron expression: which of its fields (1-based) is wrong. */
	get position(): number | undefined {
		return typeof this.details.position === 'number' ? this.details.position : undefined;
	}

	/** For a bad cron expression: the wrong field's name ("minute", "hour", ...). */
	get fieldName(): string | undefined {
		return typeof this.details.field_name === 'string' ? this.details.field_name : undefined;
	}

	/** The message with the source position when the error has one. */
	get display(): string {
		if (this.line !== undefined) {
			// Rhai's text may end with the same position: it is rendered once.
			const message = withoutPosition(this.message, this.line, this.column ?? 1);
			return `${message} (line ${this.line}${this.column !== undefined ? `, column ${this.column}` : ''})`;
		}
		return this.message;
	}
}

/** Turns an HTTP response that is not 2xx into an ApiError, reading its error body. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
	let body: unknown;
	try {
		body = await res.json();
	} catch {
		body = undefined;
	}
	const envelope = isObject(body) && isObject(body.error) ? body.error : undefined;
	if (envelope) {
		const { code, message, ...details } = envelope;
		return new ApiError(
			res.status,
			typeof code === 'string' && code ? code : (codeForStatus[res.status] ?? 'internal'),
			typeof message === 'string' ? message : undefined,
			details
		);
	}
	const code = codeForStatus[res.status] ?? (res.status >= 500 ? 'internal' : 'bad_response');
	return new ApiError(res.status, code);
}

/** Whether err is the AbortError of a cancelled request, which callers usually ignore. */
export function isAbort(err: unknown): boolean {
	return err instanceof DOMException ? err.name === 'AbortError' : isObject(err) && err.name === 'AbortError';
}

/** The validation pattern for script names, as the API checks them. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Returns why name is not a valid script name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
	if (name === '') return 'A name is required.';
	if (name.length > 63) return 'A name has at most 63 characters.';
	if (!NAME_PATTERN.test(name)) {
		return 'Use lower-case letters, digits and hyphens, starting with a letter or digit.';
	}
	return undefined;
}

export interface ClientOptions {
	/** The fetch to use; the global one by default (tests pass a fake). */
	fetch?: typeof fetch;
	/** Prefix of every path, '' (same origin) by default. */
	base?: string;
	/** Called when an authenticated call comes back 401: the session has expired. */
	onUnauthorized?: (err: ApiError) => void;
}

export interface RequestOptions {
	signal?: AbortSignal;
}

export interface LogsQuery {
	limit?: number;
	offset?: number;
	/** Only these statuses (a comma list). */
	status?: string;
	/** Only these triggers (a comma list). */
	trigger?: string;
	/** Started at or after: RFC 3339, or a duration meaning that long ago ('15m'). */
	since?: string;
	/** Started before, the same forms as since. */
	until?: string;
	/** Case-insensitive text in the log lines' messages or the error. */
	q?: string;
}

/** The range of a stats request: since/until as for the logs (RFC 3339 or '1h' ago), step a Go duration ('1m'). */
export interface StatsQuery {
	since?: string;
	until?: string;
	step?: string;
}

/** Filters of the audit trail (GET /api/audit). */
export interface AuditQuery {
	/** RFC 3339, or a duration meaning that long ago ('24h'). */
	since?: string;
	until?: string;
	/** An action (script.update) or a prefix ending in '.' (script.). */
	action?: string;
	/** A token's name (admin for the admin token). */
	actor?: string;
	target?: string;
	/** The previous page's next: only older events. */
	before?: string;
	limit?: number;
}

export interface DeadLettersQuery {
	/** Only this script's dead letters. */
	script?: string;
	limit?: number;
}

/** "?a=1&b=2" of the defined values, or '' when there are none. */
export function queryString(params: Record<string, string | number | undefined>): string {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
	const s = q.toString();
	return s ? `?${s}` : '';
}

export type Client = ReturnType<typeof createClient>;

/**
 * send makes one admin API request with the dashboard's conventions (JSON
 * body, the CSRF header on writes, the session cookie, no caching) and
 * returns the response when it is ok; otherwise it throws the ApiError the
 * body describes (ApiError(0, 'network') when nothing came back).
 */
export async function send(
	doFetch: typeof fetch,
	method: string,
	path: string,
	body?: unknown,
	signal?: AbortSignal
): Promise<Response> {
	const headers: Record<string, string> = { Accept: 'application/json' };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && method !== 'HEAD') headers[CSRF_HEADER] = CSRF_VALUE;
	let res: Response;
	try {
		res = await doFetch(path, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			credentials: 'same-origin',
			cache: 'no-store',
			signal
		});
	} catch (err) {
		if (isAbort(err)) throw err;
		throw new ApiError(0, 'network');
	}
	if (!res.ok) throw await errorFromResponse(res);
	return res;
}

export function createClient(options: ClientOptions = {}) {
	const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
	const base = options.base ?? '';

	async function call<T>(
		method: string,
		path: string,
		body?: unknown,
		opts: RequestOptions & { expectEmpty?: boolean; quiet401?: boolean } = {}
	): Promise<T> {
		let res: Response;
		try {
			res = await send(doFetch, method, base + path, body, opts.signal);
		} catch (err) {
			if (err instanceof ApiError && err.status === 401 && !opts.quiet401) options.onUnauthorized?.(err);
			throw err;
		}
		if (opts.expectEmpty || res.status === 204) return undefined as T;
		try {
			return (await res.json()) as T;
		} catch (err) {
			if (isAbort(err)) throw err;
			throw new ApiError(res.status, 'bad_response');
		}
	}

	const script = (id: string) => `/api/scripts/${encodeURIComponent(id)}`;
	const schedule = (id: string) => `/api/schedules/${encodeURIComponent(id)}`;
	const deadLetter = (id: string) => `/api/dead-letters/${encodeURIComponent(id)}`;

	return {
		session: {
			/** The current session; resolves to {authenticated: false} when there is none. */
			async get(opts?: RequestOptions): Promise<Session> {
				try {
					const s = await call<Partial<Session> | undefined>('GET', '/api/session', undefined, {
						...opts,
						quiet401: true
					});
					return { ...s, authenticated: s?.authenticated ?? true };
				} catch (err) {
					if (err instanceof ApiError && err.status === 401) return { authenticated: false };
					throw err;
				}
			},
			/** Exchanges an API token (the admin token or a named one) for a session cookie. A wrong token is a 401 ApiError. */
			async signIn(token: string): Promise<void> {
				try {
					await call('POST', '/api/session', { token }, { expectEmpty: true, quiet401: true });
				} catch (err) {
					if (err instanceof ApiError && err.status === 401) {
						throw new ApiError(401, 'unauthorized', err.message.includes('expired') ? err.message : 'That token is not a valid API token.', {
							...err.details
						});
					}
					throw err;
				}
			},
			async signOut(): Promise<void> {
				await call('DELETE', '/api/session', undefined, { expectEmpty: true, quiet401: true });
			}
		},

		scripts: {
			async list(opts?: RequestOptions): Promise<Script[]> {
				return items(await call<Script[] | { items: Script[] }>('GET', '/api/scripts', undefined, opts));
			},
			get(id: string, opts?: RequestOptions): Promise<Script> {
				return call('GET', script(id), undefined, opts);
			},
			create(input: ScriptInput & { name: string; source: string }): Promise<Script> {
				return call('POST', '/api/scripts', input);
			},
			/** A partial update: absent fields keep their values. */
			update(id: string, input: ScriptInput): Promise<Script> {
				return call('PATCH', script(id), input);
			},
			remove(id: string): Promise<void> {
				return call('DELETE', script(id), undefined, { expectEmpty: true });
			},
			async versions(id: string, opts?: RequestOptions): Promise<Version[]> {
				return items(await call<Version[] | { items: Version[] }>('GET', `${script(id)}/versions`, undefined, opts));
			},
			version(id: string, n: number, opts?: RequestOptions): Promise<Version> {
				return call('GET', `${script(id)}/versions/${n}`, undefined, opts);
			},
			rollback(id: string, version: number): Promise<Script> {
				return call('POST', `${script(id)}/rollback`, { version });
			},
			/** Stores source as the draft (it must compile; it is not served). */
			saveDraft(id: string, source: string): Promise<Draft> {
				return call('PUT', `${script(id)}/draft`, { source });
			},
			removeDraft(id: string): Promise<void> {
				return call('DELETE', `${script(id)}/draft`, undefined, { expectEmpty: true });
			},
			/** Makes the draft the next version; the updated script is the answer. */
			promoteDraft(id: string): Promise<Script> {
				return call('POST', `${script(id)}/draft/promote`);
			},
			/** Runs the latest captured requests through the live version and the source (or draft); writes nothing. */
			replay(id: string, input: ReplayInput): Promise<ReplayResult> {
				return call('POST', `${script(id)}/replay`, input);
			},
			invoke(id: string, input: InvokeInput): Promise<InvokeResult> {
				return call('POST', `${script(id)}/invoke`, input);
			},
			logs(id: string, query: LogsQuery = {}, opts?: RequestOptions): Promise<Page<Execution>> {
				const { limit, offset, status, trigger, since, until, q } = query;
				return call('GET', `${script(id)}/logs${queryString({ limit, offset, status, trigger, since, until, q })}`, undefined, opts);
			},
			/** The script's executions cut into time buckets (counts by status, percentiles, operations, outbound). */
			stats(id: string, query: StatsQuery = {}, opts?: RequestOptions): Promise<ExecutionStats> {
				const { since, until, step } = query;
				return call('GET', `${script(id)}/stats${queryString({ since, until, step })}`, undefined, opts);
			},
			/** The URL of the script's live tail (server-sent events) for an EventSource. */
			tailURL(id: string): string {
				return `${base}${script(id)}/tail`;
			}
		},

		schedules: {
			async list(scriptId: string, opts?: RequestOptions): Promise<Schedule[]> {
				return items(await call<Schedule[] | { items: Schedule[] }>('GET', `${script(scriptId)}/schedules`, undefined, opts));
			},
			/** A new schedule of the script (enabled unless input.enabled is false), with its next runs. */
			create(scriptId: string, input: ScheduleInput & { cron: string }): Promise<Schedule> {
				return call('POST', `${script(scriptId)}/schedules`, input);
			},
			get(id: string, opts?: RequestOptions): Promise<Schedule> {
				return call('GET', schedule(id), undefined, opts);
			},
			update(id: string, input: ScheduleInput): Promise<Schedule> {
				return call('PATCH', schedule(id), input);
			},
			remove(id: string): Promise<void> {
				return call('DELETE', schedule(id), undefined, { expectEmpty: true });
			},
			pause(id: string): Promise<Schedule> {
				return call('POST', `${schedule(id)}/pause`);
			},
			resume(id: string): Promise<Schedule> {
				return call('POST', `${schedule(id)}/resume`);
			},
			/** Fires the schedule now: the firing is a queued job. */
			run(id: string): Promise<JobAccepted> {
				return call('POST', `${schedule(id)}/run`);
			},
			/** The schedule's last runs, newest first. */
			async executions(id: string, limit?: number, opts?: RequestOptions): Promise<Execution[]> {
				return items(
					await call<Execution[] | { items: Execution[] }>('GET', `${schedule(id)}/executions${queryString({ limit })}`, undefined, opts)
				);
			},
			/**
			 * The next firing times of an expression, without saving anything. A bad
			 * expression is a 400 ApiError whose position names the wrong field.
			 */
			async preview(cron: string, timezone: string, opts?: RequestOptions): Promise<string[]> {
				const r = await call<{ next_runs?: string[] | null }>('POST', '/api/schedules/preview', { cron, timezone }, opts);
				return r.next_runs ?? [];
			}
		},

		jobs: {
			get(id: string, opts?: RequestOptions): Promise<Job> {
				return call('GET', `/api/jobs/${encodeURIComponent(id)}`, undefined, opts);
			}
		},

		deadLetters: {
			async list(query: DeadLettersQuery = {}, opts?: RequestOptions): Promise<Job[]> {
				return items(
					await call<Job[] | { items: Job[] }>(
						'GET',
						`/api/dead-letters${queryString({ script: query.script, limit: query.limit })}`,
						undefined,
						opts
					)
				);
			},
			/** Queues the dead job again; it gets at least one more attempt. */
			requeue(id: string): Promise<Job> {
				return call('POST', `${deadLetter(id)}/requeue`);
			},
			discard(id: string): Promise<void> {
				return call('DELETE', deadLetter(id), undefined, { expectEmpty: true });
			}
		},

		executions: {
			get(id: string, opts?: RequestOptions): Promise<Execution> {
				return call('GET', `/api/executions/${encodeURIComponent(id)}`, undefined, opts);
			}
		},

		/** The cluster's nodes, as the manager last heard from them (none on an all-in-one server). */
		nodes: {
			async list(opts?: RequestOptions): Promise<ClusterNode[]> {
				return items(await call<ClusterNode[] | { items: ClusterNode[] | null }>('GET', '/api/nodes', undefined, opts));
			},
			/** Forgets a node; one still running registers again at its next heartbeat. */
			forget(name: string): Promise<void> {
				return call('DELETE', `/api/nodes/${encodeURIComponent(name)}`, undefined, { expectEmpty: true });
			}
		},

		stats: {
			/** Every script's executions together, in time buckets. */
			all(query: StatsQuery = {}, opts?: RequestOptions): Promise<ExecutionStats> {
				const { since, until, step } = query;
				return call('GET', `/api/stats${queryString({ since, until, step })}`, undefined, opts);
			},
			/** Per script: totals and calls/errors per bucket, the busiest first (only scripts that ran). */
			scripts(query: StatsQuery = {}, opts?: RequestOptions): Promise<ScriptsStats> {
				const { since, until, step } = query;
				return call('GET', `/api/stats/scripts${queryString({ since, until, step })}`, undefined, opts);
			}
		},

		/** The API tokens (admin scope): the admin token's row (id "admin") first, then the named ones. */
		tokens: {
			async list(opts?: RequestOptions): Promise<APIToken[]> {
				return items(await call<APIToken[] | { items: APIToken[] | null }>('GET', '/api/tokens', undefined, opts));
			},
			/** A new named token; the answer holds the token itself, shown this once. */
			create(input: TokenInput): Promise<TokenSecret> {
				return call('POST', '/api/tokens', input);
			},
			/** Revokes a named token: it stops working and its sessions end. */
			revoke(id: string): Promise<void> {
				return call('DELETE', `/api/tokens/${encodeURIComponent(id)}`, undefined, { expectEmpty: true });
			},
			/** A new secret for the token ("admin": the admin token); the old one stops working at once. */
			rotate(id: string): Promise<TokenSecret> {
				return call('POST', `/api/tokens/${encodeURIComponent(id)}/rotate`);
			}
		},

		/** A script's invoke keys (for access "key"). */
		keys: {
			async list(scriptId: string, opts?: RequestOptions): Promise<InvokeKey[]> {
				return items(await call<InvokeKey[] | { items: InvokeKey[] | null }>('GET', `${script(scriptId)}/keys`, undefined, opts));
			},
			/** A new key; the answer holds the key itself, shown this once. */
			create(scriptId: string, name: string): Promise<KeySecret> {
				return call('POST', `${script(scriptId)}/keys`, { name });
			},
			revoke(scriptId: string, keyId: string): Promise<void> {
				return call('DELETE', `${script(scriptId)}/keys/${encodeURIComponent(keyId)}`, undefined, { expectEmpty: true });
			}
		},

		/** The audit trail (admin scope), newest first. */
		async audit(query: AuditQuery = {}, opts?: RequestOptions): Promise<AuditPage> {
			const { since, until, action, actor, target, before, limit } = query;
			const r = await call<Partial<AuditPage>>(
				'GET',
				`/api/audit${queryString({ since, until, action, actor, target, before, limit })}`,
				undefined,
				opts
			);
			return { items: r.items ?? [], next: r.next ?? '' };
		},

		/** The server's live figures: the gate, the log sink, the nodes. */
		overview(opts?: RequestOptions): Promise<Overview> {
			return call('GET', '/api/overview', undefined, opts);
		},

		/** Compiles source without saving it; compile errors are in the result, not thrown. */
		async validate(source: string, opts?: RequestOptions): Promise<ValidateResult> {
			try {
				const r = await call<Partial<ValidateResult>>('POST', '/api/validate', { source }, opts);
				return { ok: r.ok ?? (r.errors ?? []).length === 0, errors: r.errors ?? [] };
			} catch (err) {
				// A server that answers invalid_source with a position instead of {ok:false}
				// is reporting the same thing.
				if (err instanceof ApiError && err.code === 'invalid_source') {
					const e: CompileError = {
						kind: typeof err.details.kind === 'string' ? err.details.kind : 'ParseError',
						message: err.message,
						line: err.line ?? 1,
						column: err.column ?? 1
					};
					return { ok: false, errors: [e] };
				}
				throw err;
			}
		}
	};
}

function items<T>(v: T[] | { items: T[] | null } | null | undefined): T[] {
	if (Array.isArray(v)) return v;
	if (v && Array.isArray(v.items)) return v.items;
	return [];
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null;
}
