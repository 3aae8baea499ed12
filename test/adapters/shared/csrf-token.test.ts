import { describe, expect, test } from 'vitest';
import { submittedToken } from '../../../packages/cloakroom/src/adapters/shared/csrf-token.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const headers = (h: Record<string, string>) => new Headers(h);

describe('where a CSRF token may come from', () => {
  test('the X-CSRF-Token header wins over the body', () => {
    expect(submittedToken(headers({ ...form, 'x-csrf-token': 'h' }), { _csrf: 'b' })).toBe('h');
  });

  test('_csrf of a parsed form: a plain object, URLSearchParams, or a multipart field object', () => {
    expect(submittedToken(headers(form), { _csrf: 't' })).toBe('t');
    expect(submittedToken(headers(form), new URLSearchParams('_csrf=t'))).toBe('t');
    const multipart = headers({ 'content-type': 'multipart/form-data; boundary=x' });
    expect(submittedToken(multipart, { _csrf: { value: 't', fieldname: '_csrf' } })).toBe('t');
  });

  test('never from a JSON or text body, a repeated field, or a body nobody parsed', () => {
    expect(submittedToken(headers({ 'content-type': 'application/json' }), { _csrf: 't' })).toBeNull();
    expect(submittedToken(headers({ 'content-type': 'text/plain' }), '_csrf=t')).toBeNull();
    expect(submittedToken(headers(form), { _csrf: ['t', 'u'] })).toBeNull();
    expect(submittedToken(headers(form), undefined)).toBeNull();
  });

  test('a field sent twice is no token in URLSearchParams or FormData either, whichever value is first', () => {
    expect(submittedToken(headers(form), new URLSearchParams('_csrf=t&_csrf=u'))).toBeNull();
    expect(submittedToken(headers(form), new URLSearchParams('_csrf=t&_csrf=t'))).toBeNull();
    const data = new FormData();
    data.append('_csrf', 't');
    expect(submittedToken(headers(form), data)).toBe('t');
    data.append('_csrf', 'u');
    expect(submittedToken(headers(form), data)).toBeNull();
    const file = new FormData();
    file.append('_csrf', new Blob(['t']));
    expect(submittedToken(headers(form), file)).toBeNull();
  });
});
