import { describe, expect, test } from 'vitest';
import {
  appendSetCookie,
  mergeSetCookie,
} from '../../../packages/cloakroom/src/adapters/shared/set-cookie.js';

describe('Set-Cookie merging: the last value per cookie name wins', () => {
  test('an earlier value of the same name is dropped, other cookies stay in order', () => {
    const before = ['theme=dark; Path=/', 'cloakroom=; Path=/; Max-Age=0', 'lang=en'];
    expect(mergeSetCookie(before, ['cloakroom=new.sig; Path=/; HttpOnly'])).toEqual([
      'theme=dark; Path=/',
      'lang=en',
      'cloakroom=new.sig; Path=/; HttpOnly',
    ]);
  });

  test('a single string or nothing is accepted as what getHeader returns', () => {
    expect(mergeSetCookie('a=1', ['b=2'])).toEqual(['a=1', 'b=2']);
    expect(mergeSetCookie(undefined, ['b=2', 'b=3'])).toEqual(['b=3']);
  });

  test('appendSetCookie sets no-store only when it adds a cookie', () => {
    const headers = new Map<string, string | string[]>();
    const res = {
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      setHeader: (name: string, value: string | string[]) => headers.set(name.toLowerCase(), value),
    };
    appendSetCookie(res, []);
    expect(headers.size).toBe(0);
    appendSetCookie(res, ['cloakroom=x; Path=/']);
    appendSetCookie(res, ['cloakroom=y; Path=/']);
    expect(headers.get('set-cookie')).toEqual(['cloakroom=y; Path=/']);
    expect(headers.get('cache-control')).toBe('no-store');
  });
});
