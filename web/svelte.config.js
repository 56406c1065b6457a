import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// The build output is committed and embedded by internal/dashboard, so it must be
		// byte-for-byte reproducible: pages and assets go straight into the Go package, and
		// every route falls back to index.html (the server does the same for client routes).
		adapter: adapter({
			pages: '../internal/dashboard/dist',
			assets: '../internal/dashboard/dist',
			fallback: 'index.html',
			precompress: false,
			strict: true
		}),
		// SvelteKit's default version name is a timestamp; a fixed name keeps builds
		// identical across machines and runs.
		version: { name: pkg.version, pollInterval: 0 },
		// The fallback page's inline bootstrap script is allowed by its hash; nothing else
		// inline runs. CodeMirror injects <style> elements, hence 'unsafe-inline' for styles.
		csp: {
			mode: 'hash',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:'],
				'connect-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		}
	}
};

export default config;
