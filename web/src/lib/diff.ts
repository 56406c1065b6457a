// Line diffs for the version comparison view, and small helpers the script page shares.

/** One row of a side-by-side diff: a line on the left, on the right, or both. */
export interface DiffRow {
	/** same: both sides hold the line; removed: only the left; added: only the right; changed: a left line replaced by a right one. */
	kind: 'same' | 'removed' | 'added' | 'changed';
	left?: { n: number; text: string };
	right?: { n: number; text: string };
}

/**
 * A side-by-side line diff of a against b: the longest common subsequence of lines, with
 * runs of removals next to runs of additions paired into "changed" rows so the two
 * columns stay aligned. Quadratic in the lines that differ, which is fine for scripts
 * (the common prefix and suffix are stripped first).
 */
export function sideBySide(a: string, b: string): DiffRow[] {
	const x = splitLines(a);
	const y = splitLines(b);
	let pre = 0;
	while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
	let suf = 0;
	while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
	const xm = x.slice(pre, x.length - suf);
	const ym = y.slice(pre, y.length - suf);

	// lcs[i][j]: the LCS length of xm[i:] and ym[j:].
	const lcs: number[][] = Array.from({ length: xm.length + 1 }, () => new Array<number>(ym.length + 1).fill(0));
	for (let i = xm.length - 1; i >= 0; i--)
		for (let j = ym.length - 1; j >= 0; j--)
			lcs[i][j] = xm[i] === ym[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);

	const rows: DiffRow[] = [];
	for (let k = 0; k < pre; k++) rows.push({ kind: 'same', left: { n: k + 1, text: x[k] }, right: { n: k + 1, text: y[k] } });
	let removed: { n: number; text: string }[] = [];
	let added: { n: number; text: string }[] = [];
	const flush = () => {
		const n = Math.max(removed.length, added.length);
		for (let k = 0; k < n; k++) {
			const l = removed[k];
			const r = added[k];
			rows.push({ kind: l && r ? 'changed' : l ? 'removed' : 'added', left: l, right: r });
		}
		removed = [];
		added = [];
	};
	let i = 0;
	let j = 0;
	while (i < xm.length || j < ym.length) {
		if (i < xm.length && j < ym.length && xm[i] === ym[j]) {
			flush();
			rows.push({ kind: 'same', left: { n: pre + i + 1, text: xm[i] }, right: { n: pre + j + 1, text: ym[j] } });
			i++;
			j++;
		} else if (j >= ym.length || (i < xm.length && lcs[i + 1][j] >= lcs[i][j + 1])) {
			removed.push({ n: pre + i + 1, text: xm[i] });
			i++;
		} else {
			added.push({ n: pre + j + 1, text: ym[j] });
			j++;
		}
	}
	flush();
	for (let k = 0; k < suf; k++) {
		const li = x.length - suf + k;
		const ri = y.length - suf + k;
		rows.push({ kind: 'same', left: { n: li + 1, text: x[li] }, right: { n: ri + 1, text: y[ri] } });
	}
	return rows;
}

/** Counts of lines added and removed (a changed row counts as one of each). */
export function diffStats(rows: DiffRow[]): { added: number; removed: number } {
	let added = 0;
	let removed = 0;
	for (const r of rows) {
		if (r.kind === 'added' || r.kind === 'changed') added++;
		if (r.kind === 'removed' || r.kind === 'changed') removed++;
	}
	return { added, removed };
}

/** A source's lines; a final newline does not make an empty last line. */
function splitLines(s: string): string[] {
	if (s === '') return [];
	const lines = s.replace(/\r\n/g, '\n').split('\n');
	if (lines[lines.length - 1] === '') lines.pop();
	return lines;
}

/** Single-quotes s for a POSIX shell. */
export function shellQuote(s: string): string {
	return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A curl command calling a script's endpoint with a JSON body. */
export function curlExample(origin: string, name: string): string {
	const url = `${origin.replace(/\/$/, '')}/fn/${encodeURIComponent(name)}`;
	return `curl -X POST ${shellQuote(url)} \\\n  -H 'Content-Type: application/json' \\\n  -d '{"who": "PiCloud"}'`;
}

/**
 * An error message without the "(line L, position C)" Rhai appends when it names the
 * position the view shows on its own (so it is not rendered twice); another position
 * (say, inside a called function) stays.
 */
export function withoutPosition(message: string, line: number, column: number): string {
	const m = /\s*\(line (\d+), position (\d+)\)\s*$/.exec(message);
	if (!m || Number(m[1]) !== line || Number(m[2]) !== column) return message;
	return message.slice(0, m.index);
}
