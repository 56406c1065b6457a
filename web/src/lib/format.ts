// Formatting of times, durations, rates and bodies for display.

/** "3 s ago", "5 min ago", "2 h ago", "4 d ago", or the date for anything older. */
export function relativeTime(iso: string | undefined | null, now: Date = new Date()): string {
	if (!iso) return '—';
	const t = new Date(iso);
	if (Number.isNaN(t.getTime())) return iso;
	const s = Math.round((now.getTime() - t.getTime()) / 1000);
	if (s < 0) return absoluteTime(iso);
	if (s < 5) return 'just now';
	if (s < 60) return `${s} s ago`;
	if (s < 3600) return `${Math.floor(s / 60)} min ago`;
	if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
	if (s < 30 * 86400) return `${Math.floor(s / 86400)} d ago`;
	return t.toISOString().slice(0, 10);
}

/** "2026-11-01 12:34:56 UTC". */
export function absoluteTime(iso: string | undefined | null): string {
	if (!iso) return '—';
	const t = new Date(iso);
	if (Number.isNaN(t.getTime())) return iso;
	return t.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

/** Milliseconds as "0.42 ms", "12.3 ms", "1.25 s". */
export function duration(ms: number | undefined | null): string {
	if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
	if (ms < 1) return `${ms.toFixed(2)} ms`;
	if (ms < 100) return `${ms.toFixed(1)} ms`;
	if (ms < 1000) return `${Math.round(ms)} ms`;
	return `${(ms / 1000).toFixed(2)} s`;
}

/** A 0..1 rate as "0%", "3.5%", "100%"; "—" when unknown. */
export function percent(rate: number | undefined | null): string {
	if (rate === undefined || rate === null || Number.isNaN(rate)) return '—';
	const p = rate * 100;
	if (p === 0 || p === 100) return `${p}%`;
	return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

/** 1234567 as "1,234,567". */
export function count(n: number | undefined | null): string {
	if (n === undefined || n === null) return '—';
	return n.toLocaleString('en-US');
}

/** Pretty-prints JSON text; returns the text unchanged when it is not JSON. */
export function prettyBody(body: string | undefined | null): string {
	if (!body) return '';
	const t = body.trim();
	if (!(t.startsWith('{') || t.startsWith('['))) return body;
	try {
		return JSON.stringify(JSON.parse(t), null, 2);
	} catch {
		return body;
	}
}

/** Structured log data as compact JSON text, or '' when there is none. */
export function logData(data: unknown): string {
	if (data === undefined || data === null) return '';
	if (typeof data === 'string') return data;
	return JSON.stringify(data);
}

/**
 * Parses "Name: value" lines into a header map. Blank lines and lines starting with #
 * are skipped; returns the problem line when one has no colon or an empty name.
 */
export function parseHeaders(text: string): { headers: Record<string, string>; error?: string } {
	const headers: Record<string, string> = {};
	const lines = text.split(/\r?\n/);
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i].trim();
		if (line === '' || line.startsWith('#')) continue;
		const colon = line.indexOf(':');
		const name = colon > 0 ? line.slice(0, colon).trim() : '';
		if (!name || /\s/.test(name)) {
			return { headers, error: `Line ${i + 1}: write headers as "Name: value".` };
		}
		const value = line.slice(colon + 1).trim();
		const key = name.toLowerCase();
		headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
	}
	return { headers };
}

/** A future time as "in 42 s", "in 5 min", "in 2 h", "in 3 d"; "now" when due or past. */
export function fromNow(iso: string | undefined | null, now: Date = new Date()): string {
	if (!iso) return '—';
	const t = new Date(iso);
	if (Number.isNaN(t.getTime())) return iso;
	const s = Math.round((t.getTime() - now.getTime()) / 1000);
	if (s <= 0) return 'now';
	if (s < 60) return `in ${s} s`;
	if (s < 3600) return `in ${Math.floor(s / 60)} min`;
	if (s < 86400) return `in ${Math.floor(s / 3600)} h`;
	return `in ${Math.floor(s / 86400)} d`;
}

/**
 * A time in an IANA zone as "2026-11-01 13:34:56 Europe/Paris" (a schedule's firing
 * in the zone it is written for); UTC, or an unknown zone, as absoluteTime does.
 */
export function zonedTime(iso: string | undefined | null, zone: string | undefined | null): string {
	if (!iso) return '—';
	if (!zone || zone === 'UTC' || zone === 'Etc/UTC') return absoluteTime(iso);
	const t = new Date(iso);
	if (Number.isNaN(t.getTime())) return iso;
	let parts: Intl.DateTimeFormatPart[];
	try {
		parts = new Intl.DateTimeFormat('en-US', {
			timeZone: zone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit'
		}).formatToParts(t);
	} catch {
		return absoluteTime(iso);
	}
	const p = (type: string) => parts.find((x) => x.type === type)?.value ?? '';
	return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}:${p('second')} ${zone}`;
}

/** A size as "0 B", "512 B", "1.5 KiB", "12 MiB", "3.2 GiB" (powers of 1024); "—" when unknown. */
export function bytes(n: number | undefined | null): string {
	if (n === undefined || n === null || Number.isNaN(n)) return '—';
	if (n < 1024) return `${Math.max(0, Math.round(n))} B`;
	const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
	let v = n;
	let u = -1;
	while (v >= 1024 && u < units.length - 1) {
		v /= 1024;
		u++;
	}
	// One decimal while it says something (1.5 KiB), none from 10 up (12 MiB).
	const s = v < 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v));
	return `${s} ${units[u]}`;
}

/**
 * A recent time to the second, "0 s ago" … "59 s ago", then as relativeTime does
 * ("5 min ago"). For heartbeats, which come every few seconds: "just now" would hide
 * the difference between a node that reported 1 s ago and one that is 4 s late. A time
 * up to a minute ahead of the browser's clock (the server's clock differs) counts as
 * now; further ahead, it is shown as it is.
 */
export function secondsAgo(iso: string | undefined | null, now: Date = new Date()): string {
	if (!iso) return '—';
	const t = new Date(iso);
	if (Number.isNaN(t.getTime())) return iso;
	const s = Math.floor((now.getTime() - t.getTime()) / 1000);
	if (s < -60) return absoluteTime(iso);
	if (s < 60) return `${Math.max(0, s)} s ago`;
	return relativeTime(iso, now);
}

/**
 * Whether a list of executions needs its node tags: only when one of its rows ran on a
 * cluster node, so that an all-in-one server's list looks as it always did.
 */
export function anyNode(items: ReadonlyArray<{ node?: string | null }> | undefined | null): boolean {
	return !!items?.some((x) => !!x.node);
}
