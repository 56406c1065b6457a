import { describe, expect, it } from 'vitest';
import { filterQuery, filtering, follow, matches, mergeLive, NO_FILTERS, type EventSourceLike, type TailState } from './tail';
import type { Execution } from './types';

function exec(id: string, at: string, extra: Partial<Execution> = {}): Execution {
	return {
		id,
		script_id: 's',
		script_version: 1,
		trigger: 'http',
		status: 'success',
		started_at: at,
		duration_ms: 1,
		operations: 1,
		...extra
	};
}

describe('filters', () => {
	it('map to the logs query', () => {
		expect(filterQuery(NO_FILTERS)).toEqual({});
		expect(filtering(NO_FILTERS)).toBe(false);
		const f = { status: 'error', trigger: 'cron', range: '15m', text: '  Boom ' };
		expect(filterQuery(f)).toEqual({ status: 'error', trigger: 'cron', since: '15m', q: 'Boom' });
		expect(filtering(f)).toBe(true);
		expect(filtering({ ...NO_FILTERS, text: '   ' })).toBe(false);
	});

	it('test a streamed execution as the server would', () => {
		const now = Date.parse('2026-12-01T10:00:00Z');
		const x = exec('a', '2026-12-01T09:50:00Z', {
			status: 'error',
			logs: [{ level: 'info', message: 'Charging Card', data: null, time: '2026-12-01T09:50:00Z' }],
			error: { kind: 'ErrorRuntime', message: 'card declined', line: 3, column: 1 }
		} as Partial<Execution>);
		expect(matches(NO_FILTERS, x, now)).toBe(true);
		expect(matches({ ...NO_FILTERS, status: 'error' }, x, now)).toBe(true);
		expect(matches({ ...NO_FILTERS, status: 'success' }, x, now)).toBe(false);
		expect(matches({ ...NO_FILTERS, status: 'success,error' }, x, now)).toBe(true);
		expect(matches({ ...NO_FILTERS, trigger: 'cron' }, x, now)).toBe(false);
		expect(matches({ ...NO_FILTERS, range: '15m' }, x, now)).toBe(true);
		expect(matches({ ...NO_FILTERS, range: '15m' }, x, now + 6 * 60_000)).toBe(false);
		expect(matches({ ...NO_FILTERS, text: 'charging card' }, x, now)).toBe(true);
		expect(matches({ ...NO_FILTERS, text: 'DECLINED' }, x, now)).toBe(true);
		expect(matches({ ...NO_FILTERS, text: 'refund' }, x, now)).toBe(false);
	});
});

describe('mergeLive', () => {
	it('puts new rows on top, once each, at most max', () => {
		const old = [exec('b', '2026-12-01T10:00:02Z'), exec('a', '2026-12-01T10:00:01Z')];
		const merged = mergeLive(old, [exec('c', '2026-12-01T10:00:03Z'), exec('b', '2026-12-01T10:00:02Z')], 10);
		expect(merged.map((x) => x.id)).toEqual(['c', 'b', 'a']);
		expect(mergeLive(merged, [exec('d', '2026-12-01T10:00:04Z')], 3).map((x) => x.id)).toEqual(['d', 'c', 'b']);
		// A replayed older row takes its place by time, not the top.
		expect(mergeLive(old, [exec('z', '2026-12-01T10:00:01.5Z')], 10).map((x) => x.id)).toEqual(['b', 'z', 'a']);
	});
});

/** An EventSource the test drives. */
class FakeSource implements EventSourceLike {
	listeners = new Map<string, (ev: MessageEvent) => void>();
	onerror: ((ev: Event) => void) | null = null;
	onopen: ((ev: Event) => void) | null = null;
	readyState = 0;
	closed = false;
	constructor(public url: string) {}
	addEventListener(type: string, fn: (ev: MessageEvent) => void) {
		this.listeners.set(type, fn);
	}
	close() {
		this.closed = true;
		this.readyState = 2;
	}
	emit(type: string, data: string, lastEventId = '') {
		this.listeners.get(type)?.({ data, lastEventId } as MessageEvent);
	}
}

function fakeDocument(initial: DocumentVisibilityState) {
	const listeners = new Set<() => void>();
	const doc = {
		visibilityState: initial,
		addEventListener: (_: 'visibilitychange', fn: () => void) => listeners.add(fn),
		removeEventListener: (_: 'visibilitychange', fn: () => void) => listeners.delete(fn),
		set(state: DocumentVisibilityState) {
			doc.visibilityState = state;
			for (const fn of listeners) fn();
		},
		listeners
	};
	return doc;
}

describe('follow', () => {
	it('streams executions, closes while hidden and resumes from the last one seen', () => {
		const sources: FakeSource[] = [];
		const got: string[] = [];
		const states: TailState[] = [];
		const doc = fakeDocument('visible');
		const stop = follow('/api/scripts/s/tail', {
			doc,
			open: (u) => {
				const s = new FakeSource(u);
				sources.push(s);
				return s;
			},
			onExecution: (x) => got.push(x.id),
			onState: (s) => states.push(s),
			latest: () => 'listed'
		});
		// Opened from the newest listed row, so nothing falls between the list and the stream.
		expect(sources.map((s) => s.url)).toEqual(['/api/scripts/s/tail?last_event_id=listed']);
		sources[0].onopen?.(new Event('open'));
		sources[0].emit('execution', JSON.stringify(exec('e1', '2026-12-01T10:00:00Z')), 'e1');
		sources[0].emit('execution', 'not json', 'e2');
		expect(got).toEqual(['e1']);

		doc.set('hidden');
		expect(sources[0].closed).toBe(true);
		doc.set('visible');
		expect(sources[1].url).toBe('/api/scripts/s/tail?last_event_id=e2');

		// A refused stream (EventSource gives up) is reported as closed.
		sources[1].readyState = 2;
		sources[1].onerror?.(new Event('error'));
		expect(states).toEqual(['connecting', 'live', 'paused', 'connecting', 'closed']);

		stop();
		expect(sources[1].closed).toBe(true);
		expect(doc.listeners.size).toBe(0);
	});

	it('waits for a page opened in the background', () => {
		const sources: string[] = [];
		const doc = fakeDocument('hidden');
		const stop = follow('/t', { doc, open: (u) => (sources.push(u), new FakeSource(u)), onExecution: () => {} });
		expect(sources).toEqual([]);
		doc.set('visible');
		expect(sources).toEqual(['/t']);
		stop();
	});
});
