import { changeDocument } from '../second-factor/change.js';
import { parseDocument, type SecondFactorDocument } from '../second-factor/document.js';
import { requireSecondFactor } from '../second-factor/proof.js';
import type { SecretBox } from '../second-factor/secret-box.js';
import type { AccountDeps, AccountFailure } from './deps.js';

/** What {@link resealSecondFactors} did, counted in users. */
export interface ResealReport {
  ok: true;
  /** Users whose sealed keys were sealed again under the newest secret. */
  resealed: number;
  /** Users whose sealed keys were all under the newest secret already. */
  current: number;
  /**
   * Ids of the users holding a key that no secret of the keyring opens (its secret was removed,
   * or the text was changed). Their document is left as it is: put the secret back and run again,
   * or reset their second factor.
   */
  unreadable: string[];
}

/** `none`: the document holds no key (any more): not counted. */
type Outcome = 'resealed' | 'current' | 'unreadable' | 'none';

/** The sealed texts of a document: the enrolled key and the key of an enrolment in progress. */
const sealedTexts = (doc: SecondFactorDocument): string[] =>
  [doc.totp?.secret, doc.enrolment?.secret].filter((s): s is string => s !== undefined);

/**
 * The document with every sealed text under the newest key, or why not. A document with any key
 * that does not open is left whole: one readable half written back would change nothing for the
 * user, and the unreadable half is the operator's to decide on.
 */
function resealDocument(
  box: SecretBox,
  userId: string,
  doc: SecondFactorDocument,
): { next: SecondFactorDocument } | { keep: Outcome } {
  if (sealedTexts(doc).length === 0) return { keep: 'none' };
  if (sealedTexts(doc).some((sealed) => box.open(sealed, userId) === null)) return { keep: 'unreadable' };
  // `reseal` answers `null` for a text under the newest key (every text opens, checked above).
  const totp = doc.totp && box.reseal(doc.totp.secret, userId);
  const enrolment = doc.enrolment && box.reseal(doc.enrolment.secret, userId);
  if (!totp && !enrolment) return { keep: 'current' };
  return {
    next: {
      ...doc,
      totp: doc.totp && totp ? { ...doc.totp, secret: totp } : doc.totp,
      enrolment: doc.enrolment && enrolment ? { ...doc.enrolment, secret: enrolment } : doc.enrolment,
    },
  };
}

/**
 * Seals every user's TOTP key (and the key of an enrolment in progress) under the keyring's
 * newest secret, so that an older secret can leave the keyring without making a key unreadable:
 * a sign-in with a code re-seals a key too, but only the keys in use. Each user's document
 * changes by compare-and-set, and the decision is made again on the document as it is then, so
 * a sign-in or enrolment that writes meanwhile is never undone. A user whose key no secret opens
 * is reported, not changed. Users are visited one at a time. Audited as
 * `second-factors.resealed` (the counts) when any key was sealed again; a key never leaves this
 * function. `conflict` when one user's document changed too often meanwhile: run it again (what
 * was sealed stays sealed).
 *
 * @example
 * const report = await resealSecondFactors(deps); // deps.secondFactor from the new keyring
 * if (report.ok && report.unreadable.length === 0) {
 *   // every key opens under the newest secret: the old one can go
 * }
 */
export async function resealSecondFactors(deps: AccountDeps): Promise<ResealReport | AccountFailure> {
  const { box } = requireSecondFactor(deps);
  const report: ResealReport = { ok: true, resealed: 0, current: 0, unreadable: [] };
  for (const listed of await deps.users.list()) {
    if (sealedTexts(parseDocument(listed.secondFactor)).length === 0) continue;
    const result = await changeDocument<Outcome>(deps, listed.id, (user, doc) => {
      const decision = resealDocument(box, user.id, doc);
      return 'next' in decision ? { next: decision.next, value: 'resealed' } : decision;
    });
    // Gone since the list was read: nothing of it left to seal.
    if (!result.ok && result.error === 'not_found') continue;
    if (!result.ok) return result;
    if (result.value === 'unreadable') report.unreadable.push(listed.id);
    else if (result.value !== 'none') report[result.value] += 1;
  }
  if (report.resealed > 0) {
    deps.audit('second-factors.resealed', {
      resealed: report.resealed,
      current: report.current,
      unreadable: report.unreadable.length,
    });
  }
  return report;
}
