import { describe, expect, test } from 'vitest';
import {
  createCookiePolicy,
  findCookie,
  MAX_COOKIE_BYTES,
  serializeCookie,
} from '../../packages/cloakroom/src/core/cookie.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';

describe('reading the Cookie header: exactly one cookie of exactly this name', () => {
  test('no header, an empty header, or no pair of that name is missing', () => {
    for (const header of [undefined, null, '', 'other=1', 'cloakroom', 'cloakroom!', 'cloakroom;', ';;;']) {
      expect(findCookie(header, 'cloakroom'), String(header)).toEqual({ missing: true });
    }
  });

  test('names match exactly and case-sensitively: prefixes, suffixes and other cases are other cookies', () => {
    const header = 'xcloakroom=1; cloakroom2=2; Cloakroom=3; cloak=4; cloakroom-login=5';
    expect(findCookie(header, 'cloakroom')).toEqual({ missing: true });
    expect(findCookie(`${header}; cloakroom=ok`, 'cloakroom')).toEqual({ value: 'ok' });
  });

  test('whitespace around names and values is not part of them; "=" inside a value is', () => {
    expect(findCookie('a=1;   cloakroom =  v.w  ; b=2', 'cloakroom')).toEqual({ value: 'v.w' });
    expect(findCookie('cloakroom=a=b', 'cloakroom')).toEqual({ value: 'a=b' });
    expect(findCookie('cloakroom=', 'cloakroom')).toEqual({ value: '' });
    expect(findCookie('first=1;cloakroom=last', 'cloakroom')).toEqual({ value: 'last' });
  });

  test('a second cookie of the name is a duplicate, wherever it stands, even with the same value', () => {
    for (const header of [
      'cloakroom=a; cloakroom=b',
      'cloakroom=a; x=1; cloakroom=a',
      'x=1;cloakroom=;cloakroom=b',
    ]) {
      expect(findCookie(header, 'cloakroom'), header).toEqual({ duplicate: true });
    }
  });
});

describe('writing Set-Cookie', () => {
  const variant = { name: 'cloakroom', attributes: '; Path=/; HttpOnly; SameSite=Lax' };

  test('no Max-Age is a browser-session cookie; a positive one is whole seconds, rounded down', () => {
    expect(serializeCookie(variant, 'v')).toBe('cloakroom=v; Path=/; HttpOnly; SameSite=Lax');
    expect(serializeCookie(variant, 'v', 7200.9)).toBe(
      'cloakroom=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=7200',
    );
    expect(serializeCookie(variant, 'v', 1)).toBe('cloakroom=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=1');
  });

  test('Max-Age 0 or below clears the cookie: empty value, Max-Age=0 and an Expires in the past', () => {
    for (const maxAge of [0, -1]) {
      expect(serializeCookie(variant, 'v', maxAge)).toBe(
        'cloakroom=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      );
    }
  });

  test(`name plus value of exactly ${MAX_COOKIE_BYTES} bytes is written; one more throws`, () => {
    const fits = 'v'.repeat(MAX_COOKIE_BYTES - variant.name.length);
    expect(serializeCookie(variant, fits)).toContain(`cloakroom=${fits};`);
    expect(() => serializeCookie(variant, `${fits}v`)).toThrow(RangeError);
    expect(() => serializeCookie({ ...variant, name: 'n'.repeat(MAX_COOKIE_BYTES) }, 'v')).toThrow(
      RangeError,
    );
  });
});

describe('cookie policy: names and attributes settled at start-up', () => {
  const refused = (options: Parameters<typeof createCookiePolicy>[0], ...rest: [string?, number?]) => {
    try {
      createCookiePolicy(options, ...rest);
    } catch (error) {
      return error instanceof ConfigError ? error.option : 'other error';
    }
    return null;
  };

  test('any RFC 9110 token is a name; anything else, or a name that brings its own prefix, is refused', () => {
    for (const name of ["!#$%&'*+-.^_`|~", 'a', 'Z9', 'my__host-x', 'x__Secure-y']) {
      expect(refused({ name }), name).toBeNull();
    }
    for (const name of [
      '',
      'a b',
      'a;b',
      'a=b',
      'a,b',
      '"a"',
      'é',
      'a\n',
      '__Host-x',
      '__host-x',
      '__SECURE-x',
    ]) {
      expect(refused({ name }), JSON.stringify(name)).toBe('cookie.name');
    }
    expect(refused({ name: 'a b' }, 'login')).toBe('login.name');
  });

  test('the name limit is inclusive and can be raised for derived names', () => {
    expect(refused({ name: 'a'.repeat(64) })).toBeNull();
    expect(refused({ name: 'a'.repeat(65) })).toBe('cookie.name');
    expect(refused({ name: 'a'.repeat(70) }, 'cookie', 70)).toBeNull();
    expect(refused({ name: 'a'.repeat(71) }, 'cookie', 70)).toBe('cookie.name');
  });

  test('SameSite is lax or strict, spelled exactly; secure is true, false or "auto"', () => {
    for (const sameSite of ['none', 'Lax', '', 'STRICT']) {
      expect(refused({ sameSite: sameSite as 'lax' }), sameSite).toBe('cookie.sameSite');
    }
    for (const secure of ['yes', 'true', 1]) {
      expect(refused({ secure: secure as unknown as boolean }), String(secure)).toBe('cookie.secure');
    }
    for (const secure of [true, false, 'auto'] as const)
      expect(refused({ secure }), String(secure)).toBeNull();
  });

  test('secure: "auto" follows the request; true is always __Host- and Secure; false never is', () => {
    const plain = { name: 'cloakroom', attributes: '; Path=/; HttpOnly; SameSite=Strict' };
    const hardened = { name: '__Host-cloakroom', attributes: '; Path=/; HttpOnly; SameSite=Strict; Secure' };
    const auto = createCookiePolicy({ sameSite: 'strict' });
    expect([auto.variant(false), auto.variant(true)]).toEqual([plain, hardened]);
    const always = createCookiePolicy({ sameSite: 'strict', secure: true });
    expect([always.variant(false), always.variant(true)]).toEqual([hardened, hardened]);
    const never = createCookiePolicy({ sameSite: 'strict', secure: false });
    expect([never.variant(false), never.variant(true)]).toEqual([plain, plain]);
  });
});
