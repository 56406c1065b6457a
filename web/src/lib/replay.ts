// Helpers for the replay panel: the summary line and one change's text,
// kept out of the component so they can be unit tested.
import type { RecordedRequest, ReplayChange, ReplayResult } from './types';

export interface ReplaySummary {
	same: number;
	differ: number;
	notReplayable: number;
}

export function summarize(r: ReplayResult): ReplaySummary {
	const items = r.items ?? [];
	const same = items.filter((i) => i.same).length;
	return { same, differ: items.length - same, notReplayable: (r.not_replayable ?? []).length };
}

/** "3 same, 1 differ, 0 not replayable" — the line the panel and the Promote dialog show. */
export function summaryText(s: ReplaySummary): string {
	return `${s.same} same, ${s.differ} differ, ${s.notReplayable} not replayable`;
}

/** A change's side: JSON text, "—" for an absent side (null/undefined). */
export function sideText(v: unknown): string {
	if (v === null || v === undefined) return '—';
	// Strings keep their quotes so that "1" and 1 read differently.
	const t = JSON.stringify(v);
	return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/** "old → new" for one change. */
export function changeText(c: ReplayChange): string {
	return `${sideText(c.live)} → ${sideText(c.draft)}`;
}

/** A body change's location: its JSON Pointer, or "(body)" for the whole body. */
export function changePath(c: ReplayChange): string {
	return c.path ? c.path : '(body)';
}

/** "POST /fn/x?a=1": the captured request's line. */
export function requestLine(r: RecordedRequest | null | undefined): string {
	if (!r) return '(no request)';
	const q = r.query ? new URLSearchParams(r.query).toString() : '';
	return `${r.method} ${r.path}${q ? `?${q}` : ''}`;
}
