import { describe, expect, test } from 'vitest';
import {
  loginCsrfRefusal,
  needsLoginToken,
} from '../../../packages/cloakroom/src/adapters/shared/login-csrf.js';
import { cookiePair, coreHarness, incoming } from '../../support/core.js';

describe('which sign-in bodies need the login token', () => {
  test('JSON (charset or not) meets only the origin gate: no page can post it without a preflight', () => {
    expect(needsLoginToken('application/json')).toBe(false);
    expect(needsLoginToken('Application/JSON; charset=utf-8')).toBe(false);
  });

  test('whatever a foreign form or beacon can send, or anything unusual, needs the token', () => {
    for (const type of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain',
      'application/json, text/plain',
      '',
      null,
      undefined,
    ]) {
      expect(needsLoginToken(type), String(type)).toBe(true);
    }
  });
});

describe('loginCsrfRefusal', () => {
  const { sessions } = coreHarness();
  const post = (spec: Parameters<typeof incoming>[0], type: string) => {
    const request = incoming({ method: 'POST', ...spec });
    (request.headers as Headers).set('content-type', type);
    return request;
  };

  test('the origin gate comes first, even for JSON and even with a valid login token', () => {
    const page = sessions.issueLoginToken(incoming());
    const cookie = cookiePair(page.setCookie[0]);
    const foreign = { cookie, origin: 'https://evil.test', site: 'cross-site' };
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      expect(loginCsrfRefusal(sessions, post(foreign, type), page.token)).toMatchObject({
        status: 403,
        error: 'csrf',
        reason: 'cross-site',
      });
    }
  });

  test('a form needs a token that matches its nonce cookie', () => {
    const page = sessions.issueLoginToken(incoming());
    const cookie = cookiePair(page.setCookie[0]);
    const type = 'application/x-www-form-urlencoded';
    expect(loginCsrfRefusal(sessions, post({ cookie }, type), null)?.reason).toBe('missing-token');
    expect(loginCsrfRefusal(sessions, post({}, type), page.token)?.reason).toBe('bad-token');
    expect(loginCsrfRefusal(sessions, post({ cookie }, type), page.token)).toBeNull();
  });

  test('safe methods pass', () => {
    expect(loginCsrfRefusal(sessions, incoming({ origin: 'https://evil.test' }), null)).toBeNull();
  });
});
