// What the signed-in token may do, and the access and rate-limit settings of a script, as
// the dashboard shows and edits them. The server decides (403 forbidden); this only hides
// or disables what it would refuse, so that the page does not offer it.
import type { Access, Script, ScriptInput, SessionToken } from './types';

export type Scope = 'admin' | 'deploy' | 'read';

/** The scopes a token may be given in the Tokens form, with what each lets it do. */
export const scopeChoices: { scope: Scope; text: string }[] = [
	{ scope: 'read', text: 'see scripts, logs and settings' },
	{ scope: 'deploy', text: 'read, plus change scripts, kv, secrets and schedules, and invoke' },
	{ scope: 'admin', text: 'everything, including tokens, nodes and the audit trail' }
];

/**
 * Whether scopes grant need ('read', 'deploy', 'admin' or 'invoke:<name>'), as the server's
 * ScopesAllow: admin grants everything, deploy grants read and deploy and every invoke,
 * invoke:<name> (invoke:* any script) grants only invoking.
 */
export function scopesAllow(scopes: readonly string[], need: string): boolean {
	for (const s of scopes) {
		if (s === 'admin' || s === need) return true;
		if (s === 'deploy' && (need === 'read' || need.startsWith('invoke:'))) return true;
		if (s === 'invoke:*' && need.startsWith('invoke:')) return true;
	}
	return false;
}

/** Whether the token may do need; an unknown token (a server without scopes) may do everything. */
export function tokenAllows(token: SessionToken | undefined, need: Scope): boolean {
	return token === undefined || scopesAllow(token.scopes ?? [], need);
}

/**
 * Whether the token may lift a script's confinement (confined_to): it needs deploy and must not
 * itself be restricted to some scripts (the server refuses those with 403).
 */
export function mayUnconfine(token: SessionToken | undefined): boolean {
	return tokenAllows(token, 'deploy') && !token?.scripts;
}

/** The tooltip of a control the token may not use. */
export function deniedHint(token: SessionToken | undefined, need: Scope): string {
	const scopes = token?.scopes?.length ? token.scopes.join(', ') : 'none';
	return `Needs the ${need} scope; ${actingAs(token)} has ${scopes}.`;
}

/** Who the session acts as, in a sentence: a token by its name, a single sign-on by the user. */
export function actingAs(token: SessionToken | undefined): string {
	if (token?.sso) return `${token.name} (single sign-on)`;
	return `this token (${token?.name ?? 'unknown'})`;
}

/** The access values with the one-line explanation the settings show. */
export const accessChoices: { value: Access; label: string; text: string }[] = [
	{ value: 'public', label: 'Public', text: 'anyone who can reach /fn/ may call it (the default).' },
	{ value: 'key', label: 'Invoke key', text: 'callers send one of its invoke keys (X-PiCloud-Key: pck_…); others get 401.' },
	{
		value: 'token',
		label: 'API token',
		text: 'callers send an API token with invoke:<name>, invoke:*, deploy or admin (Authorization: Bearer pct_…).'
	},
	{
		value: 'library',
		label: 'Library',
		text: 'not callable at /fn/ (404); other scripts import it, and its schedules, events and async runs still run.'
	}
];

/** The script's access, '' read as public. */
export function accessOf(s: Pick<Script, 'access'>): Access {
	return s.access ? s.access : 'public';
}

/** The largest rate and burst the server accepts. */
export const MAX_RATE = 1_000_000;

/** The rate-limit part of the settings form, as typed. */
export interface RateForm {
	access: Access;
	rps: string;
	burst: string;
	by: 'client' | 'key';
}

export function rateForm(s: Script): RateForm {
	return {
		access: accessOf(s),
		rps: String(s.rate_limit_rps ?? 0),
		burst: String(s.rate_limit_burst ?? 0),
		by: s.rate_limit_by === 'key' ? 'key' : 'client'
	};
}

function num(text: string): number {
	const t = text.trim();
	return t === '' ? 0 : Number(t);
}

/** Whether the form differs from the script's settings. */
export function rateChanged(f: RateForm, s: Script): boolean {
	const r = rateForm(s);
	return f.access !== r.access || num(f.rps) !== num(r.rps) || num(f.burst) !== num(r.burst) || f.by !== r.by;
}

/** The first problem with the form, or '' when it can be saved. */
export function rateProblem(f: RateForm): string {
	const rps = f.rps.trim();
	if (rps !== '' && !(/^\d+(\.\d+)?$/.test(rps) && Number(rps) <= MAX_RATE)) {
		return `Rate limit: requests per second between 0 (no limit) and ${MAX_RATE.toLocaleString('en-US')}.`;
	}
	const burst = f.burst.trim();
	if (burst !== '' && !(/^\d+$/.test(burst) && Number(burst) <= MAX_RATE)) {
		return `Burst: a whole number between 0 (the rate, rounded up) and ${MAX_RATE.toLocaleString('en-US')}.`;
	}
	return '';
}

/** The update the form makes. */
export function rateInput(f: RateForm): ScriptInput {
	return { access: f.access, rate_limit_rps: num(f.rps), rate_limit_burst: num(f.burst), rate_limit_by: f.by };
}

/** A token's expiry choice in the Tokens form as an RFC 3339 time, or null for never. */
export function expiryAt(days: number, now: Date = new Date()): string | null {
	if (!days) return null;
	return new Date(now.getTime() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The audit detail's {before, after} as rows of the fields that changed. */
export function detailChanges(detail: Record<string, unknown> | null | undefined): { field: string; before: string; after: string }[] {
	if (!detail) return [];
	const before = isRecord(detail.before) ? detail.before : {};
	const after = isRecord(detail.after) ? detail.after : {};
	const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
	return fields.map((field) => ({ field, before: show(before[field]), after: show(after[field]) }));
}

/** The detail's other fields (versions, scopes, names), as "key: value" text. */
export function detailRest(detail: Record<string, unknown> | null | undefined): string[] {
	if (!detail) return [];
	return Object.entries(detail)
		.filter(([k]) => k !== 'before' && k !== 'after')
		.map(([k, v]) => `${k}: ${show(v)}`);
}

function show(v: unknown): string {
	if (v === undefined) return '—';
	if (typeof v === 'string') return v === '' ? '""' : v;
	if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(', ') || '[]';
	return JSON.stringify(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}
