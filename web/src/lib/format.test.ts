import { describe, expect, it } from 'vitest';
import { absoluteTime, anyNode, bytes, duration, fromNow, parseHeaders, percent, prettyBody, relativeTime, secondsAgo, zonedTime } from './format';

describe('format', () => {
	const now = new Date('2026-11-01T12:00:00.000Z');

	it.each([
		['2026-11-01T11:59:58.000Z', 'just now'],
		['2026-11-01T11:59:30.000Z', '30 s ago'],
		['2026-11-01T11:55:00.000Z', '5 min ago'],
		['2026-11-01T09:00:00.000Z', '3 h ago'],
		['2026-10-29T12:00:00.000Z', '3 d ago'],
		['2026-01-02T00:00:00.000Z', '2026-01-02']
	])('relativeTime(%s) = %s', (iso, want) => {
		expect(relativeTime(iso, now)).toBe(want);
	});

	it('formats absent values as a dash', () => {
		expect(relativeTime(undefined)).toBe('—');
		expect(absoluteTime(null)).toBe('—');
		expect(duration(undefined)).toBe('—');
		expect(percent(null)).toBe('—');
	});

	it('formats absolute times in UTC', () => {
		expect(absoluteTime('2026-11-01T12:34:56.789Z')).toBe('2026-11-01 12:34:56 UTC');
	});

	it.each([
		[0.423, '0.42 ms'],
		[12.34, '12.3 ms'],
		[345.6, '346 ms'],
		[1250, '1.25 s']
	])('duration(%f) = %s', (ms, want) => {
		expect(duration(ms)).toBe(want);
	});

	it.each([
		[0, '0%'],
		[1, '100%'],
		[0.035, '3.5%'],
		[0.25, '25%']
	])('percent(%f) = %s', (r, want) => {
		expect(percent(r)).toBe(want);
	});

	it('pretty-prints JSON bodies and leaves others alone', () => {
		expect(prettyBody('{"a":1}')).toBe('{\n  "a": 1\n}');
		expect(prettyBody('{not json')).toBe('{not json');
		expect(prettyBody('hello')).toBe('hello');
		expect(prettyBody(undefined)).toBe('');
	});

	it('parses header lines', () => {
		expect(parseHeaders('X-A: 1\n\n# note\nx-a: 2\nContent-Type: application/json')).toEqual({
			headers: { 'x-a': '1, 2', 'content-type': 'application/json' }
		});
		expect(parseHeaders('X-Empty:')).toEqual({ headers: { 'x-empty': '' } });
		expect(parseHeaders('no colon').error).toContain('Line 1');
		expect(parseHeaders('ok: 1\n: v').error).toContain('Line 2');
	});

	it.each([
		['2026-11-01T11:59:00.000Z', 'now'],
		['2026-11-01T12:00:00.000Z', 'now'],
		['2026-11-01T12:00:42.000Z', 'in 42 s'],
		['2026-11-01T12:05:00.000Z', 'in 5 min'],
		['2026-11-01T14:30:00.000Z', 'in 2 h'],
		['2026-11-04T12:00:00.000Z', 'in 3 d']
	])('fromNow(%s) = %s', (iso, want) => {
		expect(fromNow(iso, now)).toBe(want);
	});

	it('shows a time in a schedule\'s zone', () => {
		expect(zonedTime('2026-07-01T12:00:00.000Z', 'Europe/Paris')).toBe('2026-07-01 14:00:00 Europe/Paris');
		expect(zonedTime('2026-12-01T00:30:00.000Z', 'America/New_York')).toBe('2026-11-30 19:30:00 America/New_York');
		expect(zonedTime('2026-07-01T12:00:00.000Z', '')).toBe('2026-07-01 12:00:00 UTC');
		expect(zonedTime('2026-07-01T12:00:00.000Z', 'UTC')).toBe('2026-07-01 12:00:00 UTC');
		expect(zonedTime('2026-07-01T12:00:00.000Z', 'Not/AZone')).toBe('2026-07-01 12:00:00 UTC');
		expect(zonedTime(null, 'Europe/Paris')).toBe('—');
	});

	it.each([
		[0, '0 B'],
		[1, '1 B'],
		[1023, '1023 B'],
		[1024, '1 KiB'],
		[1536, '1.5 KiB'],
		[10 * 1024 + 300, '10 KiB'],
		[12 * 1024 * 1024, '12 MiB'],
		[3.25 * 1024 ** 3, '3.3 GiB'],
		[2 * 1024 ** 6, '2048 PiB']
	])('bytes(%d) = %s', (n, want) => {
		expect(bytes(n)).toBe(want);
	});

	it('formats an unknown size as a dash', () => {
		expect(bytes(undefined)).toBe('—');
		expect(bytes(null)).toBe('—');
		expect(bytes(Number.NaN)).toBe('—');
	});

	it.each([
		['2026-11-01T12:00:00.000Z', '0 s ago'],
		['2026-11-01T11:59:59.400Z', '0 s ago'],
		['2026-11-01T11:59:56.000Z', '4 s ago'],
		['2026-11-01T11:59:01.000Z', '59 s ago'],
		['2026-11-01T11:59:00.000Z', '1 min ago'],
		['2026-11-01T09:00:00.000Z', '3 h ago'],
		// The server's clock a little ahead of the browser's: now, not a date.
		['2026-11-01T12:00:02.000Z', '0 s ago'],
		// Far ahead: shown as it is.
		['2026-11-01T12:05:00.000Z', '2026-11-01 12:05:00 UTC']
	])('secondsAgo(%s) = %s', (iso, want) => {
		expect(secondsAgo(iso, now)).toBe(want);
	});

	it('formats an absent or unreadable heartbeat as such', () => {
		expect(secondsAgo(undefined, now)).toBe('—');
		expect(secondsAgo('soon', now)).toBe('soon');
	});

	it('shows node tags only when a listed execution ran on a node', () => {
		expect(anyNode(undefined)).toBe(false);
		expect(anyNode([])).toBe(false);
		// An all-in-one server's rows: no node field at all, or an empty one.
		expect(anyNode([{}, { node: '' }, { node: null }])).toBe(false);
		// A cluster's list mixes node runs with a manager's test runs.
		expect(anyNode([{}, { node: 'node-a' }])).toBe(true);
	});
});
