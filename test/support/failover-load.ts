// Requests against a running server while its Redis fails over: each probe is a loop of GET
// /api/session with one cookie, recording every answer and when it came. The checks that matter
// are about the whole record: which statuses a cookie ever got, and how long the 503s lasted.
import { createHash } from 'node:crypto';
import { apiLogin } from './server-process.js';

export interface Sample {
  /** ms since the load started, when the answer arrived. */
  at: number;
  status: number;
  /** ms the answer took. */
  took: number;
}

export interface Probe {
  name: string;
  cookie: string;
}

export interface Load {
  /** ms since the load started. */
  now(): number;
  /** Stops every loop and returns each probe's answers. */
  stop(): Promise<Map<string, Sample[]>>;
  /** Resolves once every probe has at least `n` answers after `since` (sign-ins: 2). */
  answeredSince(since: number, n?: number): Promise<void>;
}

/**
 * One loop per probe, each waiting for its answer before the next request (`gapMs` between
 * them, so two cores shared with the Redis processes are not saturated), plus sign-ins every
 * `signInEveryMs` whose statuses land under `sign-in`.
 */
export function startLoad(
  url: string,
  probes: Probe[],
  signIn: { username: string; password: string },
  gapMs = 5,
): Load {
  const start = Date.now();
  const now = () => Date.now() - start;
  const samples = new Map<string, Sample[]>(probes.map((p) => [p.name, []]));
  samples.set('sign-in', []);
  let running = true;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const loops = probes.map(async (probe) => {
    const list = samples.get(probe.name)!;
    while (running) {
      const sent = now();
      let status: number;
      try {
        const res = await fetch(`${url}/api/session`, { headers: { cookie: probe.cookie } });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = -1; // no HTTP answer at all: the server itself failed
      }
      list.push({ at: now(), status, took: now() - sent });
      await pause(gapMs);
    }
  });
  loops.push(
    (async () => {
      const list = samples.get('sign-in')!;
      while (running) {
        const sent = now();
        const login = await apiLogin(url, signIn.username, signIn.password).catch(() => ({ status: -1 }));
        list.push({ at: now(), status: login.status, took: now() - sent });
        await pause(100);
      }
    })(),
  );
  return {
    now,
    async stop() {
      running = false;
      await Promise.all(loops);
      return samples;
    },
    async answeredSince(since, n = 3) {
      const deadline = Date.now() + 30_000;
      // Sign-ins are slow (a password hash each): two of them are enough.
      const enough = (name: string, list: Sample[]) =>
        list.filter((s) => s.at > since).length >= (name === 'sign-in' ? Math.min(n, 2) : n);
      while ([...samples].some(([name, list]) => !enough(name, list))) {
        if (Date.now() > deadline) throw new Error('the load stopped getting answers');
        await pause(20);
      }
    },
  };
}

/** The distinct statuses of a list of samples, sorted. */
export const statuses = (list: Sample[]): number[] => [...new Set(list.map((s) => s.status))].sort();

/**
 * The outage a probe saw after `from`: from `from` to the first 200 after the last non-200
 * (0 if it never saw one), how many answers there were and how many were not 200, and the
 * slowest answer.
 */
export function outage(
  list: Sample[],
  from: number,
): { windowMs: number; answers: number; failures: number; slowestMs: number } {
  const after = list.filter((s) => s.at >= from);
  const failures = after.filter((s) => s.status !== 200);
  const slowestMs = Math.max(0, ...after.map((s) => s.took));
  if (failures.length === 0) return { windowMs: 0, answers: after.length, failures: 0, slowestMs };
  const lastFailure = failures[failures.length - 1]!.at;
  const recovered = after.find((s) => s.at > lastFailure && s.status === 200);
  return {
    windowMs: (recovered?.at ?? Number.POSITIVE_INFINITY) - from,
    answers: after.length,
    failures: failures.length,
    slowestMs,
  };
}

/**
 * `name=value` with the token's first character changed and the signature kept: well formed,
 * but the signature no longer matches, so the server must refuse it without asking the store.
 */
export function forge(cookie: string): string {
  const at = cookie.indexOf('=') + 1;
  return `${cookie.slice(0, at)}${cookie[at] === 'A' ? 'B' : 'A'}${cookie.slice(at + 1)}`;
}

/** The Redis key of the session behind a `name=token.signature` cookie (default prefix). */
export function sessionKey(cookie: string): string {
  const token = cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!;
  return `cloakroom:s:${createHash('sha256').update(token).digest('base64url')}`;
}
