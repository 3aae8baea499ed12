/**
 * A WebAuthn authenticator in software, for tests that speak the protocol from Node: it makes
 * the JSON a browser's `credential.toJSON()` would send (attestation `none`, ES256 keys from
 * `node:crypto`), so the server's verification runs on real signatures over real
 * authenticator data (WebAuthn Level 3, sections 6.1 and 6.5). Every field a test may want to
 * get wrong (origin, RP ID, flags, counter, credential, user handle) can be overridden.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { encodeCBOR } from '@levischuck/tiny-cbor';

/** What `PublicKeyCredentialCreationOptionsJSON` / `…RequestOptionsJSON` carry that we read. */
export interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  excludeCredentials?: Array<{ id: string }>;
}
export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

export interface RegistrationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    attestationObject: string;
    transports: string[];
    publicKeyAlgorithm: number;
    authenticatorData: string;
  };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform';
}

export interface AuthenticationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    authenticatorData: string;
    signature: string;
    userHandle?: string;
  };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform';
}

/** A credential the authenticator holds. */
export interface SoftCredential {
  id: string;
  rpId: string;
  /** base64url of the user handle the RP gave at registration. */
  userHandle: string;
  privateKey: KeyObject;
  /** The signature counter the next assertion reports (after adding one). */
  counter: number;
  backupEligible: boolean;
  backedUp: boolean;
}

/** Knobs shared by both ceremonies. */
export interface CeremonyOptions {
  /** `clientDataJSON.origin`; default: the authenticator's origin. */
  origin?: string;
  /** The RP ID hashed into the authenticator data; default: the options' RP ID, else the origin's host. */
  rpId?: string;
  /** The UV flag. Default true. */
  userVerified?: boolean;
  /** The UP flag. Default true. */
  userPresent?: boolean;
  /** `clientDataJSON.type`; default the ceremony's own. */
  type?: string;
  /** `clientDataJSON.challenge`; default the options' challenge. */
  challenge?: string;
}

export interface RegisterOptions extends CeremonyOptions {
  /** BE flag (a synced passkey). Default true. */
  backupEligible?: boolean;
  /** BS flag. Default false. */
  backedUp?: boolean;
  /** The signature counter at registration. Default 0. */
  counter?: number;
  /** Keep the new credential (default true); false makes a response whose key nobody holds later. */
  keep?: boolean;
}

export interface AuthenticateOptions extends CeremonyOptions {
  /** Which credential answers; default the first allowed one this authenticator holds, else its newest. */
  credentialId?: string;
  /** Report this counter instead of the stored one plus one (the stored one is not advanced). */
  counter?: number;
  /** Override the BS flag (BE stays the credential's unless `backupEligible` is given). */
  backedUp?: boolean;
  backupEligible?: boolean;
  /** The user handle to send (base64url); `null` sends none. Default: the credential's. */
  userHandle?: string | null;
  /** Flip a byte of the signature. */
  tamperSignature?: boolean;
}

export interface SoftAuthenticator {
  readonly origin: string;
  readonly credentials: SoftCredential[];
  register(options: CreationOptionsJSON, opts?: RegisterOptions): RegistrationResponseJSON;
  authenticate(options: RequestOptionsJSON, opts?: AuthenticateOptions): AuthenticationResponseJSON;
}

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;
const COSE_ES256 = -7;

function flags(o: { up: boolean; uv: boolean; be: boolean; bs: boolean; at: boolean }): number {
  return (
    (o.up ? FLAG.UP : 0) |
    (o.uv ? FLAG.UV : 0) |
    (o.be ? FLAG.BE : 0) |
    (o.bs ? FLAG.BS : 0) |
    (o.at ? FLAG.AT : 0)
  );
}

function counterBytes(counter: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(counter >>> 0);
  return out;
}

/** The COSE_Key of a P-256 public key (RFC 9053 section 7.1.1). */
function coseKey(privateKey: KeyObject): Uint8Array {
  const jwk = privateKey.export({ format: 'jwk' });
  return encodeCBOR(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, COSE_ES256], // alg
      [-1, 1], // crv: P-256
      [-2, Buffer.from(String(jwk.x), 'base64url')],
      [-3, Buffer.from(String(jwk.y), 'base64url')],
    ]),
  );
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

/**
 * @example
 * const authenticator = createSoftAuthenticator('http://localhost:3000');
 * const response = authenticator.register(options); // options from the server's begin step
 */
export function createSoftAuthenticator(origin = 'http://localhost:3000'): SoftAuthenticator {
  const credentials: SoftCredential[] = [];
  const defaultRpId = new URL(origin).hostname;

  return {
    origin,
    credentials,
    register(options, opts = {}) {
      const rpId = opts.rpId ?? options.rp.id ?? defaultRpId;
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const credentialId = randomBytes(16);
      const id = b64url(credentialId);
      const credential: SoftCredential = {
        id,
        rpId,
        userHandle: options.user.id,
        privateKey: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })),
        counter: opts.counter ?? 0,
        backupEligible: opts.backupEligible ?? true,
        backedUp: opts.backedUp ?? false,
      };
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credentialId.length);
      const authData = Buffer.concat([
        sha256(rpId),
        Buffer.from([
          flags({
            up: opts.userPresent ?? true,
            uv: opts.userVerified ?? true,
            be: credential.backupEligible,
            bs: credential.backedUp,
            at: true,
          }),
        ]),
        counterBytes(credential.counter),
        Buffer.alloc(16), // AAGUID: zeros, as attestation "none" allows
        idLength,
        credentialId,
        coseKey(privateKey),
      ]);
      const attestationObject = encodeCBOR(
        new Map<string, string | Uint8Array | Map<string, never>>([
          ['fmt', 'none'],
          ['attStmt', new Map<string, never>()],
          ['authData', authData],
        ]),
      );
      if (opts.keep ?? true) credentials.push(credential);
      return {
        id,
        rawId: id,
        type: 'public-key',
        response: {
          clientDataJSON: b64url(
            clientData(
              opts.type ?? 'webauthn.create',
              opts.challenge ?? options.challenge,
              opts.origin ?? origin,
            ),
          ),
          attestationObject: b64url(attestationObject),
          transports: ['internal'],
          publicKeyAlgorithm: COSE_ES256,
          authenticatorData: b64url(authData),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },
    authenticate(options, opts = {}) {
      const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id));
      const credential = opts.credentialId
        ? credentials.find((c) => c.id === opts.credentialId)
        : (credentials.find((c) => allowed.has(c.id)) ?? credentials.at(-1));
      if (!credential) throw new Error('soft authenticator: no credential to answer with');
      const rpId = opts.rpId ?? options.rpId ?? credential.rpId;
      let counter: number;
      if (opts.counter !== undefined) counter = opts.counter;
      else {
        credential.counter += 1;
        counter = credential.counter;
      }
      const authData = Buffer.concat([
        sha256(rpId),
        Buffer.from([
          flags({
            up: opts.userPresent ?? true,
            uv: opts.userVerified ?? true,
            be: opts.backupEligible ?? credential.backupEligible,
            bs: opts.backedUp ?? credential.backedUp,
            at: false,
          }),
        ]),
        counterBytes(counter),
      ]);
      const data = clientData(
        opts.type ?? 'webauthn.get',
        opts.challenge ?? options.challenge,
        opts.origin ?? origin,
      );
      const signature = sign('sha256', Buffer.concat([authData, sha256(data)]), credential.privateKey);
      if (opts.tamperSignature) signature[signature.length - 1] = (signature.at(-1) ?? 0) ^ 0xff;
      const userHandle = opts.userHandle === undefined ? credential.userHandle : opts.userHandle;
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: {
          clientDataJSON: b64url(data),
          authenticatorData: b64url(authData),
          signature: b64url(signature),
          ...(userHandle === null ? {} : { userHandle }),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },
  };
}
