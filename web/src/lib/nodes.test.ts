import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
	components,
	componentsSummary,
	journalPending,
	loadClass,
	loadShare,
	statusClass,
	whileVisible,
	type VisibilitySource
} from './nodes';

describe('node display', () => {
	it.each([
		[0, 8, 0],
		[2, 8, 0.25],
		[8, 8, 1],
		// Over the gate (a heartbeat racing the gate's release) still draws a full bar.
		[10, 8, 1],
		[-1, 8, 0]
	])('loadShare(%d / %d) = %d', (load, capacity, want) => {
		expect(loadShare({ load, capacity })).toBe(want);
	});

	it('has no load share without a capacity', () => {
		expect(loadShare({ load: 3, capacity: 0 })).toBeUndefined();
	});

	it('colours the bar busy from 75 % and full at 100 %', () => {
		expect(loadClass(undefined)).toBe('');
		expect(loadClass(0.5)).toBe('');
		expect(loadClass(0.75)).toBe('busy');
		expect(loadClass(1)).toBe('full');
	});

	it('lists components by name and summarises them for the tooltip', () => {
		const n = {
			components: {
				manager: { status: 'down', message: 'unreachable' },
				journal: { status: 'ok', kind: 'journal' }
			}
		};
		expect(components(n).map((c) => c.name)).toEqual(['journal', 'manager']);
		expect(components(n)[0]).toEqual({ name: 'journal', status: 'ok', kind: 'journal' });
		expect(componentsSummary(n)).toBe('journal: ok, manager: down (unreachable)');
		expect(components({ components: null })).toEqual([]);
		expect(componentsSummary({})).toBe('');
	});

	it('classes the four statuses and leaves others neutral', () => {
		expect(['ok', 'degraded', 'down', 'lost'].map(statusClass)).toEqual(['n-ok', 'n-degraded', 'n-down', 'n-lost']);
		expect(statusClass('strange')).toBe('');
	});

	it('marks a journal holding rows', () => {
		expect(journalPending({ journal_bytes: 0 })).toBe(false);
		expect(journalPending({ journal_bytes: 1 })).toBe(true);
	});
});

/** A document whose visibility the test switches. */
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
	return doc as typeof doc & VisibilitySource;
}

describe('whileVisible', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('runs every period while visible, not at all while hidden, and at once when shown again', () => {
		const doc = fakeDocument('visible');
		const fn = vi.fn();
		const stop = whileVisible(fn, 1000, doc);
		expect(fn).not.toHaveBeenCalled();
		vi.advanceTimersByTime(3000);
		expect(fn).toHaveBeenCalledTimes(3);

		doc.set('hidden');
		vi.advanceTimersByTime(60_000);
		expect(fn).toHaveBeenCalledTimes(3);

		doc.set('visible');
		expect(fn).toHaveBeenCalledTimes(4);
		vi.advanceTimersByTime(1000);
		expect(fn).toHaveBeenCalledTimes(5);

		stop();
		vi.advanceTimersByTime(10_000);
		expect(fn).toHaveBeenCalledTimes(5);
		expect(doc.listeners.size).toBe(0);
	});

	it('waits for a page opened in the background to show', () => {
		const doc = fakeDocument('hidden');
		const fn = vi.fn();
		const stop = whileVisible(fn, 1000, doc);
		vi.advanceTimersByTime(5000);
		expect(fn).not.toHaveBeenCalled();
		doc.set('visible');
		vi.advanceTimersByTime(2000);
		expect(fn).toHaveBeenCalledTimes(3);
		stop();
	});

	it('does not double its timer when shown twice', () => {
		const doc = fakeDocument('visible');
		const fn = vi.fn();
		const stop = whileVisible(fn, 1000, doc);
		doc.set('visible');
		fn.mockClear();
		vi.advanceTimersByTime(3000);
		expect(fn).toHaveBeenCalledTimes(3);
		stop();
	});
});
