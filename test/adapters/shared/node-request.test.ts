import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, test } from 'vitest';
import { nodeHeaders } from '../../../packages/cloakroom/src/adapters/shared/node-request.js';

describe('headers of a node:http request', () => {
  test('a Cookie list left unjoined is joined as cookie crumbs are (RFC 9113 §8.2.3), like a Web Headers', () => {
    // Node's own parser always joins Cookie (its type says so); a list comes from elsewhere.
    const raw = { cookie: ['theme=dark', 'cloakroom=abc'], 'x-many': ['a', 'b'] };
    const headers = nodeHeaders(raw as unknown as IncomingHttpHeaders);
    expect(headers.get('Cookie')).toBe('theme=dark; cloakroom=abc');
    expect(headers.get('cookie')).toBe(
      new Headers([
        ['cookie', 'theme=dark'],
        ['cookie', 'cloakroom=abc'],
      ]).get('cookie'),
    );
    expect(headers.get('x-many')).toBe('a, b');
    expect(headers.get('absent')).toBeNull();
  });
});
