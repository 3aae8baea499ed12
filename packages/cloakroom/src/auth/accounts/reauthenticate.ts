import type { IncomingRequest } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { Issued } from '../../core/sessions.js';
import { MAX_PASSWORD_BYTES } from '../password-policy.js';
import { hasSecondFactor } from '../second-factor/document.js';
import { type CodeInput, invalidCode, proveSecondFactor, readProof } from '../second-factor/proof.js';
import { type AccountDeps, type AccountFailure, invalid, noSuchUser } from './deps.js';
import { provePassword } from './password-proof.js';

/**
 * "Confirm it is you" before a sensitive action (GitHub's sudo mode): the password, checked
 * under the sign-in throttle like `changePassword` does, and for a user with a second factor a
 * code or a recovery code as well (used up, throttled): a user with passkeys but no TOTP sends a
 * recovery code here, or confirms with a passkey instead (`finishPasskeyReauth`). Then the session gets a new ticket whose
 * `authenticatedAt` is now (`sessions.reauthenticate`: a new CSRF secret, the old ticket ends),
 * methods `pwd` (and `otp`). Audited as `reauthenticated`.
 */
export async function reauthenticate(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
  input: { password?: unknown } & CodeInput,
): Promise<{ ok: true; issued: Issued } | AccountFailure> {
  const { password } = input;
  if (typeof password !== 'string' || password === '' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    return invalid('password', 'Send your password as text.');
  }
  const proof = readProof(input);
  if (proof && 'ok' in proof) return proof;
  const user = await deps.users.getById(session.userId);
  if (!user) return noSuchUser;

  const passwordProof = await provePassword(
    deps,
    request,
    user,
    password,
    'reauth',
    'The password is wrong.',
  );
  if (!passwordProof.ok) return passwordProof;

  const methods = ['pwd'];
  if (hasSecondFactor(user.secondFactor)) {
    if (!proof) return invalidCode;
    const proven = await proveSecondFactor(deps, request, user.id, proof);
    if (!proven.ok) return proven.error === 'not_enrolled' ? invalidCode : proven;
    methods.push('otp');
  }
  const issued = await deps.sessions.reauthenticate(request, session, { methods });
  deps.audit('reauthenticated', { userId: user.id, session: issued.session.id, methods });
  return { ok: true, issued };
}
