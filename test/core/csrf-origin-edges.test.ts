import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { checkOrigin, normalizeTrustedOrigins, ownOrigin } from '../../packages/cloakroom/src/core/origin.js';
import { coreHarness, incoming } from '../support/core.js';

describe('CSRF origin gate: the edges', () => {
  test('Sec-Fetch-Site cross-site or same-site without any Origin header is still refused', () => {
    const trusted = normalizeTrustedOrigins(['https://partner.test']);
    expect(checkOrigin(incoming({ method: 'POST', site: 'cross-site' }), trusted)).toBe('cross-site');
    expect(checkOrigin(incoming({ method: 'POST', site: 'same-site' }), trusted)).toBe('same-site');
    expect(
      checkOrigin(incoming({ method: 'POST', site: 'cross-site', origin: 'https://partner.test' }), trusted),
    ).toBeNull();
  });

  test('an empty token is a missing token; a session needs its own token once the origin passes', async () => {
    const { sessions } = coreHarness();
    const { session, csrfToken } = await sessions.create(incoming(), { userId: 'alice' });
    const post = incoming({ method: 'POST', origin: 'http://app.test' });
    expect(sessions.checkCsrf(post, session, '')).toBe('missing-token');
    expect(sessions.checkCsrf(post, session, null)).toBe('missing-token');
    expect(sessions.checkCsrf(post, session, csrfToken)).toBeNull();
  });

  test('own origin follows the scheme the request arrived with; no host, no own origin', () => {
    expect(ownOrigin(incoming({ https: true, host: 'app.test:8443' }))).toBe('https://app.test:8443');
    expect(ownOrigin(incoming({ https: false }))).toBe('http://app.test');
    expect(ownOrigin({ ...incoming({ method: 'POST' }), host: null })).toBeNull();
    const noHost = { ...incoming({ method: 'POST', origin: 'http://null' }), host: null };
    expect(checkOrigin(noHost, new Set())).toBe('foreign-origin');
  });

  test('trusted origins: trimmed, blanks skipped, a trailing slash tolerated; anything but an exact http(s) origin refused', () => {
    expect([...normalizeTrustedOrigins(['  https://a.test  ', '', '   ', 'http://b.test:8080/'])]).toEqual([
      'https://a.test',
      'http://b.test:8080',
    ]);
    for (const bad of [
      'ftp://a.test',
      'ws://a.test',
      'not a url',
      'a.test',
      'https://a.test/path',
      'https://*.a.test',
    ]) {
      let thrown: unknown;
      try {
        normalizeTrustedOrigins([bad], 'csrf.trustedOrigins');
      } catch (error) {
        thrown = error;
      }
      expect(thrown, bad).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).option, bad).toBe('csrf.trustedOrigins');
    }
  });
});
