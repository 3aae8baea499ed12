import { describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { createSessions, type Sessions } from '../../packages/cloakroom/src/core/sessions.js';
import type { SessionStore } from '../../packages/cloakroom/src/core/store.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { incoming, SECRET_A } from '../support/core.js';
import { DbscDevice, parseChallenge, parseRegistration } from '../support/dbsc-client.js';

// Races at the exact point that matters: a store whose `bind` waits on a promise the test holds,
// so one request is paused between reading the binding and its compare-and-set while another
// runs to the end.

interface Gate {
  /** Resolves when a paused bind() has been called. */
  reached: Promise<void>;
  release(): void;
}

function pausingStore(clock: ManualClock): { store: SessionStore; pauseNextBind(): Gate } {
  const base = createMemoryStore({ clock, sweepIntervalMs: 0 }) as SessionStore;
  let gate: { reached: () => void; wait: Promise<void> } | null = null;
  const store: SessionStore = {
    ...base,
    get: (id) => base.get(id),
    create: (r) => base.create(r),
    delete: (id) => base.delete(id),
    async bind(id, expected, next) {
      const g = gate;
      gate = null;
      if (g) {
        g.reached();
        await g.wait;
      }
      return base.bind!(id, expected, next);
    },
  };
  return {
    store,
    pauseNextBind() {
      let reached!: () => void;
      let release!: () => void;
      const r = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const wait = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { reached, wait };
      return { reached: r, release };
    },
  };
}

const cookieOf = (setCookie: string[], name: RegExp) => {
  const line = setCookie.find((l) => name.test(l.split('=')[0]!));
  return line ? line.split(';')[0]! : null;
};

async function bound(sessions: Sessions) {
  const issued = await sessions.create(incoming(), { userId: 'u1' });
  const session = cookieOf(issued.setCookie, /^cloakroom$/)!;
  const offer = parseRegistration(issued.headers?.['Secure-Session-Registration'] ?? null)!;
  const device = new DbscDevice();
  const req = incoming({ method: 'POST', cookie: session });
  (req.headers as Headers).set('secure-session-response', `"${device.registrationProof(offer.challenge)}"`);
  const answer = await sessions.dbsc!.register(req);
  expect(answer.status).toBe(200);
  const challenge = parseChallenge(answer.headers['Secure-Session-Challenge'] ?? null)!;
  return { session, device, id: challenge.id, challenge: challenge.challenge };
}

function refreshRequest(session: string, id: string, proof?: string) {
  const req = incoming({ method: 'POST', cookie: session });
  (req.headers as Headers).set('sec-secure-session-id', `"${id}"`);
  if (proof) (req.headers as Headers).set('secure-session-response', `"${proof}"`);
  return req;
}

describe('DBSC races, forced', () => {
  test('two refreshes with one proof: the one paused before its compare-and-set loses and is challenged with the winner’s next challenge', async () => {
    const clock = manualClock();
    const { store, pauseNextBind } = pausingStore(clock);
    const sessions = createSessions({ secrets: [SECRET_A], store, clock, dbsc: true });
    const b = await bound(sessions);
    const proof = b.device.refreshProof(b.challenge);
    const gate = pauseNextBind();
    const slow = sessions.dbsc!.refresh(refreshRequest(b.session, b.id, proof));
    await gate.reached;
    const fast = await sessions.dbsc!.refresh(refreshRequest(b.session, b.id, proof));
    expect(fast.status).toBe(200);
    gate.release();
    const lost = await slow;
    expect(lost.status).toBe(403);
    expect(lost.setCookie).toEqual([]);
    expect(parseChallenge(lost.headers['Secure-Session-Challenge'] ?? null)?.challenge).toBe(
      parseChallenge(fast.headers['Secure-Session-Challenge'] ?? null)?.challenge,
    );
  });

  test('a session signed out while its refresh waits at the compare-and-set: the refresh ends the device session, no bound cookie, no 503', async () => {
    const clock = manualClock();
    const { store, pauseNextBind } = pausingStore(clock);
    const sessions = createSessions({ secrets: [SECRET_A], store, clock, dbsc: true });
    const b = await bound(sessions);
    const gate = pauseNextBind();
    const slow = sessions.dbsc!.refresh(refreshRequest(b.session, b.id, b.device.refreshProof(b.challenge)));
    await gate.reached;
    await sessions.destroy(incoming({ method: 'POST', cookie: b.session }));
    gate.release();
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body!)).toEqual({ session_identifier: b.id, continue: false });
    expect(answer.setCookie).toHaveLength(1);
    expect(answer.setCookie[0]).toMatch(/^cloakroom-bound=; .*Max-Age=0/);
  });

  test('a proofless refresh whose challenge write loses hands out the challenge the other request wrote', async () => {
    const clock = manualClock();
    const { store, pauseNextBind } = pausingStore(clock);
    const sessions = createSessions({ secrets: [SECRET_A], store, clock, dbsc: true });
    const b = await bound(sessions);
    // Past half the challenge's life: a proofless refresh writes a new one.
    clock.advance(3 * 60_000);
    const gate = pauseNextBind();
    const slow = sessions.dbsc!.refresh(refreshRequest(b.session, b.id));
    await gate.reached;
    const fast = await sessions.dbsc!.refresh(refreshRequest(b.session, b.id));
    gate.release();
    const late = await slow;
    expect([fast.status, late.status]).toEqual([403, 403]);
    const a = parseChallenge(fast.headers['Secure-Session-Challenge'] ?? null)!.challenge;
    expect(parseChallenge(late.headers['Secure-Session-Challenge'] ?? null)!.challenge).toBe(a);
    expect(a).not.toBe(b.challenge);
    // That challenge is the live one: a proof over it is accepted.
    expect(
      (await sessions.dbsc!.refresh(refreshRequest(b.session, b.id, b.device.refreshProof(a)))).status,
    ).toBe(200);
  });

  test('two registrations of one session with one challenge: exactly one binds', async () => {
    const clock = manualClock();
    const { store, pauseNextBind } = pausingStore(clock);
    const sessions = createSessions({ secrets: [SECRET_A], store, clock, dbsc: true });
    const issued = await sessions.create(incoming(), { userId: 'u1' });
    const session = cookieOf(issued.setCookie, /^cloakroom$/)!;
    const offer = parseRegistration(issued.headers?.['Secure-Session-Registration'] ?? null)!;
    const register = (device: DbscDevice) => {
      const req = incoming({ method: 'POST', cookie: session });
      (req.headers as Headers).set(
        'secure-session-response',
        `"${device.registrationProof(offer.challenge)}"`,
      );
      return sessions.dbsc!.register(req);
    };
    const gate = pauseNextBind();
    const slow = register(new DbscDevice());
    await gate.reached;
    const fast = await register(new DbscDevice());
    gate.release();
    const late = await slow;
    expect([fast.status, late.status]).toEqual([200, 400]);
    expect(late.event).toMatchObject({ type: 'refused', reason: 'already-bound' });
  });
});
