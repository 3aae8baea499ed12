import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import {
  beginPasskeySignIn,
  createPasskeys,
  type PasskeysOptions,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { passkeyHarness } from './harness.js';

/*
 * The relying party is checked once, at start-up, with an error that names the option: passkeys
 * are scoped to the RP ID for good, and an origin that cannot match a browser's would refuse
 * every ceremony.
 */

const counters = createMemoryStore({ sweepIntervalMs: 0 }).counters;
const make = (options: Partial<PasskeysOptions>) =>
  createPasskeys({ origins: ['https://login.example.com'], counters, ...options } as PasskeysOptions);

function refused(options: Partial<PasskeysOptions>, option: string, text?: RegExp): void {
  let error: unknown;
  try {
    make(options);
  } catch (caught) {
    error = caught;
  }
  expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).option).toBe(option);
  if (text) expect((error as ConfigError).message).toMatch(text);
}

describe('createPasskeys', () => {
  test('defaults: the RP ID is the first origin’s host, name cloakroom, five minutes', () => {
    expect(make({})).toMatchObject({
      origins: ['https://login.example.com'],
      rpId: 'login.example.com',
      rpName: 'cloakroom',
      challengeMs: 300_000,
    });
    expect(
      make({
        origins: ['https://login.example.com', 'https://example.com:8443'],
        rpId: 'example.com',
        rpName: 'Acme',
        challengeTimeout: '2m',
      }),
    ).toMatchObject({ rpId: 'example.com', rpName: 'Acme', challengeMs: 120_000 });
    expect(make({ origins: ['http://localhost:3000'] }).rpId).toBe('localhost');
  });

  test('origins: https (http only for localhost), exactly an origin, no IP, at least one', () => {
    refused({ origins: [] }, 'origins', /at least one/);
    refused({ origins: undefined as unknown as string[] }, 'origins');
    refused({ origins: ['http://login.example.com'] }, 'origins', /https/);
    refused({ origins: ['https://login.example.com/'] }, 'origins', /exactly/);
    refused({ origins: ['https://login.example.com/app'] }, 'origins', /no path/);
    refused({ origins: ['https://Login.Example.com'] }, 'origins');
    refused({ origins: ['https://login.example.com:443'] }, 'origins');
    refused({ origins: ['login.example.com'] }, 'origins');
    refused({ origins: ['ftp://login.example.com'] }, 'origins');
    refused({ origins: ['https://192.0.2.7'] }, 'origins', /IP/);
    refused({ origins: ['https://[2001:db8::1]'] }, 'origins', /IP/);
    refused({ origins: [42 as unknown as string] }, 'origins');
  });

  test('rpId: a domain equal to or a parent of every origin’s host, never an IP or a top-level domain', () => {
    refused({ rpId: 'other.com' }, 'rpId', /parent domain/);
    refused({ rpId: 'xample.com' }, 'rpId', /parent domain/);
    refused({ origins: ['https://login.example.com', 'https://example.org'], rpId: 'example.com' }, 'rpId');
    refused({ rpId: 'com' }, 'rpId', /top-level/);
    refused({ rpId: '192.0.2.7' }, 'rpId');
    refused({ rpId: 'https://example.com' }, 'rpId');
    refused({ rpId: 'Example.com' }, 'rpId');
    refused({ rpId: '' }, 'rpId');
    refused({ origins: ['http://localhost:3000'], rpId: 'example.com' }, 'rpId');
  });

  test('rpName, counters, challengeTimeout', () => {
    refused({ rpName: '' }, 'rpName');
    refused({ rpName: 'x'.repeat(65) }, 'rpName');
    refused({ rpName: 'a\nb' }, 'rpName');
    refused({ counters: undefined as unknown as PasskeysOptions['counters'] }, 'counters');
    refused({ challengeTimeout: '11m' }, 'challengeTimeout');
    refused({ challengeTimeout: '5s' }, 'challengeTimeout');
    refused({ challengeTimeout: 'soon' }, 'challengeTimeout');
  });
});

describe('the use cases refuse to run half-configured', () => {
  test('without deps.passkeys, or without deps.secondFactor (which takes a first passkey’s recovery codes): a TypeError saying what to pass', async () => {
    const h = passkeyHarness('memory');
    try {
      const { passkeys, secondFactor, ...bare } = h.deps;
      if (!passkeys || !secondFactor) throw new Error('the harness gives both');
      await expect(beginPasskeySignIn(bare, h.post())).rejects.toThrow(/deps\.passkeys \(createPasskeys/);
      await expect(beginPasskeySignIn({ ...bare, passkeys }, h.post())).rejects.toThrow(
        /deps\.secondFactor as well \(createSecondFactor/,
      );
      expect((await beginPasskeySignIn({ ...bare, passkeys, secondFactor }, h.post())).ok).toBe(true);
    } finally {
      await h.close();
    }
  });
});
