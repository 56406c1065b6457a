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
	{ key: 'kv_max_bytes', label: 'KV bytes per namespace', id: 'kvbytes' },
	{ key: 'http_max_requests', label: 'HTTP requests per execution', id: 'httpreqs' },
	{ key: 'http_max_response_bytes', label: 'HTTP response (bytes)', id: 'httpbytes' },
	{ key: 'http_timeout_ms', label: 'HTTP timeout (ms)', id: 'httptimeout' }
];

/** The largest value the server accepts for each numeric setting (the root package's constants). */
export const settingMax: Record<NumericSetting, number> = {
	timeout_ms: 3_600_000,
	max_operations: 1_000_000_000_000,
	max_concurrency: 100_000,
	max_memory_bytes: 64 * 2 ** 30,
	max_response_bytes: 2 ** 30,
	kv_max_keys: 100_000_000,
	kv_max_bytes: 64 * 2 ** 30,
	http_max_requests: 10_000,
	http_max_response_bytes: 256 * 2 ** 20,
	http_timeout_ms: 600_000
};

/** One egress_allow entry: a host, host:port, an IP address (IPv6 in brackets with a port) or a CIDR. */
const EGRESS = /^(\[[0-9a-f:.]+\](:\d{1,5})?|[0-9a-f:.]+(\/\d{1,3})?|[a-z0-9_.-]+(:\d{1,5})?)$/;

/** The egress_allow setting as the server keeps it: lowercase entries, comma-separated, no blanks. */
export function normalizeEgress(text: string): string {
	return text
		.split(',')
		.map((n) => n.trim().toLowerCase())
		.filter((n) => n !== '')
		.join(',');
}

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

/** The rule for an event topic (the root package's ValidTopic). */
const TOPIC = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** The most topics one script may subscribe to, and the max_attempts range (the server's). */
export const MAX_SUBSCRIPTIONS = 64;
export const MAX_ATTEMPTS_LIMIT = 100;

/** Subscriptions as typed ("a, b,,a") as the list the server keeps: trimmed, no blanks or repeats. */
export function parseTopics(text: string): string[] {
	const out: string[] = [];
	for (const t of text.split(/[,\s]+/)) {
		const topic = t.trim();
		if (topic !== '' && !out.includes(topic)) out.push(topic);
	}
	return out;
}

/** Why topic is not a valid event topic, or '' when it is. */
export function topicProblem(topic: string): string {
	if (topic.length > 128) return `“${topic.slice(0, 20)}…” is longer than 128 characters.`;
	if (!TOPIC.test(topic)) return `“${topic}” is not a topic (a-z, 0-9, '.', '_' and '-', starting with a letter or digit).`;
	return '';
}

/** The form's state: numeric settings as typed, and the sandbox switch. */
export interface SettingsForm {
	values: Record<NumericSetting, string>;
	unsandboxed: boolean;
	/** The script answers and its triggers fire. */
	enabled: boolean;
	/** max_attempts as typed (0 or empty: the default, 3). */
	maxAttempts: string;
	/** subscriptions as typed: topics, comma-separated. */
	subscriptions: string;
	/** kv_namespaces as typed: shared namespaces, comma-separated. */
	kvNamespaces: string;
	/** egress_allow as typed. */
	egressAllow: string;
}

/** The form showing a script's current settings. */
export function settingsForm(s: Script): SettingsForm {
	const values = {} as Record<NumericSetting, string>;
	for (const { key } of numericSettings) values[key] = String(s[key] ?? 0);
	return {
		values,
		unsandboxed: !!s.unsandboxed,
		enabled: s.enabled !== false,
		maxAttempts: String(s.max_attempts ?? 0),
		subscriptions: (s.subscriptions ?? []).join(', '),
		kvNamespaces: s.kv_namespaces ?? '',
		egressAllow: s.egress_allow ?? ''
	};
}

/** Whether the form differs from the script's settings (an empty field counts as 0). */
export function settingsChanged(form: SettingsForm, s: Script): boolean {
	if (form.unsandboxed !== !!s.unsandboxed) return true;
	if (form.enabled !== (s.enabled !== false)) return true;
	if ((form.maxAttempts.trim() || '0') !== String(s.max_attempts ?? 0)) return true;
	if (parseTopics(form.subscriptions).join(',') !== (s.subscriptions ?? []).join(',')) return true;
	if (normalizeNamespaces(form.kvNamespaces) !== (s.kv_namespaces ?? '')) return true;
	if (normalizeEgress(form.egressAllow) !== (s.egress_allow ?? '')) return true;
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
	const attempts = form.maxAttempts.trim();
	if (attempts !== '' && !/^\d+$/.test(attempts)) return 'Max attempts: a whole number (0 means the default, 3).';
	if (Number(attempts) > MAX_ATTEMPTS_LIMIT) return `Max attempts: at most ${MAX_ATTEMPTS_LIMIT}.`;
	const topics = parseTopics(form.subscriptions);
	if (topics.length > MAX_SUBSCRIPTIONS) return `Subscriptions: at most ${MAX_SUBSCRIPTIONS} topics.`;
	for (const t of topics) {
		const p = topicProblem(t);
		if (p) return `Subscriptions: ${p}`;
	}
	for (const n of normalizeNamespaces(form.kvNamespaces).split(',')) {
		if (n !== '' && !NAMESPACE.test(n)) return `Shared KV namespaces: “${n}” is not a slug (a-z, 0-9 and -).`;
	}
	for (const e of normalizeEgress(form.egressAllow).split(',')) {
		if (e !== '' && !EGRESS.test(e)) return `HTTP egress allowlist: “${e}” is not a host, host:port, address or CIDR.`;
	}
	return '';
}

/** The update a valid form makes: every setting, empty fields as 0. */
export function settingsInput(form: SettingsForm): ScriptInput {
	const input: ScriptInput = {
		unsandboxed: form.unsandboxed,
		enabled: form.enabled,
		max_attempts: form.maxAttempts.trim() === '' ? 0 : Number(form.maxAttempts.trim()),
		subscriptions: parseTopics(form.subscriptions),
		kv_namespaces: normalizeNamespaces(form.kvNamespaces),
		egress_allow: normalizeEgress(form.egressAllow)
	};
	for (const { key } of numericSettings) {
		const v = form.values[key].trim();
		input[key] = v === '' ? 0 : Number(v);
	}
	return input;
}
