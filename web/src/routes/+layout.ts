// A single-page app: everything renders in the browser, and the server answers every
// client route with index.html.
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';
