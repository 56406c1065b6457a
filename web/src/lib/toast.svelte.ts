// Short notices that outlive the page that raised them (say, "Deleted x" after a delete
// navigated back to the list). The layout renders them; each goes away on its own.

export interface Toast {
	id: number;
	text: string;
	kind: 'ok' | 'error';
}

export const toasts = $state<{ items: Toast[] }>({ items: [] });

let next = 1;

/** Shows text for ms milliseconds (5 s by default). */
export function toast(text: string, kind: Toast['kind'] = 'ok', ms = 5000): number {
	const id = next++;
	toasts.items.push({ id, text, kind });
	setTimeout(() => dismiss(id), ms);
	return id;
}

export function dismiss(id: number) {
	const i = toasts.items.findIndex((t) => t.id === id);
	if (i >= 0) toasts.items.splice(i, 1);
}
