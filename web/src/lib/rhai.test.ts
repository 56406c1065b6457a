import { describe, expect, it } from 'vitest';
import { tokenize } from './rhai';

/** The styled tokens of source, whitespace dropped. */
function styled(source: string) {
	return tokenize(source).filter(([text]) => text.trim() !== '');
}

describe('rhai highlighting', () => {
	it('classifies keywords, names, calls, namespaces and literals', () => {
		expect(styled('let x = log::info("hi", 0x1F) ?? true;')).toEqual([
			['let', 'keyword'],
			['x', 'variable'],
			['=', 'operator'],
			['log', 'namespace'],
			['::', 'punctuation'],
			['info', 'function'],
			['(', 'punctuation'],
			['"hi"', 'string'],
			[',', 'punctuation'],
			['0x1F', 'number'],
			[')', 'punctuation'],
			['??', 'operator'],
			['true', 'atom'],
			[';', 'punctuation']
		]);
	});

	it('handles object maps, characters, floats and specials', () => {
		expect(styled("#{ a: 'c', b: 1.5e3 } this")).toEqual([
			['#{', 'brace'],
			['a', 'variable'],
			[':', 'punctuation'],
			["'c'", 'character'],
			[',', 'punctuation'],
			['b', 'variable'],
			[':', 'punctuation'],
			['1.5e3', 'number'],
			['}', 'brace'],
			['this', 'special']
		]);
	});

	it('nests block comments across lines', () => {
		const toks = styled('/* a /* b */ still\n comment */ let');
		expect(toks.map(([, s]) => s)).toEqual(['comment', 'comment', 'keyword']);
	});

	it('highlights code inside back-tick interpolation', () => {
		expect(styled('`n = ${ x + #{a: 1}.a }!` 1')).toEqual([
			['`', 'string'],
			['n = ', 'string'],
			['${', 'interpolation'],
			['x', 'variable'],
			['+', 'operator'],
			['#{', 'brace'],
			['a', 'variable'],
			[':', 'punctuation'],
			['1', 'number'],
			['}', 'brace'],
			['.', 'punctuation'],
			['a', 'variable'],
			['}', 'interpolation'],
			['!`', 'string'],
			['1', 'number']
		]);
	});

	it('reads line comments and escaped quotes', () => {
		expect(styled('"a\\"b" // done')).toEqual([
			['"a\\"b"', 'string'],
			['// done', 'comment']
		]);
	});
});
