import { within } from 'cloakroom';
import type { App, ServerDeps } from '../http/context.js';

/**
 * Longest a readiness check waits. A load balancer's probe usually gives up after 1–5 s; an
 * answer within a second keeps "not ready" a clear 503 instead of a probe timeout.
 */
export const READY_TIMEOUT_MS = 1_000;

/** Liveness, readiness and metrics. None of them needs or reads a session. */
export function opsRoutes(app: App, deps: ServerDeps): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await within(deps.ping(), READY_TIMEOUT_MS, 'readiness');
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'unavailable' }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.text(text, 200, { 'Content-Type': deps.metrics.registry.contentType });
  });
}
