// A script's settings as the limits form edits them: text fields for the numeric settings,
// checked against the same ranges the server enforces (docs/api.md), so that a mistake is
// shown beside the form before a request is sent.
import type { NumericSetting, Script, ScriptInput } from './types';

/** The numeric settings in the order the form shows them, with their labels. */
export const numericSettings: { key: NumericSetting; label: string; id: string }[] = [
	{ key: 'timeout_ms', label: 'Timeout (ms)', id: 'timeout' },
	{ key: 'max_operations', label: 'Max operations', id: 'maxops' },
	{ key: 'max_concurrency', label: 'Max concurrency', id: 'maxconc' },
	{ key: 'max_memory_bytes', label: 'Max memory (bytes)', id: 'maxmem' },
	{ key: 'max_response_bytes', label: 'Max response (bytes)', id: 'maxresp' },
	{ key: 'kv_max_keys', label: 'KV keys per namespace', id: 'kvkeys' },
	{ key: 'kv_max_bytes', label: 'KV bytes per namespace', id: 'kvbytes' }
];

/** The largest value the server accepts for each numeric setting (the root package's constants). */
export const settingMax: Record<NumericSetting, number> = {
	timeout_ms: 3_600_000,
	max_operations: 1_000_000_000_000,
	max_concurrency: 100_000,
	max_memory_bytes: 64 * 2 ** 30,
	max_response_bytes: 2 ** 30,
	kv_max_keys: 100_000_000,
	kv_max_bytes: 64 * 2 ** 30
};

/** The rule for a shared kv namespace's name (a slug, as script names). */
const NAMESPACE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The kv_namespaces setting as the server keeps it: names, comma-separated, no blanks. */
export function normalizeNamespaces(text: string): string {
	return text
		.split(',')
		.map((n) => n.trim())
		.filter((n) => n !== '')
		.join(',');
}

/** The form's state: numeric settings as typed, and the sandbox switch. */
export interface SettingsForm {
	values: Record<NumericSetting, string>;
	unsandboxed: boolean;
	/** kv_namespaces as typed: shared namespaces, comma-separated. */
	kvNamespaces: string;
}

/** The form showing a script's current settings. */
export function settingsForm(s: Script): SettingsForm {
	const values = {} as Record<NumericSetting, string>;
	for (const { key } of numericSettings) values[key] = String(s[key] ?? 0);
	return { values, unsandboxed: !!s.unsandboxed, kvNamespaces: s.kv_namespaces ?? '' };
}

/** Whether the form differs from the script's settings (an empty field counts as 0). */
export function settingsChanged(form: SettingsForm, s: Script): boolean {
	if (form.unsandboxed !== !!s.unsandboxed) return true;
	if (normalizeNamespaces(form.kvNamespaces) !== (s.kv_namespaces ?? '')) return true;
	return numericSettings.some(({ key }) => {
		const v = form.values[key].trim();
		return (v === '' ? '0' : v) !== String(s[key] ?? 0);
	});
}

/** The first problem with the form, naming the field, or '' when it can be saved. */
export function settingsProblem(form: SettingsForm): string {
	for (const { key, label } of numericSettings) {
		const v = form.values[key].trim();
		if (v === '') continue;
		if (!/^\d+$/.test(v)) return `${label}: a whole number (0 means the server default).`;
		if (Number(v) > settingMax[key]) return `${label}: at most ${settingMax[key].toLocaleString('en-US')}.`;
	}
	for (const n of normalizeNamespaces(form.kvNamespaces).split(',')) {
		if (n !== '' && !NAMESPACE.test(n)) return `Shared KV namespaces: “${n}” is not a slug (a-z, 0-9 and -).`;
	}
	return '';
}

/** The update a valid form makes: every setting, empty fields as 0. */
export function settingsInput(form: SettingsForm): ScriptInput {
	const input: ScriptInput = { unsandboxed: form.unsandboxed, kv_namespaces: normalizeNamespaces(form.kvNamespaces) };
	for (const { key } of numericSettings) {
		const v = form.values[key].trim();
		input[key] = v === '' ? 0 : Number(v);
	}
	return input;
}
