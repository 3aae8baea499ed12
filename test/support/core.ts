import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import type { SessionsOptions } from '../../packages/cloakroom/src/core/options.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import { createSessions, type Sessions } from '../../packages/cloakroom/src/core/sessions.js';
import type { SessionStore } from '../../packages/cloakroom/src/core/store.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';

/** Test-only keyring secrets (32 random bytes each, base64url). */
export const SECRET_A = 'boA_CQm16knetkzxYhwKVUhox2CVSPO3U1n6uO8wtYI';
export const SECRET_B = 'yatHag-CnuKQO25vW-xeJPxAcnoG0sQ499N6PD9fYDw';
export const SECRET_C = 'G_J4jXAZ8Umhxo3nEjmsRsvxhYMd-fqiOEo5UsRBzb8';

/** Counts every call to a store method, to prove what a request did or did not touch. */
export function spyStore(store: SessionStore): { store: SessionStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const spied = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return { store: spied, calls };
}

export interface CoreHarness {
  sessions: Sessions;
  store: SessionStore;
  calls: Record<string, number>;
  clock: ManualClock;
}

/** Sessions on a memory store with a manual clock and a store spy. */
export function coreHarness(options: Partial<SessionsOptions> = {}): CoreHarness {
  const clock = manualClock();
  const base = options.store ?? createMemoryStore({ clock, sweepIntervalMs: 0 });
  const { store, calls } = spyStore(base);
  const sessions = createSessions({ secrets: [SECRET_A], clock, ...options, store });
  return { sessions, store, calls, clock };
}

export interface RequestSpec {
  method?: string;
  cookie?: string;
  origin?: string;
  site?: string;
  https?: boolean;
  host?: string;
  ip?: string;
  userAgent?: string;
}

/** An {@link IncomingRequest} as an adapter would build it. */
export function incoming(spec: RequestSpec = {}): IncomingRequest {
  const headers = new Headers();
  if (spec.cookie) headers.set('cookie', spec.cookie);
  if (spec.origin) headers.set('origin', spec.origin);
  if (spec.site) headers.set('sec-fetch-site', spec.site);
  if (spec.userAgent) headers.set('user-agent', spec.userAgent);
  return {
    method: spec.method ?? 'GET',
    headers,
    https: spec.https ?? false,
    host: spec.host ?? 'app.test',
    ip: spec.ip ?? '127.0.0.1',
  };
}

/** The `name=value` pair of a Set-Cookie, as a browser would send it back. */
export function cookiePair(setCookie: string | undefined): string {
  if (!setCookie) throw new Error('expected a Set-Cookie');
  return setCookie.split(';')[0]!;
}

/** The value part of a Set-Cookie. */
export function cookieValueOf(setCookie: string | undefined): string {
  const pair = cookiePair(setCookie);
  return pair.slice(pair.indexOf('=') + 1);
}

/** `text` with the character at `index` changed (to `B` if it was `A`, else to `A`). */
export function flip(text: string, index: number): string {
  const c = text[index]!;
  return text.slice(0, index) + (c === 'A' ? 'B' : 'A') + text.slice(index + 1);
}
