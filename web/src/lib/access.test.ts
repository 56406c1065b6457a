import { describe, expect, it } from 'vitest';
import {
	accessOf,
	deniedHint,
	detailChanges,
	detailRest,
	expiryAt,
	mayUnconfine,
	rateChanged,
	rateForm,
	rateInput,
	rateProblem,
	scopesAllow,
	tokenAllows
} from './access';
import type { Script } from './types';

describe('scopesAllow', () => {
	it('admin holds deploy, deploy holds read, as the server', () => {
		expect(scopesAllow(['admin'], 'admin')).toBe(true);
		expect(scopesAllow(['admin'], 'deploy')).toBe(true);
		expect(scopesAllow(['admin'], 'invoke:x')).toBe(true);
		expect(scopesAllow(['deploy'], 'read')).toBe(true);
		expect(scopesAllow(['deploy'], 'invoke:x')).toBe(true);
		expect(scopesAllow(['deploy'], 'admin')).toBe(false);
		expect(scopesAllow(['read'], 'read')).toBe(true);
		expect(scopesAllow(['read'], 'deploy')).toBe(false);
		expect(scopesAllow(['read'], 'invoke:x')).toBe(false);
	});

	it('invoke scopes grant only invoking', () => {
		expect(scopesAllow(['invoke:x'], 'invoke:x')).toBe(true);
		expect(scopesAllow(['invoke:x'], 'invoke:y')).toBe(false);
		expect(scopesAllow(['invoke:*'], 'invoke:y')).toBe(true);
		expect(scopesAllow(['invoke:*'], 'read')).toBe(false);
		expect(scopesAllow([], 'read')).toBe(false);
	});

	it('a session without a token (an older server) is not limited', () => {
		expect(tokenAllows(undefined, 'admin')).toBe(true);
		expect(tokenAllows({ id: 't', name: 'ci', scopes: ['read'] }, 'deploy')).toBe(false);
		expect(deniedHint({ id: 't', name: 'ci', scopes: ['read'] }, 'deploy')).toBe('Needs the deploy scope; this token (ci) has read.');
	});

	it('names a single sign-on user, not a token', () => {
		const jane = { id: '', name: 'jane.doe@example.com', scopes: ['read'], sso: true };
		expect(tokenAllows(jane, 'read')).toBe(true);
		expect(tokenAllows(jane, 'deploy')).toBe(false);
		expect(deniedHint(jane, 'deploy')).toBe('Needs the deploy scope; jane.doe@example.com (single sign-on) has read.');
	});
});

describe('the access and rate-limit form', () => {
	const s = { id: '1', name: 'x', version: 1, access: '', rate_limit_rps: 0, rate_limit_burst: 0, rate_limit_by: '' } as Script;

	it('reads an empty access as public and an empty rate_limit_by as client', () => {
		expect(accessOf(s)).toBe('public');
		expect(rateForm(s)).toEqual({ access: 'public', rps: '0', burst: '0', by: 'client' });
		expect(rateChanged(rateForm(s), s)).toBe(false);
	});

	it('notices a change and sends every field', () => {
		const f = { ...rateForm(s), access: 'key' as const, rps: '2.5', burst: '' };
		expect(rateChanged(f, s)).toBe(true);
		expect(rateInput(f)).toEqual({ access: 'key', rate_limit_rps: 2.5, rate_limit_burst: 0, rate_limit_by: 'client' });
		expect(rateChanged({ ...rateForm(s), rps: '' }, s)).toBe(false);
	});

	it('checks the ranges the server enforces', () => {
		expect(rateProblem({ ...rateForm(s), rps: '10' })).toBe('');
		expect(rateProblem({ ...rateForm(s), rps: '-1' })).toMatch(/^Rate limit/);
		expect(rateProblem({ ...rateForm(s), rps: '1000001' })).toMatch(/^Rate limit/);
		expect(rateProblem({ ...rateForm(s), burst: '1.5' })).toMatch(/^Burst/);
		expect(rateProblem({ ...rateForm(s), burst: '1000000' })).toBe('');
	});
});

describe('the tokens form and the audit detail', () => {
	it('turns an expiry in days into RFC 3339, never into null', () => {
		expect(expiryAt(0)).toBeNull();
		expect(expiryAt(7, new Date('2026-01-01T00:00:00.123Z'))).toBe('2026-01-08T00:00:00Z');
	});

	it('shows a settings change as rows, and the rest as lines', () => {
		const d = { before: { access: 'public', rate_limit_rps: 0 }, after: { access: 'key', rate_limit_rps: 5 }, version: 3 };
		expect(detailChanges(d)).toEqual([
			{ field: 'access', before: 'public', after: 'key' },
			{ field: 'rate_limit_rps', before: '0', after: '5' }
		]);
		expect(detailRest(d)).toEqual(['version: 3']);
		expect(detailRest({ scopes: ['read', 'invoke:x'] })).toEqual(['scopes: read, invoke:x']);
		expect(detailChanges(null)).toEqual([]);
	});
});

describe('mayUnconfine', () => {
	it('needs deploy and a token for every script', () => {
		expect(mayUnconfine({ id: 'admin', name: 'admin', scopes: ['admin'] })).toBe(true);
		expect(mayUnconfine({ id: 't', name: 'ci', scopes: ['deploy'], scripts: '' })).toBe(true);
		expect(mayUnconfine({ id: 't', name: 'ci', scopes: ['deploy'], scripts: 'orders-*' })).toBe(false);
		expect(mayUnconfine({ id: 't', name: 'ci', scopes: ['admin'], scripts: 'orders-*' })).toBe(false);
		expect(mayUnconfine({ id: 't', name: 'viewer', scopes: ['read'] })).toBe(false);
	});
});
