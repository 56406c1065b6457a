// Data shaping for the dashboard's charts: the stats API's buckets as chart
// series, totals, top lists and sparkline paths. Pure functions (unit-tested);
// drawing is Chart.svelte's and Sparkline.svelte's.

import type { ExecutionStats, ScriptStats, StatsBucket } from './types';

/** The script page's traffic ranges: the window and its bucket width. */
export const TRAFFIC_RANGES = [
	{ key: 'hour', label: 'Last hour', since: '1h', step: '1m' },
	{ key: 'day', label: 'Last day', since: '24h', step: '30m' },
	{ key: 'week', label: 'Last week', since: '168h', step: '3h' }
] as const;

export type TrafficRange = (typeof TRAFFIC_RANGES)[number]['key'];

/** A stats answer as parallel arrays, one entry per bucket: x in Unix seconds (uPlot's time axis). */
export interface StatsSeries {
	x: number[];
	calls: number[];
	success: number[];
	errors: number[];
	p50: number[];
	p95: number[];
	p99: number[];
	operations: number[];
	outbound: number[];
}

/** Executions of a bucket whose status is not success (error, timeout, budget_exceeded, …). */
export function bucketErrors(b: StatsBucket): number {
	return Math.max(0, b.count - (b.by_status?.success ?? 0));
}

/** The stats' buckets as series (oldest first, as the API sends them). */
export function statsSeries(stats: ExecutionStats | undefined): StatsSeries {
	const s: StatsSeries = { x: [], calls: [], success: [], errors: [], p50: [], p95: [], p99: [], operations: [], outbound: [] };
	for (const b of stats?.buckets ?? []) {
		const errors = bucketErrors(b);
		s.x.push(Math.floor(new Date(b.start).getTime() / 1000));
		s.calls.push(b.count);
		s.success.push(b.count - errors);
		s.errors.push(errors);
		s.p50.push(b.p50_ms);
		s.p95.push(b.p95_ms);
		s.p99.push(b.p99_ms);
		s.operations.push(b.operations);
		s.outbound.push(b.outbound);
	}
	return s;
}

export interface StatsTotals {
	calls: number;
	errors: number;
	/** The highest p95 of any bucket that ran something (0 when none did): percentiles do not add up. */
	worstP95: number;
	operations: number;
	outbound: number;
}

export function statsTotals(stats: ExecutionStats | undefined): StatsTotals {
	const t: StatsTotals = { calls: 0, errors: 0, worstP95: 0, operations: 0, outbound: 0 };
	for (const b of stats?.buckets ?? []) {
		t.calls += b.count;
		t.errors += bucketErrors(b);
		t.operations += b.operations;
		t.outbound += b.outbound;
		if (b.count > 0 && b.p95_ms > t.worstP95) t.worstP95 = b.p95_ms;
	}
	return t;
}

/** The n scripts with the most of key (ties by name), leaving out those with none. */
export function topScripts(scripts: ScriptStats[] | null | undefined, key: 'count' | 'errors' | 'duration_ms', n = 5): ScriptStats[] {
	return (scripts ?? [])
		.filter((s) => s[key] > 0)
		.sort((a, b) => b[key] - a[key] || a.name.localeCompare(b.name))
		.slice(0, n);
}

/** One script's calls and errors per bucket; a script that did not run is n zeros. */
export function scriptBuckets(s: ScriptStats | undefined, n: number): { calls: number[]; errors: number[] } {
	const calls = new Array<number>(n).fill(0);
	const errors = new Array<number>(n).fill(0);
	const b = s?.buckets ?? [];
	// Align on the newest bucket should the lengths ever differ.
	const off = n - b.length;
	for (let i = 0; i < b.length; i++) {
		if (i + off < 0) continue;
		calls[i + off] = b[i].count;
		errors[i + off] = b[i].errors;
	}
	return { calls, errors };
}

/**
 * An SVG path through values, left to right across width, 0 at the bottom of
 * height and max (the values' own maximum by default) at the top, inset by pad
 * so that the stroke is not clipped. All zeros (or none) give the flat zero line.
 */
export function sparklinePath(values: number[], width: number, height: number, max?: number, pad = 1): string {
	const top = max ?? Math.max(0, ...values);
	const n = values.length;
	const y = (v: number) => round(height - pad - (top > 0 ? (Math.max(0, v) / top) * (height - 2 * pad) : 0));
	if (n === 0) return `M0,${y(0)}L${round(width)},${y(0)}`;
	if (n === 1) return `M0,${y(values[0])}L${round(width)},${y(values[0])}`;
	const dx = width / (n - 1);
	return values.map((v, i) => `${i === 0 ? 'M' : 'L'}${round(i * dx)},${y(v)}`).join('');
}

function round(v: number): number {
	return Math.round(v * 100) / 100;
}

/** A duration total in ms as "820 ms", "12.5 s", "3.2 min", "1.5 h". */
export function totalTime(ms: number): string {
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
	return `${(ms / 3_600_000).toFixed(1)} h`;
}
