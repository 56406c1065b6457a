// The dashboard's one API client and the sign-in state it keeps up to date. The session
// itself is an HttpOnly cookie the page cannot read; this only mirrors what the server
// last said about it.

import { createClient } from './api';

export type AuthState = 'unknown' | 'signed-in' | 'signed-out';

export const auth = $state<{ state: AuthState; message: string }>({ state: 'unknown', message: '' });

export const api = createClient({
	onUnauthorized() {
		if (auth.state === 'signed-in') {
			auth.message = 'Your session has expired. Sign in again.';
		}
		auth.state = 'signed-out';
	}
});
