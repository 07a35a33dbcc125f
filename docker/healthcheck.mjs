// Container HEALTHCHECK for every Parley image: GET the app's liveness endpoint on the port it was configured
// with. Node's fetch, because the slim base image has no curl or wget.
/* global process, console, fetch, AbortSignal, URL -- Node globals; this file runs only in the image. */
import { readFileSync } from 'node:fs';

const app = readFileSync(new URL('./app-name', import.meta.url), 'utf8').trim();
const env = process.env;
const targets = {
  gateway: { port: env.PORT || '3000', path: '/healthz' },
  responder: { port: env.PARLEY_OPS_PORT || '9101', path: '/healthz' },
  inference: { port: env.PARLEY_OPS_PORT || '9102', path: '/healthz' },
  'llm-sim': { port: env.LLM_SIM_PORT || '8000', path: '/v1/models' },
};
const target = targets[app];
if (!target) {
  console.error(`healthcheck: unknown app "${app}"`);
  process.exit(1);
}
try {
  const res = await fetch(`http://127.0.0.1:${target.port}${target.path}`, { signal: AbortSignal.timeout(2_000) });
  process.exit(res.ok ? 0 : 1);
} catch (error) {
  console.error(`healthcheck: ${error.message}`);
  process.exit(1);
}
