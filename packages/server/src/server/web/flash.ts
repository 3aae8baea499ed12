import { createCookiePolicy, serializeCookie } from 'cloakroom';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';

/**
 * Flash messages for post/redirect/get. The cookie carries only a code from this catalogue
 * (and an optional count), never text: a forged flash cookie can show nothing but our own
 * messages.
 */
const MESSAGES = {
  'signed-out': ['ok', 'You are signed out.'],
  'profile-saved': ['ok', 'Your display name is saved.'],
  'password-changed': ['ok', 'Password changed. Every other device was signed out.'],
  'password-mismatch': ['error', 'The new passwords do not match.'],
  'session-ended': ['ok', 'That device is signed out.'],
  'session-missing': ['warn', 'That session had already ended.'],
  'others-signed-out': ['ok', 'Signed out everywhere else: {n} other session(s) ended.'],
  'user-created': ['ok', 'User created.'],
  'roles-saved': ['ok', 'Roles saved. They apply on the user’s next request.'],
  'user-locked': ['ok', 'User locked and signed out everywhere.'],
  'user-unlocked': ['ok', 'User unlocked.'],
  'sessions-revoked': ['ok', '{n} session(s) ended.'],
  welcome: ['ok', 'Welcome! Your admin account is ready.'],
  'sign-in-expired': ['warn', 'That sign-in took too long or was already finished. Please sign in again.'],
  'sign-in-cancelled': ['ok', 'Sign-in cancelled.'],
  'recovery-code-used': [
    'warn',
    'You signed in with a recovery code: {n} left. If you lost your authenticator, set it up again.',
  ],
  'second-factor-on': ['ok', 'Two-step sign-in is on.'],
  'second-factor-off': ['ok', 'Two-step sign-in is off.'],
  'second-factor-reset': ['ok', 'Two-step sign-in removed; the user was signed out everywhere.'],
  'password-set': ['ok', 'Password set; sign in with it.'],
  'passkey-renamed': ['ok', 'Passkey renamed.'],
  'passkey-removed': ['ok', 'Passkey removed. It no longer signs you in.'],
  'passkey-missing': ['warn', 'That passkey had already been removed.'],
} as const satisfies Record<string, readonly ['ok' | 'error' | 'warn', string]>;

export type FlashCode = keyof typeof MESSAGES;
export interface Flash {
  kind: 'ok' | 'error' | 'warn';
  text: string;
}

const policy = createCookiePolicy({ name: 'cloakroom-flash' });

/** Queues a flash for the next page (set on the redirect response). */
export function setFlash(c: Context, code: FlashCode, count?: number): void {
  const value = count === undefined ? code : `${code}.${count}`;
  c.header('Set-Cookie', serializeCookie(policy.variant(isHttps(c)), value, 60), { append: true });
}

/** Reads and clears the flash, if any. Unknown codes show nothing. */
export function takeFlash(c: Context): Flash | null {
  const name = policy.variant(isHttps(c)).name;
  const raw = getCookie(c, name);
  if (!raw) return null;
  c.header('Set-Cookie', serializeCookie(policy.variant(isHttps(c)), '', 0), { append: true });
  const [code, count] = raw.split('.');
  if (!code || !Object.hasOwn(MESSAGES, code)) return null;
  const [kind, text] = MESSAGES[code as FlashCode];
  const n = count && /^\d{1,6}$/.test(count) ? count : '0';
  return { kind, text: text.replace('{n}', n) };
}

function isHttps(c: Context): boolean {
  const v = c.get('cloakroomRequest' as never) as { https?: boolean } | undefined;
  return v?.https ?? c.req.url.startsWith('https:');
}
