import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// PICLOUD_DEV_API points `npm run dev` at a running `picloud serve`, so the dashboard can
// be developed with hot reload against the real API (same origin through the proxy, so
// the session cookie works).
const api = process.env.PICLOUD_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
	plugins: [sveltekit()],
	server: {
		proxy: {
			'/api': { target: api, changeOrigin: false },
			'/fn': { target: api, changeOrigin: false }
		}
	},
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'node'
	}
});
