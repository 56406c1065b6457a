// The live execution list: the filters the list offers, as the logs route's
// query parameters and as a test of a streamed execution, and the
// EventSource on the tail route that keeps the list current.
import type { LogsQuery } from './api';
import type { Execution } from './types';

/** The time ranges the list offers, as the logs route's durations ('' is all). */
export const RANGES = [
	{ value: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
	{ value: '1h', label: 'Last hour', ms: 60 * 60_000 },
	{ value: '24h', label: 'Last 24 hours', ms: 24 * 60 * 60_000 },
	{ value: '', label: 'All time', ms: 0 }
] as const;

export const STATUSES = ['success', 'error', 'timeout', 'budget_exceeded'] as const;
export const TRIGGERS = ['http', 'test', 'cron', 'async', 'event'] as const;

/** What the list's filter controls select ('' is any). */
export interface Filters {
	status: string;
	trigger: string;
	range: string;
	text: string;
}

export const NO_FILTERS: Filters = { status: '', trigger: '', range: '', text: '' };

/** Whether any filter narrows the list. */
export function filtering(f: Filters): boolean {
	return !!(f.status || f.trigger || f.range || f.text.trim());
}

/** The filters as the logs route's query (status, trigger, since, q). */
export function filterQuery(f: Filters): LogsQuery {
	const q: LogsQuery = {};
	if (f.status) q.status = f.status;
	if (f.trigger) q.trigger = f.trigger;
	if (f.range) q.since = f.range;
	const text = f.text.trim();
	if (text) q.q = text;
	return q;
}

/**
 * Whether a streamed execution belongs in the list the filters select: the
 * tail streams every execution of the script, and the server's meaning of
 * each filter is applied here (the text: case-insensitive, in a log line's
 * message or the error's).
 */
export function matches(f: Filters, x: Execution, now: number = Date.now()): boolean {
	if (f.status && !f.status.split(',').includes(x.status)) return false;
	if (f.trigger && !f.trigger.split(',').includes(x.trigger)) return false;
	const range = RANGES.find((r) => r.value === f.range);
	if (range && range.ms > 0 && Date.parse(x.started_at) < now - range.ms) return false;
	const text = f.text.trim().toLowerCase();
	if (!text) return true;
	if (x.logs?.some((l) => l.message.toLowerCase().includes(text))) return true;
	return !!x.error?.message.toLowerCase().includes(text);
}

/**
 * The list with streamed executions added: newest first by start time, each
 * id once (a reconnection's replay may repeat one), at most max rows.
 */
export function mergeLive(items: Execution[], incoming: Execution[], max: number): Execution[] {
	const seen = new Set<string>();
	const all = [...incoming, ...items].filter((x) => (seen.has(x.id) ? false : (seen.add(x.id), true)));
	// A stable sort keeps the stream's order among rows started at the same time.
	all.sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at));
	return all.slice(0, max);
}

/** The part of EventSource the tail uses (a fake in tests). */
export interface EventSourceLike {
	addEventListener(type: string, fn: (ev: MessageEvent) => void): void;
	close(): void;
	onerror: ((ev: Event) => void) | null;
	onopen: ((ev: Event) => void) | null;
	readonly readyState: number;
}

/** The part of a Document the tail watches (a fake in tests). */
export interface VisibilityDoc {
	readonly visibilityState: DocumentVisibilityState;
	addEventListener(type: 'visibilitychange', fn: () => void): void;
	removeEventListener(type: 'visibilitychange', fn: () => void): void;
}

export type TailState = 'connecting' | 'live' | 'paused' | 'closed';

export interface TailOptions {
	onExecution: (x: Execution) => void;
	onState?: (s: TailState) => void;
	doc?: VisibilityDoc;
	open?: (url: string) => EventSourceLike;
	/**
	 * The newest execution the list already has, asked when a stream opens
	 * before any was streamed: the server then first sends what was stored
	 * after it, so nothing falls between loading the list and the stream.
	 */
	latest?: () => string | undefined;
}

/**
 * follow keeps an EventSource open on url (the tail route) while the page is
 * visible and calls onExecution for each streamed execution. The browser
 * reconnects a stream that ends (a drop for falling behind, a restart) by
 * itself and sends Last-Event-ID, so the server replays what was missed; a
 * stream closed because the tab was hidden is reopened with last_event_id
 * for the same replay. No polling: an idle list costs one open connection.
 * Returns the stop function (call it when the list goes away).
 */
export function follow(url: string, opts: TailOptions): () => void {
	const doc = opts.doc ?? document;
	const open = opts.open ?? ((u: string) => new EventSource(u));
	let es: EventSourceLike | undefined;
	let lastId = '';
	const state = (s: TailState) => opts.onState?.(s);

	const start = () => {
		if (es) return;
		state('connecting');
		const from = lastId || opts.latest?.() || '';
		const u = from ? `${url}${url.includes('?') ? '&' : '?'}last_event_id=${encodeURIComponent(from)}` : url;
		const src = open(u);
		es = src;
		src.onopen = () => state('live');
		// EventSource retries on its own unless the server refused the stream
		// (an HTTP error): then it is CLOSED and the list says so.
		src.onerror = () => state(src.readyState === 2 ? 'closed' : 'connecting');
		src.addEventListener('execution', (ev: MessageEvent) => {
			if (ev.lastEventId) lastId = ev.lastEventId;
			try {
				opts.onExecution(JSON.parse(ev.data) as Execution);
			} catch {
				// A row this dashboard cannot read is skipped, not fatal to the stream.
			}
		});
	};
	const stop = () => {
		es?.close();
		es = undefined;
	};
	const changed = () => {
		if (doc.visibilityState === 'visible') start();
		else {
			stop();
			state('paused');
		}
	};
	doc.addEventListener('visibilitychange', changed);
	if (doc.visibilityState === 'visible') start();
	else state('paused');
	return () => {
		stop();
		doc.removeEventListener('visibilitychange', changed);
	};
}
