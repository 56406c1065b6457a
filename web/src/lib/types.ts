// Types of the admin API as docs/api.md describes it. Times are RFC 3339 UTC strings with
// milliseconds; durations are milliseconds.

export type ExecutionStatus = 'success' | 'error' | 'timeout' | 'budget_exceeded';

/** What started an execution: a request, a test run, a schedule, an async invocation, an event. */
export type Trigger = 'http' | 'test' | 'cron' | 'async' | 'event';

export interface LastExecution {
	status: ExecutionStatus;
	started_at: string;
}

/** A script's access setting. */
export type Access = 'public' | 'key' | 'token' | 'library';

export interface Script {
	id: string;
	name: string;
	version: number;
	source?: string;
	timeout_ms?: number;
	max_operations?: number;
	max_concurrency?: number;
	/** Bytes one execution's strings, arrays, maps and BLOBs may hold; 0 = server default (64 MiB). */
	max_memory_bytes?: number;
	/** Bytes of the response body one execution may produce; 0 = server default (10 MiB). */
	max_response_bytes?: number;
	/** Responses without the platform's CSP sandbox (effective only with --functions-origin). */
	unsandboxed?: boolean;
	/** Shared kv namespaces the script may reach with kv::ns(name), comma-separated. */
	kv_namespaces?: string;
	/** The script's kv quota per namespace; 0 = server default (10,000 keys, 64 MiB). */
	kv_max_keys?: number;
	kv_max_bytes?: number;
	/** http:: limits; 0 = server default (50 requests, 10 MiB, 10 s). */
	http_max_requests?: number;
	http_max_response_bytes?: number;
	http_timeout_ms?: number;
	/** Destinations http:: may reach despite the egress guard: hosts, host:port, CIDRs, comma-separated. */
	egress_allow?: string;
	/** A disabled script answers 503 and its schedules and subscriptions stop firing; absent = true. */
	enabled?: boolean;
	/** Attempts of an async or event run; 0 = the default (3). */
	max_attempts?: number;
	/** The event topics the script receives. */
	subscriptions?: string[] | null;
	/** Who may invoke it at /fn/{name}: public (default, '' reads as public), key, token or library. */
	access?: Access | '';
	/** Requests per second allowed (0: no limit), with a burst of rate_limit_burst (0: ceil(rps)). */
	rate_limit_rps?: number;
	rate_limit_burst?: number;
	/** What the limit counts by: client (address, the default) or key (per invoke key). */
	rate_limit_by?: 'client' | 'key' | '';
	/** The pattern of the restricted deploy token that last wrote it; '' or absent: unconfined. */
	confined_to?: string;
	created_at?: string;
	updated_at?: string;
	/** The waiting draft (GET /api/scripts/{id} only; absent when there is none). */
	draft?: Draft;
	/** The most recent execution, absent or null when the script never ran. */
	last_execution?: LastExecution | null;
	/** Share of errors (0..1) over the last 100 executions; absent or null when none. */
	error_rate?: number | null;
}

export interface ScriptInput {
	name?: string;
	source?: string;
	timeout_ms?: number;
	max_operations?: number;
	max_concurrency?: number;
	max_memory_bytes?: number;
	max_response_bytes?: number;
	unsandboxed?: boolean;
	kv_namespaces?: string;
	kv_max_keys?: number;
	kv_max_bytes?: number;
	http_max_requests?: number;
	http_max_response_bytes?: number;
	http_timeout_ms?: number;
	egress_allow?: string;
	enabled?: boolean;
	max_attempts?: number;
	subscriptions?: string[];
	access?: Access;
	rate_limit_rps?: number;
	rate_limit_burst?: number;
	rate_limit_by?: 'client' | 'key';
	/** '' lifts the confinement (a token for every script only). */
	confined_to?: string;
}

/** The numeric settings of a script: absent or 0 means the server's default. */
export type NumericSetting =
	| 'timeout_ms'
	| 'max_operations'
	| 'max_concurrency'
	| 'max_memory_bytes'
	| 'max_response_bytes'
	| 'kv_max_keys'
	| 'kv_max_bytes'
	| 'http_max_requests'
	| 'http_max_response_bytes'
	| 'http_timeout_ms';

/** A script's draft: stored, never served, until promoted to the next version. */
export interface Draft {
	script_id: string;
	source: string;
	/** The script's version when the draft was saved. */
	base_version: number;
	updated_at: string;
}

export interface Version {
	version: number;
	source?: string;
	created_at?: string;
}

export interface CompileError {
	kind: string;
	message: string;
	line: number;
	column: number;
}

export interface ValidateResult {
	ok: boolean;
	errors: CompileError[];
}

export interface LogLine {
	level: 'debug' | 'info' | 'warn' | 'error' | string;
	message: string;
	/** Structured data passed to log::*(message, data); null when none. */
	data?: unknown;
	time?: string;
}

/** A failed execution's error; line and column are 0 when unknown. */
export interface ScriptError {
	kind: string;
	message: string;
	line?: number;
	column?: number;
}

export interface Headers {
	[name: string]: string;
}

/** A recorded body: text, or base64 when body_encoding is "base64" (not UTF-8). */
export interface RecordedBody {
	body?: string;
	body_encoding?: string;
	body_size?: number;
	body_truncated?: boolean;
}

export interface RecordedRequest extends RecordedBody {
	method: string;
	path: string;
	query?: Record<string, string> | null;
	headers?: Headers | null;
}

export interface RecordedResponse extends RecordedBody {
	status: number;
	headers?: Headers | null;
}

export interface Execution {
	id: string;
	script_id: string;
	script_version: number;
	trigger: Trigger | string;
	status: ExecutionStatus;
	started_at: string;
	duration_ms: number;
	operations: number;
	request?: RecordedRequest | null;
	response?: RecordedResponse | null;
	logs?: LogLine[] | null;
	error?: ScriptError | null;
	/** The http:: requests the execution made, in order. */
	outbound?: OutboundCall[] | null;
	/** The job an async, event or cron run belongs to, and which attempt it was (1-based). */
	job_id?: string;
	attempt?: number;
	/** The schedule a cron run fired from. */
	schedule_id?: string;
	/**
	 * The cluster node that ran the execution; absent on the all-in-one server and for
	 * a manager's test runs.
	 */
	node?: string;
}

/** One http:: request as the execution log keeps it (the path without its query). */
export interface OutboundCall {
	method: string;
	host: string;
	path: string;
	/** 0 when no response came. */
	status: number;
	duration_ms: number;
	/** Bytes of the response body read. */
	bytes: number;
	error?: string;
}

export interface Page<T> {
	items: T[];
	limit: number;
	offset: number;
}

export interface InvokeInput {
	method: string;
	path: string;
	query?: Record<string, string>;
	headers: Headers;
	body: string;
}

/** The result of a test invocation. */
export interface InvokeResult {
	execution_id: string;
	status: ExecutionStatus;
	/** What the caller got; null when the execution failed (see code and error). */
	response: RecordedResponse | null;
	/** The API error code a caller would get, when the execution failed. */
	code?: string;
	duration_ms: number;
	operations: number;
	logs: LogLine[];
	error?: ScriptError | null;
}

export interface Session {
	authenticated: boolean;
	/** How the caller authenticated: a bearer token or the session cookie. */
	method?: 'bearer' | 'session';
	expires_at?: string | null;
	/** The token the caller acts as (the admin token: id and name "admin", scopes [admin]). */
	token?: SessionToken;
	/** Present when the server offers single sign-on (GET /api/session/oidc/login). */
	oidc?: { enabled: boolean };
}

/** The token a signed-in dashboard acts as (GET /api/session's token). */
export interface SessionToken {
	id: string;
	name: string;
	/** admin, deploy, read, invoke:<script> or invoke:*. */
	scopes: string[];
	/** A name pattern restricting the token to some scripts; absent or '': every script. */
	scripts?: string;
	/** A single sign-on session: id is '', name who the identity provider signed in, scopes what the grants gave. */
	sso?: boolean;
}

/** A named API token without its secret (GET /api/tokens); id "admin" is the admin token's row. */
export interface APIToken {
	id: string;
	name: string;
	/** The token's first 12 characters, to recognise it. */
	prefix: string;
	scopes: string[];
	scripts?: string;
	created_at: string | null;
	last_used_at: string | null;
	expires_at: string | null;
}

/** A token just made or rotated: its row and the token itself, shown this once. */
export interface TokenSecret extends APIToken {
	token: string;
}

export interface TokenInput {
	name: string;
	scopes: string[];
	scripts?: string;
	/** RFC 3339 UTC; absent or null: never expires. */
	expires_at?: string | null;
}

/** An invoke key of a script, without its secret (GET /api/scripts/{id}/keys). */
export interface InvokeKey {
	id: string;
	script_id: string;
	/** An optional label. */
	name: string;
	/** The key's first 12 characters (pck_1a2b3c4d). */
	prefix: string;
	created_at: string | null;
	last_used_at: string | null;
}

/** A key just made: its row and the key itself, shown this once. */
export interface KeySecret extends InvokeKey {
	key: string;
}

/** One administrative action of the audit trail (GET /api/audit). */
export interface AuditEvent {
	/** UUIDv7: ids sort by time. */
	id: string;
	at: string;
	/** The token's name (admin for the admin token); '' for a failed sign-in. */
	actor: string;
	token_id?: string;
	via: 'bearer' | 'session' | 'offline' | '';
	ip: string;
	/** script.update, token.create, session.create, ... */
	action: string;
	target: string;
	target_id?: string;
	/** The action's detail: {before, after} for settings, versions for sources, a token's scopes... */
	detail?: Record<string, unknown> | null;
}

/** A page of the audit trail; next is the before of the next (older) page, '' on the last. */
export interface AuditPage {
	items: AuditEvent[];
	next: string;
}

/** A cron trigger of a script (GET /api/scripts/{id}/schedules). Times are RFC 3339 UTC. */
export interface Schedule {
	id: string;
	script_id: string;
	/** 5 fields, 6 with seconds first, @hourly-style shortcuts or @every <duration>. */
	cron: string;
	/** An IANA zone; '' is UTC. */
	timezone: string;
	/** The request body each firing gets. */
	body: string;
	enabled: boolean;
	last_scheduled_at?: string | null;
	created_at?: string | null;
	updated_at?: string | null;
	/** The next firing times (five), absent for a paused schedule. */
	next_runs?: string[] | null;
}

/** A new schedule, or a partial update of one. */
export interface ScheduleInput {
	cron?: string;
	timezone?: string;
	body?: string;
	enabled?: boolean;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'retrying' | 'dead';

/** The request an asynchronous run gets, kept with its job. body is base64 (Go []byte). */
export interface JobRequest {
	method: string;
	path: string;
	subpath?: string;
	query?: Record<string, string[]> | null;
	headers?: Record<string, string[]> | null;
	body?: string | null;
}

/** An event a script emitted (what a subscriber's run sees as request.event). */
export interface PiEvent {
	id: string;
	topic: string;
	payload: unknown;
	emitted_by: string;
	depth: number;
}

/** A cron run's firing (request.schedule). */
export interface ScheduleFiring {
	id: string;
	cron: string;
	scheduled_at: string;
}

/** One attempt of a job: its execution (GET /api/executions/{id}) and outcome. */
export interface JobAttempt {
	attempt: number;
	execution_id: string;
	status: ExecutionStatus;
	started_at: string;
	error?: ScriptError | null;
}

/** A failed attempt as the queue recorded it ("status: kind: message"). */
export interface JobError {
	attempt: number;
	at: string;
	error: string;
}

/** An asynchronous run (async, event or cron) and its attempts (GET /api/jobs/{id}). */
export interface Job {
	id: string;
	script_id: string;
	script_name: string;
	trigger: Trigger | string;
	state: JobState | string;
	/** Attempts started so far. */
	attempt: number;
	max_attempts: number;
	idempotency_key?: string;
	request?: JobRequest | null;
	schedule?: ScheduleFiring | null;
	event?: PiEvent | null;
	created_at?: string | null;
	/** When the next attempt may start. */
	scheduled_at?: string | null;
	finalized_at?: string | null;
	attempts?: JobAttempt[] | null;
	errors?: JobError[] | null;
}

/** The 202 answer to an asynchronous invocation or a schedule's "run now". */
export interface JobAccepted {
	job_id: string;
	existing?: boolean;
}

/** One part a process depends on, as its health reports it (ok, degraded or down). */
export interface HealthComponent {
	status: string;
	/** What it is ("sqlite", "journal", ...). */
	kind?: string;
	/** A short explanation when it is not ok. */
	message?: string;
}

/** How a node reported itself; lost when the manager heard nothing for 15 s. */
export type NodeStatus = 'ok' | 'degraded' | 'down' | 'lost';

/** One `picloud node` as it last reported itself to the manager (GET /api/nodes). */
export interface ClusterNode {
	name: string;
	/** The URL the manager dispatches jobs to. */
	address: string;
	version: string;
	/** The node's concurrency gate, and its executions running at the last heartbeat. */
	capacity: number;
	load: number;
	status: NodeStatus | string;
	/** The node's own health (journal, manager). */
	components?: Record<string, HealthComponent> | null;
	/**
	 * The size of the node's execution journal while it holds rows not yet delivered to
	 * the manager; 0 once all are.
	 */
	journal_bytes: number;
	started_at?: string | null;
	last_heartbeat?: string | null;
	/** When the manager first heard of this name. */
	registered_at?: string | null;
}

/** POST /api/scripts/{id}/replay: a source, or the stored draft, against the live version. */
export interface ReplayInput {
	source?: string;
	draft?: boolean;
	/** 1..100 (10 by default). */
	last?: number;
	filter?: { status?: string; since?: string; until?: string; q?: string };
}

/** One run of a replayed request. */
export interface ReplayRun {
	status: number;
	headers?: Headers | null;
	body: string;
	body_encoding?: string;
	outcome: ExecutionStatus | string;
	operations: number;
	duration_ms: number;
	error?: ScriptError | null;
}

/** One difference; live or draft null/absent when that side has none. path: a JSON Pointer into a body. */
export interface ReplayChange {
	path?: string;
	live?: unknown;
	draft?: unknown;
}

/** What differs between the two runs; absent fields are the same. */
export interface ReplayDiff {
	status?: ReplayChange;
	headers?: Record<string, ReplayChange>;
	body?: ReplayChange[];
	error?: ReplayChange;
}

export interface ReplayItem {
	execution_id: string;
	request: RecordedRequest | null;
	live: ReplayRun;
	draft: ReplayRun;
	diff: ReplayDiff;
	same: boolean;
}

export interface ReplayResult {
	items: ReplayItem[];
	not_replayable: { execution_id: string; reason: string }[];
}

/** One time bucket of GET /api/scripts/{id}/stats or GET /api/stats. */
export interface StatsBucket {
	/** The bucket covers executions started in [start, start + step). */
	start: string;
	count: number;
	/** Executions per status; statuses with none are absent. */
	by_status?: Record<string, number>;
	p50_ms: number;
	p95_ms: number;
	p99_ms: number;
	operations: number;
	outbound: number;
}

/** GET /api/scripts/{id}/stats (script_id set) and GET /api/stats: every bucket of the range, oldest first. */
export interface ExecutionStats {
	script_id?: string;
	since: string;
	until: string;
	step_ms: number;
	buckets: StatsBucket[] | null;
}

/** One script's figures in GET /api/stats/scripts. */
export interface ScriptStats {
	script_id: string;
	/** '' when the script was deleted since. */
	name: string;
	count: number;
	/** Executions whose status is not success. */
	errors: number;
	/** Total duration in the range, ms. */
	duration_ms: number;
	operations: number;
	outbound: number;
	/** Every bucket of the range, oldest first. */
	buckets: { count: number; errors: number }[] | null;
}

/** GET /api/stats/scripts: the scripts with executions in the range, by count descending. */
export interface ScriptsStats {
	since: string;
	until: string;
	step_ms: number;
	scripts: ScriptStats[] | null;
}

/** GET /api/overview: the server's live figures. */
export interface Overview {
	version: string;
	role: 'serve' | 'manager' | string;
	scripts: number;
	gate: {
		running: number;
		waiting: number;
		slots: number;
		memory_reserved_bytes: number;
		memory_limit_bytes: number;
		rejected_total: number;
	};
	sink: { queued: number; capacity: number; pending: number; journal_bytes: number };
	nodes: { total: number; healthy: number };
}
