import { describe, expect, it } from 'vitest';
import { scriptBuckets, sparklinePath, statsSeries, statsTotals, topScripts, totalTime } from './charts';
import type { ExecutionStats, ScriptStats } from './types';

const stats: ExecutionStats = {
	script_id: 's1',
	since: '2026-12-06T12:00:00Z',
	until: '2026-12-06T12:03:00Z',
	step_ms: 60000,
	buckets: [
		{ start: '2026-12-06T12:00:00Z', count: 3, by_status: { success: 2, error: 1 }, p50_ms: 1, p95_ms: 4, p99_ms: 5, operations: 30, outbound: 1 },
		{ start: '2026-12-06T12:01:00Z', count: 0, p50_ms: 0, p95_ms: 0, p99_ms: 0, operations: 0, outbound: 0 },
		{ start: '2026-12-06T12:02:00Z', count: 4, by_status: { timeout: 1, budget_exceeded: 2, success: 1 }, p50_ms: 2, p95_ms: 9, p99_ms: 12, operations: 50, outbound: 0 }
	]
};

describe('statsSeries', () => {
	it('splits each bucket into success and every other status, x in Unix seconds', () => {
		const s = statsSeries(stats);
		expect(s.x).toEqual([1796558400, 1796558460, 1796558520]);
		expect(s.calls).toEqual([3, 0, 4]);
		expect(s.success).toEqual([2, 0, 1]);
		expect(s.errors).toEqual([1, 0, 3]);
		expect(s.p95).toEqual([4, 0, 9]);
		expect(s.p99).toEqual([5, 0, 12]);
		expect(s.operations).toEqual([30, 0, 50]);
		expect(s.outbound).toEqual([1, 0, 0]);
	});

	it('gives empty series for no answer or null buckets', () => {
		expect(statsSeries(undefined).x).toEqual([]);
		expect(statsSeries({ ...stats, buckets: null }).calls).toEqual([]);
	});
});

describe('statsTotals', () => {
	it('adds counts and keeps the worst p95 of the buckets that ran', () => {
		expect(statsTotals(stats)).toEqual({ calls: 7, errors: 4, worstP95: 9, operations: 80, outbound: 1 });
		expect(statsTotals(undefined)).toEqual({ calls: 0, errors: 0, worstP95: 0, operations: 0, outbound: 0 });
	});
});

const script = (name: string, count: number, errors: number, duration_ms: number): ScriptStats => ({
	script_id: name,
	name,
	count,
	errors,
	duration_ms,
	operations: 0,
	outbound: 0,
	buckets: null
});

describe('topScripts', () => {
	const all = [script('a', 5, 0, 10), script('b', 9, 2, 5), script('c', 5, 1, 300), script('d', 1, 0, 0)];
	it('sorts by the key, ties by name, and leaves out zeros', () => {
		expect(topScripts(all, 'count').map((s) => s.name)).toEqual(['b', 'a', 'c', 'd']);
		expect(topScripts(all, 'errors').map((s) => s.name)).toEqual(['b', 'c']);
		expect(topScripts(all, 'duration_ms', 2).map((s) => s.name)).toEqual(['c', 'a']);
		expect(topScripts(null, 'count')).toEqual([]);
	});
});

describe('scriptBuckets', () => {
	it('is zeros for a script that did not run, its buckets otherwise', () => {
		expect(scriptBuckets(undefined, 3)).toEqual({ calls: [0, 0, 0], errors: [0, 0, 0] });
		const s = { ...script('a', 3, 1, 0), buckets: [{ count: 1, errors: 0 }, { count: 2, errors: 1 }] };
		expect(scriptBuckets(s, 2)).toEqual({ calls: [1, 2], errors: [0, 1] });
		// Aligned on the newest bucket when the lengths differ.
		expect(scriptBuckets(s, 3)).toEqual({ calls: [0, 1, 2], errors: [0, 0, 1] });
	});
});

describe('sparklinePath', () => {
	it('draws zeros as the flat line at the bottom (inside the padding)', () => {
		expect(sparklinePath([0, 0, 0], 100, 20)).toBe('M0,19L50,19L100,19');
		expect(sparklinePath([], 100, 20)).toBe('M0,19L100,19');
	});
	it('scales to the maximum, given or the values\' own', () => {
		expect(sparklinePath([0, 2, 4], 100, 20)).toBe('M0,19L50,10L100,1');
		expect(sparklinePath([0, 2], 100, 20, 8)).toBe('M0,19L100,14.5');
		expect(sparklinePath([3], 10, 10)).toBe('M0,1L10,1');
	});
});

describe('totalTime', () => {
	it.each([
		[820.4, '820 ms'],
		[12500, '12.5 s'],
		[192000, '3.2 min'],
		[5400000, '1.5 h']
	])('%s ms is %s', (ms, want) => expect(totalTime(ms)).toBe(want));
});
