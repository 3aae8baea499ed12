import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterEach, describe, expect, test } from 'vitest';
import { createExpressAuth } from '../../../packages/cloakroom/src/adapters/express/index.js';
import {
  cloakroomPlugin,
  requireRecentAuth as fastifyRequireRecentAuth,
} from '../../../packages/cloakroom/src/adapters/fastify/index.js';
import { type CloakroomEnv, createHonoAuth } from '../../../packages/cloakroom/src/adapters/hono/index.js';
import { createNodeAuth } from '../../../packages/cloakroom/src/adapters/node/index.js';
import type { Refusal } from '../../../packages/cloakroom/src/adapters/shared/refusal.js';
import { manualClock } from '../../../packages/cloakroom/src/core/clock.js';
import type { Duration } from '../../../packages/cloakroom/src/core/duration.js';
import { ConfigError } from '../../../packages/cloakroom/src/core/errors.js';
import { createSessions } from '../../../packages/cloakroom/src/core/sessions.js';
import { createMemoryStore } from '../../../packages/cloakroom/src/stores/memory/index.js';
import { overHttp } from '../../support/adapter-harness.js';
import { cookiePair, incoming, SECRET_A } from '../../support/core.js';

// What the behaviour suite (test/adapters/behaviour.ts) cannot show over its one app: a bad
// maxAge stops the app where the guard is made, and a custom onRefused gets the refusal.

const clock = manualClock();
const sessions = createSessions({
  secrets: [SECRET_A],
  store: createMemoryStore({ clock, sweepIntervalMs: 0 }),
  clock,
});

/** Each adapter's guard factory, made without a request. */
const makers: Record<string, (maxAge: Duration) => unknown> = {
  hono: (maxAge) => createHonoAuth({ sessions }).requireRecentAuth(maxAge),
  express: (maxAge) => createExpressAuth({ sessions }).requireRecentAuth(maxAge),
  fastify: (maxAge) => fastifyRequireRecentAuth(maxAge),
  node: (maxAge) => createNodeAuth({ sessions }).requireRecentAuth(maxAge),
};

describe('requireRecentAuth(maxAge): the window is parsed once, where the guard is made', () => {
  test.each(Object.entries(makers))('%s: a bad maxAge throws ConfigError naming it', (_name, make) => {
    for (const bad of ['5x', '', '-5m', '1.5m', 0, -60, Number.NaN, '401d', {} as Duration]) {
      let error: unknown;
      try {
        make(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error, String(bad)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('requireRecentAuth(maxAge)');
    }
  });

  test.each(Object.entries(makers))('%s: durations and seconds are accepted', (_name, make) => {
    for (const good of ['90s', '5m', '1h', '300', 300, 0.5]) expect(() => make(good)).not.toThrow();
  });
});

describe('onRefused gets the reauth_required refusal with the window the guard applied', () => {
  const close: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await Promise.all(close.splice(0).map((f) => f()));
  });

  /** A session whose last proof is two minutes old, as the cookie a browser sends back. */
  async function staleCookie(): Promise<string> {
    const { setCookie } = await sessions.create(incoming(), { userId: 'u1', methods: ['pwd'] });
    clock.advance(120_000);
    return cookiePair(setCookie[0]);
  }
  const expected: Refusal = { status: 403, error: 'reauth_required', maxAgeMs: 60_000 };
  const answer = (refusal: Refusal) => ({ seen: refusal });

  test('hono', async () => {
    const auth = createHonoAuth({ sessions, onRefused: (c, r) => c.json(answer(r), 418) });
    const app = new Hono<CloakroomEnv>();
    app.use(auth.middleware);
    app.get('/recent', auth.requireRecentAuth('1m'), (c) => c.text('ok'));
    const res = await app.request('/recent', { headers: { cookie: await staleCookie() } });
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual(answer(expected));
  });

  test('express', async () => {
    const auth = createExpressAuth({
      sessions,
      onRefused: (_req, res, r) => void res.status(418).json(answer(r)),
    });
    const app = express();
    app.use(auth.middleware);
    app.get('/recent', auth.requireRecentAuth(60), (_req, res) => void res.send('ok'));
    const http = await overHttp(createServer(app));
    close.push(http.close);
    const res = await http.send('/recent', { headers: { host: 'app.test', cookie: await staleCookie() } });
    expect(res.status).toBe(418);
    expect(res.json()).toEqual(answer(expected));
  });

  test('fastify', async () => {
    const app = Fastify();
    close.push(() => app.close());
    await app.register(cloakroomPlugin, {
      sessions,
      onRefused: (_request, reply, r) => reply.code(418).send(answer(r)),
    });
    app.get('/recent', { preHandler: fastifyRequireRecentAuth('60s') }, async () => 'ok');
    const res = await app.inject({ url: '/recent', headers: { cookie: await staleCookie() } });
    expect(res.statusCode).toBe(418);
    expect(res.json()).toEqual(answer(expected));
  });
});
