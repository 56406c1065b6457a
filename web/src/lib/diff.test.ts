import { describe, expect, it } from 'vitest';
import { curlExample, diffStats, shellQuote, sideBySide, withoutPosition } from './diff';

describe('sideBySide', () => {
	it('marks identical sources as all same', () => {
		const rows = sideBySide('a\nb\n', 'a\nb');
		expect(rows.map((r) => r.kind)).toEqual(['same', 'same']);
		expect(rows[1]).toEqual({ kind: 'same', left: { n: 2, text: 'b' }, right: { n: 2, text: 'b' } });
	});

	it('pairs a replaced line as changed and keeps line numbers per side', () => {
		const rows = sideBySide('// one\nlet x = 1;\nx\n', '// two\nlet x = 1;\nlet y = 2;\nx + y\n');
		expect(rows.map((r) => r.kind)).toEqual(['changed', 'same', 'changed', 'added']);
		expect(rows[0].left).toEqual({ n: 1, text: '// one' });
		expect(rows[0].right).toEqual({ n: 1, text: '// two' });
		expect(rows[1].left?.n).toBe(2);
		expect(rows[2].left).toEqual({ n: 3, text: 'x' });
		expect(rows[2].right).toEqual({ n: 3, text: 'let y = 2;' });
		expect(rows[3]).toEqual({ kind: 'added', left: undefined, right: { n: 4, text: 'x + y' } });
		expect(diffStats(rows)).toEqual({ added: 3, removed: 2 });
	});

	it('shows removed lines only on the left', () => {
		const rows = sideBySide('a\nb\nc\nd', 'a\nd');
		expect(rows.map((r) => r.kind)).toEqual(['same', 'removed', 'removed', 'same']);
		expect(rows[3]).toEqual({ kind: 'same', left: { n: 4, text: 'd' }, right: { n: 2, text: 'd' } });
		expect(diffStats(rows)).toEqual({ added: 0, removed: 2 });
	});

	it('handles empty sources', () => {
		expect(sideBySide('', '')).toEqual([]);
		expect(sideBySide('', 'x\n').map((r) => r.kind)).toEqual(['added']);
		expect(sideBySide('x', '').map((r) => r.kind)).toEqual(['removed']);
	});

	it('finds the common lines inside a changed middle', () => {
		const rows = sideBySide('p\n1\nk\n2\ns', 'p\n3\nk\n4\n5\ns');
		expect(rows.filter((r) => r.kind === 'same').map((r) => r.left?.text)).toEqual(['p', 'k', 's']);
		expect(diffStats(rows)).toEqual({ added: 3, removed: 2 });
	});
});

describe('curlExample', () => {
	it('posts JSON to the endpoint', () => {
		expect(curlExample('http://127.0.0.1:8080/', 'hello')).toBe(
			`curl -X POST http://127.0.0.1:8080/fn/hello \\\n  -H 'Content-Type: application/json' \\\n  -d '{"who": "PiCloud"}'`
		);
	});
	it('quotes what a shell would split', () => {
		expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
		expect(shellQuote('http://a/b-c')).toBe('http://a/b-c');
	});
});

describe('withoutPosition', () => {
	it('drops the position the view shows itself', () => {
		expect(withoutPosition('Division by zero: 1 / 0 (line 2, position 9)', 2, 9)).toBe('Division by zero: 1 / 0');
	});
	it('keeps another position and plain messages', () => {
		expect(withoutPosition('boom (line 7, position 1)', 2, 9)).toBe('boom (line 7, position 1)');
		expect(withoutPosition('boom', 2, 9)).toBe('boom');
	});
});
