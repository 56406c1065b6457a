// Types of the admin API as docs/api.md describes it. Times are RFC 3339 UTC strings with
// milliseconds; durations are milliseconds.

export type ExecutionStatus = 'success' | 'error' | 'timeout' | 'budget_exceeded';

export type Trigger = 'http' | 'test' | 'cron' | 'async';

export interface LastExecution {
	status: ExecutionStatus;
	started_at: string;
}

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
	created_at?: string;
	updated_at?: string;
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
	expires_at?: string;
}
