import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import {
	attemptRows,
	cronProblem,
	cronSegments,
	decodeBody,
	flattenValues,
	jobActive,
	lastError,
	positionLabel,
	requestLine
} from './jobs';
import type { Job } from './types';

describe('cronSegments', () => {
	it('marks the field the API names, keeping the spacing', () => {
		const segs = cronSegments('*/5  99 * * *', 2);
		expect(segs.map((s) => s.text).join('')).toBe('*/5  99 * * *');
		expect(segs.filter((s) => s.bad).map((s) => s.text)).toEqual(['99']);
		expect(segs.filter((s) => s.field > 0).map((s) => s.field)).toEqual([1, 2, 3, 4, 5]);
	});

	it('marks nothing without a position, or past the last field', () => {
		expect(cronSegments('@hourly').some((s) => s.bad)).toBe(false);
		expect(cronSegments('* * *', 5).some((s) => s.bad)).toBe(false);
		expect(cronSegments('')).toEqual([]);
	});
});

describe('cronProblem', () => {
	it('reads the position of the bad field from a 400', () => {
		const err = new ApiError(400, 'invalid_request', 'cron: field 2 (hour): 25 is out of range 0-23', {
			field: 'cron',
			position: 2,
			field_name: 'hour'
		});
		const p = cronProblem(err);
		expect(p).toEqual({ message: err.message, field: 'cron', position: 2, fieldName: 'hour' });
		expect(positionLabel(p)).toBe('field 2 (hour)');
	});

	it('keeps a message without a position', () => {
		const p = cronProblem(new ApiError(400, 'invalid_request', 'unknown time zone "Mars/Base"', { field: 'timezone' }));
		expect(p.position).toBeUndefined();
		expect(p.field).toBe('timezone');
		expect(positionLabel(p)).toBe('');
		expect(cronProblem(new Error('x')).message).toBe('x');
	});
});

describe('stored requests', () => {
	it('decodes a UTF-8 body from base64', () => {
		expect(decodeBody(btoa('{"who":"ü"}'.replace('ü', '\u00c3\u00bc')))).toEqual({ body: '{"who":"ü"}', body_size: 12 });
		expect(decodeBody(undefined)).toEqual({ body: '', body_size: 0 });
	});

	it('keeps a binary body as base64', () => {
		const b64 = btoa('\u00ff\u00fe\u0000');
		expect(decodeBody(b64)).toEqual({ body: b64, body_encoding: 'base64', body_size: 3 });
		expect(decodeBody('not base64!')).toMatchObject({ body_encoding: 'base64' });
	});

	it('flattens multi-valued headers and writes the request line', () => {
		expect(flattenValues({ accept: ['a', 'b'], 'x-one': ['1'] })).toEqual({ accept: 'a, b', 'x-one': '1' });
		expect(flattenValues(null)).toEqual({});
		expect(requestLine({ method: 'POST', path: '/fn/x/y', query: { a: ['1', '2'], b: ['c d'] } })).toBe(
			'POST /fn/x/y?a=1&a=2&b=c+d'
		);
		expect(requestLine({ method: 'POST', path: '/fn/x' })).toBe('POST /fn/x');
		expect(requestLine(null)).toBe('');
	});
});

describe('attempts', () => {
	const job: Pick<Job, 'attempts' | 'errors'> = {
		attempts: [
			{
				attempt: 2,
				execution_id: 'e2',
				status: 'error',
				started_at: '2026-11-01T12:00:02.000Z',
				error: { kind: 'ErrorRuntime', message: 'boom' }
			},
			{ attempt: 3, execution_id: 'e3', status: 'timeout', started_at: '2026-11-01T12:00:05.000Z', error: null }
		],
		errors: [
			{ attempt: 1, at: '2026-11-01T12:00:00.500Z', error: 'error: ErrorRuntime: boom' },
			{ attempt: 2, at: '2026-11-01T12:00:02.500Z', error: 'error: ErrorRuntime: boom' },
			{ attempt: 3, at: '2026-11-01T12:00:06.000Z', error: 'timeout: the script ran out of time' }
		]
	};

	it('merges execution rows with the errors the queue kept, in order', () => {
		const rows = attemptRows(job);
		expect(rows.map((r) => r.attempt)).toEqual([1, 2, 3]);
		expect(rows[0]).toEqual({
			attempt: 1,
			startedAt: '2026-11-01T12:00:00.500Z',
			queueError: 'error: ErrorRuntime: boom'
		});
		expect(rows[1]).toMatchObject({ executionId: 'e2', status: 'error', scriptError: { message: 'boom' } });
		expect(rows[2]).toMatchObject({ executionId: 'e3', status: 'timeout', queueError: 'timeout: the script ran out of time' });
		expect(rows[2].scriptError).toBeUndefined();
	});

	it('summarises the newest error', () => {
		expect(lastError(job)).toBe('timeout: the script ran out of time');
		expect(lastError({ attempts: job.attempts!.slice(0, 1), errors: [] })).toBe('error: ErrorRuntime: boom');
		expect(lastError({ attempts: null, errors: null })).toBe('');
	});

	it('knows which states still change', () => {
		expect(['queued', 'running', 'retrying'].every(jobActive)).toBe(true);
		expect(['succeeded', 'dead', undefined].some(jobActive)).toBe(false);
	});
});
