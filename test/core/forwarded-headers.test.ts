import { describe, expect, test } from 'vitest';
import {
  firstForwarded,
  fromWebRequest,
  isSafeMethod,
  lastForwarded,
} from '../../packages/cloakroom/src/core/request.js';

const forwarded = {
  'x-forwarded-proto': 'https, http',
  'x-forwarded-host': 'App.Example.com, proxy.internal',
  'x-forwarded-for': '198.51.100.7, 203.0.113.9',
};

describe('forwarded headers: trusted only behind our own proxy', () => {
  test('without trustProxy, X-Forwarded-* change nothing: scheme from the URL, host from Host, ip from the peer', () => {
    const request = new Request('http://app.test/login', { headers: { host: 'app.test', ...forwarded } });
    expect(fromWebRequest(request, { remoteAddress: '10.0.0.2' })).toMatchObject({
      https: false,
      host: 'app.test',
      ip: '10.0.0.2',
    });
  });

  test("with trustProxy: the first proto and host (what the browser used), the last X-Forwarded-For entry (our proxy's peer)", () => {
    const request = new Request('http://127.0.0.1:3000/login', {
      headers: { host: '127.0.0.1:3000', ...forwarded },
    });
    expect(fromWebRequest(request, { trustProxy: true, remoteAddress: '10.0.0.2' })).toMatchObject({
      https: true,
      host: 'app.example.com',
      ip: '203.0.113.9',
    });
  });

  test('a client-sent first X-Forwarded-For entry never becomes the address (the per-IP throttle cannot be dodged)', () => {
    for (const claimed of ['1.2.3.4', '1.2.3.4, 5.6.7.8']) {
      const request = new Request('http://app.test/', {
        headers: { 'x-forwarded-for': `${claimed}, 203.0.113.9` },
      });
      expect(fromWebRequest(request, { trustProxy: true }).ip).toBe('203.0.113.9');
    }
  });

  test('trustProxy with no forwarding headers keeps what the connection says', () => {
    const request = new Request('https://app.test/', { headers: { host: 'app.test' } });
    expect(fromWebRequest(request, { trustProxy: true, remoteAddress: '10.0.0.2' })).toMatchObject({
      https: true,
      host: 'app.test',
      ip: '10.0.0.2',
    });
  });

  test('X-Forwarded-Proto: http from a trusted proxy downgrades an https URL; its case does not matter', () => {
    const down = new Request('https://app.test/', { headers: { 'x-forwarded-proto': 'http' } });
    expect(fromWebRequest(down, { trustProxy: true }).https).toBe(false);
    const up = new Request('http://app.test/', { headers: { 'x-forwarded-proto': 'HTTPS' } });
    expect(fromWebRequest(up, { trustProxy: true }).https).toBe(true);
  });

  test('empty forwarding entries are ignored, never taken as a host or an address', () => {
    expect(firstForwarded(' , b')).toBeNull();
    expect(firstForwarded('')).toBeNull();
    expect(firstForwarded(null)).toBeNull();
    expect(firstForwarded(' a , b')).toBe('a');
    expect(lastForwarded('a, ')).toBeNull();
    expect(lastForwarded(undefined)).toBeNull();
    expect(lastForwarded('a')).toBe('a');
    expect(lastForwarded('a,b , c ')).toBe('c');
  });

  test('without a Host header the host comes from the URL; a Host header is lower-cased; the method is upper-cased', () => {
    const fromUrl = fromWebRequest(new Request('http://app.test:8080/path?q=1', { method: 'patch' }));
    expect(fromUrl).toMatchObject({ method: 'PATCH', host: 'app.test:8080', https: false, ip: null });
    expect(fromWebRequest(new Request('http://app.test')).host).toBe('app.test');
    const mixed = new Request('http://app.test/', { headers: { host: 'App.Test' } });
    expect(fromWebRequest(mixed).host).toBe('app.test');
  });
});

describe('safe methods', () => {
  test('only GET, HEAD and OPTIONS are safe (never CSRF-checked); everything else, any case, is not', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(isSafeMethod(method), method).toBe(true);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'get', 'TRACE', 'CONNECT', 'PROPFIND', '']) {
      expect(isSafeMethod(method), method).toBe(false);
    }
  });
});
