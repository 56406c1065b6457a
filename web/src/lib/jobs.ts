// Helpers for schedules, jobs and dead letters as the dashboard shows them: the parts of
// a bad cron expression, a job's stored request, and its attempts merged with the errors
// the queue recorded.
import { ApiError } from './api';
import type { ExecutionStatus, Headers, Job, JobRequest, RecordedBody, ScriptError } from './types';

/** One whitespace-separated piece of a cron expression; bad marks the field a 400 named. */
export interface CronSegment {
	text: string;
	/** 1-based field number; 0 for whitespace. */
	field: number;
	bad: boolean;
}

/**
 * Splits a cron expression into its fields and the whitespace between them, marking
 * field number position (1-based, as the API's 400 counts them) as bad.
 */
export function cronSegments(expr: string, position?: number): CronSegment[] {
	const out: CronSegment[] = [];
	let field = 0;
	for (const m of expr.matchAll(/\s+|\S+/g)) {
		const text = m[0];
		if (/^\s/.test(text)) {
			out.push({ text, field: 0, bad: false });
		} else {
			field++;
			out.push({ text, field, bad: field === position });
		}
	}
	return out;
}

/** What the schedule form says about a refused expression. */
export interface CronProblem {
	message: string;
	/** The request field at fault: 'cron', 'timezone', ... */
	field?: string;
	/** The bad field of the expression, 1-based. */
	position?: number;
	/** Its name: 'minute', 'hour', ... */
	fieldName?: string;
}

/** The problem an error from the preview or create call describes. */
export function cronProblem(err: unknown): CronProblem {
	if (err instanceof ApiError) {
		return { message: err.message, field: err.field, position: err.position, fieldName: err.fieldName };
	}
	return { message: err instanceof Error ? err.message : String(err) };
}

/** The "field N (minute)" label of a problem's position, or ''. */
export function positionLabel(p: CronProblem): string {
	if (!p.position) return '';
	return `field ${p.position}${p.fieldName ? ` (${p.fieldName})` : ''}`;
}

/**
 * A stored request's body (base64, as Go encodes []byte) as a recorded body: the text
 * when it is UTF-8, else the base64 itself marked as such.
 */
export function decodeBody(b64: string | null | undefined): RecordedBody {
	if (!b64) return { body: '', body_size: 0 };
	let bytes: Uint8Array;
	try {
		const bin = atob(b64);
		bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
	} catch {
		return { body: b64, body_encoding: 'base64' };
	}
	try {
		return { body: new TextDecoder('utf-8', { fatal: true }).decode(bytes), body_size: bytes.length };
	} catch {
		return { body: b64, body_encoding: 'base64', body_size: bytes.length };
	}
}

/** Multi-valued headers (or query) as one line per name, values joined with ", ". */
export function flattenValues(m: Record<string, string[]> | null | undefined): Headers {
	const out: Headers = {};
	for (const [k, v] of Object.entries(m ?? {})) out[k] = (v ?? []).join(', ');
	return out;
}

/** "POST /fn/name/sub?a=1" of a stored request. */
export function requestLine(r: JobRequest | null | undefined): string {
	if (!r) return '';
	const q = new URLSearchParams();
	for (const [k, vs] of Object.entries(r.query ?? {})) for (const v of vs ?? []) q.append(k, v);
	const qs = q.toString();
	return `${r.method} ${r.path}${qs ? `?${qs}` : ''}`;
}

/** One attempt of a job as the job view lists it. */
export interface AttemptRow {
	attempt: number;
	/** Absent when the execution's row was pruned (or the attempt never ran the script). */
	executionId?: string;
	status?: ExecutionStatus | string;
	startedAt?: string;
	/** The execution's error, when its row has one. */
	scriptError?: ScriptError | null;
	/** The error the queue recorded for the attempt ("status: kind: message"). */
	queueError?: string;
}

/**
 * The job's attempts in order: its execution rows merged, by attempt number, with the
 * errors the queue recorded (which outlive pruned rows).
 */
export function attemptRows(job: Pick<Job, 'attempts' | 'errors'>): AttemptRow[] {
	const rows = new Map<number, AttemptRow>();
	for (const a of job.attempts ?? []) {
		rows.set(a.attempt, {
			attempt: a.attempt,
			executionId: a.execution_id || undefined,
			status: a.status,
			startedAt: a.started_at,
			scriptError: a.error ?? undefined
		});
	}
	for (const e of job.errors ?? []) {
		const row = rows.get(e.attempt) ?? { attempt: e.attempt, startedAt: e.at };
		row.queueError = e.error;
		rows.set(e.attempt, row);
	}
	return [...rows.values()].sort((a, b) => a.attempt - b.attempt);
}

/** The newest error of a job, for a one-line summary ('' when none). */
export function lastError(job: Pick<Job, 'attempts' | 'errors'>): string {
	const rows = attemptRows(job);
	for (let i = rows.length - 1; i >= 0; i--) {
		const r = rows[i];
		if (r.scriptError) return `${r.status ?? 'error'}: ${r.scriptError.kind}: ${r.scriptError.message}`;
		if (r.queueError) return r.queueError;
	}
	return '';
}

/** Whether a job in this state may still change (the job view keeps polling it). */
export function jobActive(state: string | undefined): boolean {
	return state === 'queued' || state === 'running' || state === 'retrying';
}
