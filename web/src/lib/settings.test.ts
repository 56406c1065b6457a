import { describe, expect, it } from 'vitest';
import { parseTopics, settingsChanged, settingsForm, settingsInput, settingsProblem, topicProblem } from './settings';
import type { Script } from './types';

const script: Script = {
	id: 'id',
	name: 'hello',
	version: 3,
	timeout_ms: 2500,
	max_operations: 0,
	max_concurrency: 4,
	max_memory_bytes: 16 << 20,
	max_response_bytes: 0,
	unsandboxed: false
};

describe('settings form', () => {
	it('shows the script and is unchanged until edited', () => {
		const form = settingsForm(script);
		expect(form.values.max_memory_bytes).toBe('16777216');
		expect(form.unsandboxed).toBe(false);
		expect(settingsChanged(form, script)).toBe(false);
		form.values.max_response_bytes = ''; // empty is 0, the value it has
		expect(settingsChanged(form, script)).toBe(false);
		form.values.max_response_bytes = '1024';
		expect(settingsChanged(form, script)).toBe(true);
		const f2 = settingsForm(script);
		f2.unsandboxed = true;
		expect(settingsChanged(f2, script)).toBe(true);
	});

	it('reads a script without the new settings as defaults', () => {
		const old: Script = { id: 'x', name: 'old', version: 1, timeout_ms: 10 };
		const form = settingsForm(old);
		expect(form.values.max_memory_bytes).toBe('0');
		expect(settingsChanged(form, old)).toBe(false);
	});

	it.each([
		['max_memory_bytes', '-1', 'Max memory (bytes): a whole number'],
		['max_memory_bytes', '1.5', 'Max memory (bytes): a whole number'],
		['max_memory_bytes', '68719476737', 'Max memory (bytes): at most 68,719,476,736.'],
		['max_response_bytes', '1073741825', 'Max response (bytes): at most 1,073,741,824.'],
		['max_concurrency', '2147483648', 'Max concurrency: at most 100,000.'],
		['timeout_ms', '3600001', 'Timeout (ms): at most 3,600,000.']
	] as const)('refuses %s = %s', (key, value, want) => {
		const form = settingsForm(script);
		form.values[key] = value;
		expect(settingsProblem(form)).toContain(want);
	});

	it('accepts the extremes and sends every setting', () => {
		const form = settingsForm(script);
		form.values.max_memory_bytes = '68719476736';
		form.values.max_response_bytes = ' ';
		form.unsandboxed = true;
		expect(settingsProblem(form)).toBe('');
		expect(settingsInput(form)).toEqual({
			timeout_ms: 2500,
			max_operations: 0,
			max_concurrency: 4,
			max_memory_bytes: 68719476736,
			max_response_bytes: 0,
			kv_max_keys: 0,
			kv_max_bytes: 0,
			http_max_requests: 0,
			http_max_response_bytes: 0,
			http_timeout_ms: 0,
			unsandboxed: true,
			enabled: true,
			max_attempts: 0,
			subscriptions: [],
			kv_namespaces: '',
			egress_allow: ''
		});
	});

	it('edits the shared kv namespaces', () => {
		const s: Script = { ...script, kv_namespaces: 'orders,users' };
		const form = settingsForm(s);
		expect(form.kvNamespaces).toBe('orders,users');
		form.kvNamespaces = ' orders , users ';
		expect(settingsChanged(form, s)).toBe(false);
		form.kvNamespaces = 'orders, Bad Name';
		expect(settingsProblem(form)).toContain('“Bad Name” is not a slug');
		form.kvNamespaces = 'orders, billing,';
		form.values.kv_max_keys = '100';
		expect(settingsProblem(form)).toBe('');
		expect(settingsChanged(form, s)).toBe(true);
		expect(settingsInput(form)).toMatchObject({ kv_namespaces: 'orders,billing', kv_max_keys: 100 });
	});

	it('edits the http settings and the egress allowlist', () => {
		const s: Script = { ...script, egress_allow: 'api.test:443' };
		const form = settingsForm(s);
		expect(form.egressAllow).toBe('api.test:443');
		form.egressAllow = ' API.test:443 ,';
		expect(settingsChanged(form, s)).toBe(false);
		form.egressAllow = 'http://x/';
		expect(settingsProblem(form)).toContain('“http://x/” is not a host');
		form.egressAllow = '10.0.0.0/8, [::1]:8080, hooks.test';
		form.values.http_timeout_ms = '600001';
		expect(settingsProblem(form)).toContain('HTTP timeout (ms): at most 600,000');
		form.values.http_timeout_ms = '1500';
		expect(settingsProblem(form)).toBe('');
		expect(settingsInput(form)).toMatchObject({ egress_allow: '10.0.0.0/8,[::1]:8080,hooks.test', http_timeout_ms: 1500 });
	});

	it('reads a script without the trigger settings as enabled, default attempts, no topics', () => {
		const form = settingsForm(script);
		expect(form.enabled).toBe(true);
		expect(form.maxAttempts).toBe('0');
		expect(form.subscriptions).toBe('');
		expect(settingsChanged(form, script)).toBe(false);
	});

	it('edits enabled, max_attempts and subscriptions', () => {
		const s: Script = { ...script, enabled: false, max_attempts: 5, subscriptions: ['order.created', 'user_signup'] };
		const form = settingsForm(s);
		expect(form.enabled).toBe(false);
		expect(form.maxAttempts).toBe('5');
		expect(form.subscriptions).toBe('order.created, user_signup');
		form.subscriptions = ' order.created ,user_signup, order.created,';
		expect(settingsChanged(form, s)).toBe(false); // the same topics, typed differently
		form.enabled = true;
		expect(settingsChanged(form, s)).toBe(true);
		form.enabled = false;
		form.maxAttempts = '101';
		expect(settingsProblem(form)).toBe('Max attempts: at most 100.');
		form.maxAttempts = '2.5';
		expect(settingsProblem(form)).toContain('Max attempts: a whole number');
		form.maxAttempts = '';
		expect(settingsChanged(form, s)).toBe(true); // empty is 0, not 5
		form.subscriptions = 'order.created, Order Paid';
		expect(settingsProblem(form)).toContain('Subscriptions: “Order” is not a topic');
		form.subscriptions = 'order.created order.paid';
		expect(settingsProblem(form)).toBe('');
		expect(settingsInput(form)).toMatchObject({
			enabled: false,
			max_attempts: 0,
			subscriptions: ['order.created', 'order.paid']
		});
	});

	it('bounds the number of subscriptions', () => {
		const form = settingsForm(script);
		form.subscriptions = Array.from({ length: 65 }, (_, i) => `t${i}`).join(',');
		expect(settingsProblem(form)).toBe('Subscriptions: at most 64 topics.');
	});

	it.each([
		['order.created', ''],
		['a', ''],
		['9-lives_x.y', ''],
		['.dot', 'is not a topic'],
		['Upper', 'is not a topic'],
		['x'.repeat(129), 'longer than 128']
	])('topicProblem(%s)', (topic, want) => {
		const p = topicProblem(topic);
		if (want === '') expect(p).toBe('');
		else expect(p).toContain(want);
	});

	it('parses topics from commas and spaces', () => {
		expect(parseTopics('')).toEqual([]);
		expect(parseTopics(' a, b ,a\nc ')).toEqual(['a', 'b', 'c']);
	});
});
