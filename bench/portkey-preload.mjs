/* global Response, Headers -- Node 24 globals */
// Portkey's Node adapter reuses the upstream response's headers object, which undici makes immutable, so
// streaming fails on Node 20 and 24 with "TypeError: immutable". Re-wrapping each fetch response with a copy of
// its headers makes the peer usable for a fair side-by-side; it changes nothing else.
const originalFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const response = await originalFetch(...args);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
