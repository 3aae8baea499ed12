import { type AccountDeps, type AccountFailure, reauthRequired } from '../auth/accounts/deps.js';
import { changeDocument } from '../auth/second-factor/change.js';
import { parseDocument } from '../auth/second-factor/document.js';
import type { Session } from '../core/session.js';
import { checkPasskeyName, type PasskeyInfo, toInfo } from './records.js';

const noSuchPasskey: AccountFailure = { ok: false, error: 'not_found', message: 'No such passkey.' };

/**
 * A user's passkeys, oldest first, as a page may show them (never a key or a counter); `[]` for
 * an unknown user. Needs no relying party: it only reads the user record.
 * @example
 * const list = await listPasskeys(deps, session.userId);
 */
export async function listPasskeys(deps: AccountDeps, userId: string): Promise<PasskeyInfo[]> {
  const user = await deps.users.getById(userId);
  return user ? parseDocument(user.secondFactor).passkeys.map(toInfo) : [];
}

/**
 * Renames one of a user's passkeys (1–64 visible characters, trimmed). `not_found` for an id the
 * user does not hold. Audited as `passkey.renamed` when the name changed.
 * @example
 * const renamed = await renamePasskey(deps, session.userId, id, 'Work laptop');
 */
export async function renamePasskey(
  deps: AccountDeps,
  userId: string,
  passkeyId: unknown,
  name: unknown,
): Promise<{ ok: true; passkey: PasskeyInfo } | AccountFailure> {
  const checked = checkPasskeyName(name);
  if (typeof checked !== 'string') return checked;
  if (typeof passkeyId !== 'string') return noSuchPasskey;
  const result = await changeDocument(deps, userId, (_user, doc) => {
    const found = doc.passkeys.find((p) => p.id === passkeyId);
    if (!found) return { refuse: noSuchPasskey };
    if (found.name === checked) return { keep: found };
    const renamed = { ...found, name: checked };
    return {
      next: { ...doc, passkeys: doc.passkeys.map((p) => (p === found ? renamed : p)) },
      value: renamed,
    };
  });
  if (!result.ok) return result;
  if (result.wrote) deps.audit('passkey.renamed', { userId, passkey: passkeyId });
  return { ok: true, passkey: toInfo(result.value) };
}

/**
 * Removes one of the signed-in user's passkeys. Needs a recent proof (`reauth_required`): a stolen
 * session must not be enough to take a factor away. Removing the last passkey of a user without
 * TOTP drops the recovery codes in the same write (there is no factor left for them to stand in
 * for). Sessions are not touched: signing in with that passkey is no longer possible, and a
 * session it made is the user's own. Audited as `passkey.removed`.
 * @example
 * const removed = await removePasskey(deps, session, id);
 */
export async function removePasskey(
  deps: AccountDeps,
  session: Session,
  passkeyId: unknown,
): Promise<{ ok: true } | AccountFailure> {
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  if (typeof passkeyId !== 'string') return noSuchPasskey;
  const userId = session.userId;
  const result = await changeDocument(deps, userId, (_user, doc) => {
    if (!doc.passkeys.some((p) => p.id === passkeyId)) return { refuse: noSuchPasskey };
    const passkeys = doc.passkeys.filter((p) => p.id !== passkeyId);
    const keepCodes = doc.totp !== null || passkeys.length > 0;
    return {
      next: { ...doc, passkeys, recoveryCodes: keepCodes ? doc.recoveryCodes : [] },
      value: passkeys.length,
    };
  });
  if (!result.ok) return result;
  deps.audit('passkey.removed', { userId, passkey: passkeyId, left: result.value });
  return { ok: true };
}
