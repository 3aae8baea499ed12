import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { CookieJar } from './server.js';

/*
 * A protocol-level DBSC browser for the tests: a device key made with node:crypto, the real
 * headers and JWS of the W3C dbsc-1 draft, over real HTTP. It does what a browser does and
 * nothing more, so each test can also do what an attacker does (skip a step, replay, forge).
 */

export type Alg = 'ES256' | 'RS256';

/** A key pair standing in for the device's secure hardware. */
export class DbscDevice {
  readonly alg: Alg;
  readonly #privateKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;

  constructor(alg: Alg = 'ES256', rsaBits = 2048) {
    this.alg = alg;
    const pair =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: rsaBits });
    this.#privateKey = pair.privateKey;
    this.publicJwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  }

  /** A compact JWS over any header and payload, signed by this device. */
  sign(header: Record<string, unknown>, payload: Record<string, unknown>): string {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${enc(header)}.${enc(payload)}`;
    const signature =
      this.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: this.#privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(input), this.#privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }

  /** The registration proof: the public key in the header, the challenge as `jti`. */
  registrationProof(challenge: string, extra: Record<string, unknown> = {}): string {
    return this.sign({ typ: 'dbsc+jwt', alg: this.alg, jwk: this.publicJwk }, { jti: challenge, ...extra });
  }

  /** A refresh proof: no key (the server has it), the challenge as `jti`. */
  refreshProof(challenge: string, extra: Record<string, unknown> = {}): string {
    return this.sign({ typ: 'dbsc+jwt', alg: this.alg }, { jti: challenge, ...extra });
  }
}

/** The parts of a `Secure-Session-Registration` header (one entry). */
export interface RegistrationOffer {
  algorithms: string[];
  path: string;
  challenge: string;
}

export function parseRegistration(value: string | null): RegistrationOffer | null {
  if (!value) return null;
  const match = /^\(([^)]*)\)((?:;[a-z_]+="[^"]*")*)$/.exec(value.trim());
  if (!match) return null;
  const params = Object.fromEntries(
    [...match[2]!.matchAll(/;([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  if (!params.path || !params.challenge) return null;
  return { algorithms: match[1]!.split(' ').filter(Boolean), path: params.path, challenge: params.challenge };
}

/** The challenge and session id of a `Secure-Session-Challenge` header. */
export function parseChallenge(value: string | null): { challenge: string; id: string } | null {
  const match = value ? /^"([^"]+)";id="([^"]+)"$/.exec(value.trim()) : null;
  return match ? { challenge: match[1]!, id: match[2]! } : null;
}

/** What the browser needs to send a request: a path and headers; it adds its cookies. */
export type Send = (
  path: string,
  init: { method: string; headers: Record<string, string> },
) => Promise<Response>;

/** A DBSC-capable browser: a cookie jar, a device, and the session config the server gave. */
export class DbscBrowser {
  readonly jar: CookieJar;
  readonly device: DbscDevice;
  readonly #send: Send;
  /** From the registration answer. */
  sessionId: string | null = null;
  refreshUrl: string | null = null;
  /** The last `Secure-Session-Challenge` seen for this session. */
  cachedChallenge: string | null = null;
  instructions: Record<string, unknown> | null = null;

  constructor(send: Send, options: { jar?: CookieJar; device?: DbscDevice } = {}) {
    this.#send = send;
    this.jar = options.jar ?? new CookieJar();
    this.device = options.device ?? new DbscDevice();
  }

  /** Sends with the jar's cookies and absorbs what comes back (cookies, a challenge). */
  async request(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Response> {
    const cookie = this.jar.header();
    const response = await this.#send(path, {
      method,
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
    });
    this.jar.absorb(response);
    const challenge = parseChallenge(response.headers.get('secure-session-challenge'));
    if (challenge && (this.sessionId === null || challenge.id === this.sessionId))
      this.cachedChallenge = challenge.challenge;
    return response;
  }

  /** Answers a sign-in response's registration offer, as the browser does. */
  async register(signIn: Response, extra: Record<string, unknown> = {}): Promise<Response> {
    const offer = parseRegistration(signIn.headers.get('secure-session-registration'));
    if (!offer) throw new Error('the answer offers no DBSC registration');
    const response = await this.request(offer.path, 'POST', {
      'secure-session-response': `"${this.device.registrationProof(offer.challenge, extra)}"`,
    });
    if (response.status === 200) {
      this.instructions = (await response.clone().json()) as Record<string, unknown>;
      this.sessionId = this.instructions.session_identifier as string;
      this.refreshUrl = this.instructions.refresh_url as string;
    }
    return response;
  }

  /**
   * The refresh a browser makes when the bound cookie is missing: with the cached challenge if it
   * has one, else without a proof first; a 403 with a challenge is answered once more.
   */
  async refresh(): Promise<Response> {
    if (!this.sessionId || !this.refreshUrl) throw new Error('not registered');
    const headers = () => ({
      'sec-secure-session-id': `"${this.sessionId}"`,
      ...(this.cachedChallenge
        ? { 'secure-session-response': `"${this.device.refreshProof(this.cachedChallenge)}"` }
        : {}),
    });
    const first = await this.request(this.refreshUrl, 'POST', headers());
    if (first.status !== 403 || !this.cachedChallenge) return first;
    return this.request(this.refreshUrl, 'POST', headers());
  }

  /** The bound cookie's name=value, if the jar has one. */
  boundCookie(): string | null {
    for (const [name, value] of this.jar.cookies) if (/-bound$/.test(name)) return `${name}=${value}`;
    return null;
  }

  /** Drops the bound cookie (it expired in the browser). */
  expireBoundCookie(): void {
    for (const name of [...this.jar.cookies.keys()]) if (/-bound$/.test(name)) this.jar.cookies.delete(name);
  }
}
