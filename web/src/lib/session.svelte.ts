// The dashboard's one API client and the sign-in state it keeps up to date. The session
// itself is an HttpOnly cookie the page cannot read; this only mirrors what the server
// last said about it.

import { createClient } from './api';
import { deniedHint, tokenAllows, type Scope } from './access';
import type { SessionToken } from './types';

export type AuthState = 'unknown' | 'signed-in' | 'signed-out';

/**
 * The sign-in state; token is the one the session acts as (its scopes say what the page offers);
 * sso, whether the server offers single sign-on (the sign-in page then shows its button).
 */
export const auth = $state<{ state: AuthState; message: string; token?: SessionToken; sso: boolean }>({
	state: 'unknown',
	message: '',
	sso: false
});

/** The URL that starts a single sign-on: the server redirects to the identity provider. */
export const ssoLoginURL = '/api/session/oidc/login';

/** Whether the signed-in token has scope need (the server enforces it; the page only follows). */
export function can(need: Scope): boolean {
	return tokenAllows(auth.token, need);
}

/** The tooltip of a control the token may not use, or undefined when it may. */
export function denied(need: Scope): string | undefined {
	return can(need) ? undefined : deniedHint(auth.token, need);
}

export const api = createClient({
	onUnauthorized() {
		if (auth.state === 'signed-in') {
			auth.message = 'Your session has expired. Sign in again.';
		}
		auth.state = 'signed-out';
	}
});
