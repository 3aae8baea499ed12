import { describe, expect, test } from 'vitest';
import { createKeyring } from '../../packages/cloakroom/src/core/keyring.js';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import { signToken } from '../../packages/cloakroom/src/core/token.js';
import { cookieValueOf, coreHarness, flip, incoming, SECRET_A } from '../support/core.js';

describe('tampered and forged cookies', () => {
  test('every tampered form is rejected without a single store lookup', async () => {
    const { sessions, calls } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const good = cookieValueOf(issued.setCookie[0]);
    const [token, signature] = good.split('.') as [string, string];
    const other = cookieValueOf((await sessions.create(incoming(), { userId: 'bob' })).setCookie[0]);
    const variants: Array<[string, string]> = [
      ['flipped signature char', `${token}.${flip(signature, 5)}`],
      ['flipped token char', `${flip(token, 5)}.${signature}`],
      ['signature dropped', token],
      ['signature dropped, dot kept', `${token}.`],
      ['extra segment', `${good}.x`],
      ['case changed', good.toUpperCase()],
      [
        'percent-encoded first character',
        `%${good.charCodeAt(0).toString(16).toUpperCase()}${good.slice(1)}`,
      ],
      ['signature transplanted from another session', `${token}.${other.split('.')[1]}`],
      [
        'non-canonical base64 in the last signature character',
        `${token}.${signature.slice(0, -1)}${String.fromCharCode(signature.charCodeAt(42) ^ 1)}`,
      ],
      ['empty value', ''],
    ];
    const lookupsBefore = calls.get ?? 0;
    for (const [label, value] of variants) {
      const result = await sessions.validate(incoming({ cookie: `cloakroom=${value}` }));
      expect(result.session, label).toBeNull();
      expect(['malformed', 'bad-signature'], label).toContain(result.reason);
    }
    expect(calls.get ?? 0).toBe(lookupsBefore);
  });

  test('a cookie signed with a key not in the keyring is a bad signature', async () => {
    const { sessions: stranger } = coreHarness({
      secrets: [`${'Z'.repeat(10)}q9vRk2LmXn4TjWs8Yb1Pc6Hd0Fg3Ue7Aw5Ko`],
    });
    const forged = await stranger.create(incoming(), { userId: 'alice' });
    const { sessions, calls } = coreHarness();
    const result = await sessions.validate(
      incoming({ cookie: `cloakroom=${cookieValueOf(forged.setCookie[0])}` }),
    );
    expect(result.reason).toBe('bad-signature');
    expect(calls.get ?? 0).toBe(0);
  });

  test('a correctly signed but unknown token reaches the store once and is not-found', async () => {
    const { sessions, calls, store } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    await store.deleteByUser('alice');
    const result = await sessions.validate(
      incoming({ cookie: `cloakroom=${cookieValueOf(issued.setCookie[0])}` }),
    );
    expect(result.reason).toBe('not-found');
    expect(calls.get).toBe(1);
    expect(result.setCookie[0]).toMatch(/^cloakroom=; .*Max-Age=0/);
  });

  test('the store never holds the token, only its SHA-256', async () => {
    const { sessions, store } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const token = cookieValueOf(issued.setCookie[0]).split('.')[0]!;
    const [record] = await store.listByUser('alice', Date.UTC(2026, 0, 1));
    expect(JSON.stringify(record)).not.toContain(token);
    expect(record!.id).toHaveLength(43);
    // A cookie built from what the store holds is worthless — even to a thief who has the
    // keyring too and signs the stored id properly: the core hashes what it is given, and the
    // hash of the stored id names no session.
    const keyring = createKeyring([SECRET_A], nodeCrypto);
    const signedFromDump = signToken(record!.id, keyring, nodeCrypto);
    const fromDump = await sessions.validate(incoming({ cookie: `cloakroom=${signedFromDump}` }));
    expect(fromDump).toMatchObject({ session: null, reason: 'not-found' });
    // (The genuine cookie, for contrast, is signed the same way and works.)
    expect(
      (await sessions.validate(incoming({ cookie: `cloakroom=${signToken(token, keyring, nodeCrypto)}` })))
        .session,
    ).not.toBeNull();
  });

  test('the public session id is not the token and cannot be used as a cookie', async () => {
    const { sessions } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const value = cookieValueOf(issued.setCookie[0]);
    expect(value).not.toContain(issued.session.id);
    const result = await sessions.validate(incoming({ cookie: `cloakroom=${issued.session.id}` }));
    expect(result.session).toBeNull();
  });
});
