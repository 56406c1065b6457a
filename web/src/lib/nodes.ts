// The Nodes page's helpers: how a node's load, health and status are shown, and the
// refresh that runs only while the page is on screen.
import type { ClusterNode, HealthComponent } from './types';

/** How often the page asks for the nodes again: a node reports every 5 s. */
export const RELOAD_MS = 5000;
/** How often "4 s ago" is recomputed between reloads. */
export const TICK_MS = 1000;

/** load / capacity as 0..1 for the bar (clamped: a node may run over its gate); undefined without a capacity. */
export function loadShare(n: Pick<ClusterNode, 'load' | 'capacity'>): number | undefined {
	if (!n.capacity || n.capacity <= 0) return undefined;
	return Math.min(1, Math.max(0, (n.load ?? 0) / n.capacity));
}

/** The bar's colour class: busy from 75 %, full at 100 %. */
export function loadClass(share: number | undefined): string {
	if (share === undefined) return '';
	if (share >= 1) return 'full';
	if (share >= 0.75) return 'busy';
	return '';
}

/** A node's health components by name, for the details row. */
export function components(n: Pick<ClusterNode, 'components'>): Array<HealthComponent & { name: string }> {
	return Object.entries(n.components ?? {})
		.map(([name, c]) => ({ name, ...c }))
		.sort((a, b) => a.name.localeCompare(b.name));
}

/** A one-line summary of the components, for the status badge's tooltip: "journal: ok, manager: down (unreachable)". */
export function componentsSummary(n: Pick<ClusterNode, 'components'>): string {
	return components(n)
		.map((c) => `${c.name}: ${c.status}${c.message ? ` (${c.message})` : ''}`)
		.join(', ');
}

/** What a status means, for its tooltip when the node gave no components. */
export const statusMeaning: Record<string, string> = {
	ok: 'Reporting and healthy.',
	degraded: 'Running scripts, but something it depends on is not well (often: the manager was unreachable).',
	down: 'Reported that it cannot run scripts (its journal is full).',
	lost: 'No heartbeat for 15 s: no jobs are sent to it.'
};

/** The badge class of a status (unknown ones look neutral). */
export function statusClass(status: string): string {
	return ['ok', 'degraded', 'down', 'lost'].includes(status) ? `n-${status}` : '';
}

/** Whether there are rows on the node that have not reached the manager yet. */
export function journalPending(n: Pick<ClusterNode, 'journal_bytes'>): boolean {
	return (n.journal_bytes ?? 0) > 0;
}

/** The part of a Document whileVisible needs (a fake in tests). */
export interface VisibilitySource {
	readonly visibilityState: DocumentVisibilityState;
	addEventListener(type: 'visibilitychange', fn: () => void): void;
	removeEventListener(type: 'visibilitychange', fn: () => void): void;
}

/**
 * Calls fn every ms while the page is visible: nothing runs while the tab is hidden,
 * and fn runs at once when it shows again (so the view is fresh). Returns the stop
 * function.
 */
export function whileVisible(fn: () => void, ms: number, doc: VisibilitySource = document): () => void {
	let timer: ReturnType<typeof setInterval> | undefined;
	const start = () => {
		if (timer === undefined) timer = setInterval(fn, ms);
	};
	const stop = () => {
		if (timer !== undefined) clearInterval(timer);
		timer = undefined;
	};
	const changed = () => {
		if (doc.visibilityState === 'visible') {
			fn();
			start();
		} else {
			stop();
		}
	};
	doc.addEventListener('visibilitychange', changed);
	if (doc.visibilityState === 'visible') start();
	return () => {
		stop();
		doc.removeEventListener('visibilitychange', changed);
	};
}
