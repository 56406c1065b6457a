import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dismiss, toast, toasts } from './toast.svelte';

describe('toast', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => {
		vi.useRealTimers();
		toasts.items.splice(0);
	});

	it('shows a notice until it expires', () => {
		toast('Deleted hello.');
		expect(toasts.items.map((t) => t.text)).toEqual(['Deleted hello.']);
		vi.advanceTimersByTime(4999);
		expect(toasts.items).toHaveLength(1);
		vi.advanceTimersByTime(1);
		expect(toasts.items).toHaveLength(0);
	});

	it('dismisses one notice and keeps the others', () => {
		const a = toast('a');
		toast('b', 'error');
		dismiss(a);
		expect(toasts.items.map((t) => [t.text, t.kind])).toEqual([['b', 'error']]);
	});
});
