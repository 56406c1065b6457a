// Rhai syntax highlighting for CodeMirror 6, as a stream language: keywords, literals
// (numbers in every base, strings, characters, back-tick strings with ${...}
// interpolation), nested block comments, doc comments, namespaces (log::info) and calls.

import { StreamLanguage, StringStream, type StreamParser } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

const keywords = new Set([
	'let', 'const', 'if', 'else', 'switch', 'do', 'while', 'loop', 'until', 'for', 'in',
	'continue', 'break', 'return', 'throw', 'try', 'catch', 'fn', 'private', 'import',
	'export', 'as', 'global'
]);

const atoms = new Set(['true', 'false']);

const builtins = new Set([
	'print', 'debug', 'type_of', 'is_def_fn', 'is_def_var', 'is_shared', 'eval', 'Fn',
	'call', 'curry'
]);

const variables = new Set(['this', 'request']);

/** Where the tokenizer is: in code, or inside a block comment / back-tick string. */
type Mode = { kind: 'code'; braces: number } | { kind: 'comment'; depth: number } | { kind: 'template' };

export interface RhaiState {
	/** Innermost last: a template's ${...} pushes a code mode that its } pops. */
	stack: Mode[];
}

function top(state: RhaiState): Mode {
	return state.stack[state.stack.length - 1];
}

const numberRe =
	/^(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?)/;

function tokenComment(stream: StringStream, state: RhaiState, mode: { kind: 'comment'; depth: number }): string {
	while (!stream.eol()) {
		if (stream.match('/*')) {
			mode.depth++;
		} else if (stream.match('*/')) {
			mode.depth--;
			if (mode.depth === 0) {
				state.stack.pop();
				break;
			}
		} else {
			stream.next();
		}
	}
	return 'comment';
}

function tokenTemplate(stream: StringStream, state: RhaiState): string {
	if (stream.match('${')) {
		state.stack.push({ kind: 'code', braces: 0 });
		return 'interpolation';
	}
	while (!stream.eol()) {
		if (stream.peek() === '`') {
			stream.next();
			state.stack.pop();
			return 'string';
		}
		if (stream.match('${', false)) return 'string';
		if (stream.next() === '\\') stream.next();
	}
	return 'string';
}

function tokenCode(stream: StringStream, state: RhaiState, mode: { kind: 'code'; braces: number }): string | null {
	if (stream.eatSpace()) return null;

	if (stream.match('//')) {
		stream.skipToEnd();
		return 'comment';
	}
	if (stream.match('/*')) {
		const m: Mode = { kind: 'comment', depth: 1 };
		state.stack.push(m);
		return tokenComment(stream, state, m);
	}
	if (stream.match(numberRe)) return 'number';

	const ch = stream.peek();
	if (ch === '"') {
		stream.next();
		let escaped = false;
		let c: string | void;
		while ((c = stream.next()) !== undefined) {
			if (c === '"' && !escaped) return 'string';
			escaped = !escaped && c === '\\';
		}
		// Rhai continues a string onto the next line only after a trailing backslash; an
		// unterminated string is an error the validator reports.
		return 'string';
	}
	if (ch === "'") {
		stream.next();
		if (stream.next() === '\\') stream.next();
		stream.eat("'");
		return 'character';
	}
	if (ch === '`') {
		stream.next();
		state.stack.push({ kind: 'template' });
		return 'string';
	}
	if (ch === '{') {
		stream.next();
		mode.braces++;
		return 'brace';
	}
	if (ch === '}') {
		stream.next();
		if (mode.braces === 0 && state.stack.length > 1) {
			state.stack.pop(); // the end of a ${...} interpolation
			return 'interpolation';
		}
		mode.braces = Math.max(0, mode.braces - 1);
		return 'brace';
	}
	if (ch === '#' && stream.match('#{')) {
		mode.braces++;
		return 'brace';
	}
	if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
		const word = stream.current();
		if (stream.match('::', false)) return 'namespace';
		if (keywords.has(word)) return 'keyword';
		if (atoms.has(word)) return 'atom';
		if (variables.has(word)) return 'special';
		if (builtins.has(word)) return 'builtin';
		if (stream.match(/^\s*\(/, false) || stream.match(/^!\s*\(/, false)) return 'function';
		if (/^[A-Z][A-Z0-9_]+$/.test(word)) return 'constant';
		return 'variable';
	}
	if (stream.match('::')) return 'punctuation';
	if (stream.match(/^(?:\?\?|\?\.|\?\[|\.\.=?|=>|->|==|!=|<=|>=|&&|\|\||<<=?|>>=?|\*\*=?|[-+*\/%&|^]=?|[=<>!~])/)) {
		return 'operator';
	}
	if (stream.match(/^[()[\],;.:]/)) return 'punctuation';
	stream.next();
	return null;
}

export const rhaiParser: StreamParser<RhaiState> = {
	name: 'rhai',
	startState: () => ({ stack: [{ kind: 'code', braces: 0 }] }),
	copyState: (s) => ({ stack: s.stack.map((m) => ({ ...m })) }),
	token(stream, state) {
		const mode = top(state);
		switch (mode.kind) {
			case 'comment':
				return tokenComment(stream, state, mode);
			case 'template':
				return tokenTemplate(stream, state);
			default:
				return tokenCode(stream, state, mode);
		}
	},
	languageData: {
		commentTokens: { line: '//', block: { open: '/*', close: '*/' } },
		closeBrackets: { brackets: ['(', '[', '{', '"', '`'] },
		indentOnInput: /^\s*[}\]]$/
	},
	tokenTable: {
		character: t.character,
		namespace: t.namespace,
		builtin: t.standard(t.variableName),
		function: t.function(t.variableName),
		constant: t.constant(t.variableName),
		special: t.special(t.variableName),
		brace: t.brace,
		interpolation: t.special(t.brace)
	}
};

export const rhai = StreamLanguage.define(rhaiParser);

/** Tokenizes source: [text, style] pairs, for tests. */
export function tokenize(source: string): Array<[string, string | null]> {
	const state = rhaiParser.startState!(2);
	const out: Array<[string, string | null]> = [];
	for (const line of source.split('\n')) {
		const stream = new StringStream(line, 2, 2);
		while (!stream.eol()) {
			const style = rhaiParser.token(stream, state);
			out.push([stream.current(), style]);
			stream.start = stream.pos;
		}
	}
	return out;
}
