import { systemClock } from '../../core/clock.js';
import type { AccountDeps, AccountFailure } from '../accounts/deps.js';
import type { UpdateCondition, UserPatch, UserRecord } from '../types.js';
import { parseDocument, type SecondFactorDocument, serializeDocument } from './document.js';

/** What a decision over the current user and document asks for. */
export type Decision<T> =
  /** Write `next` (and `patch`, under `condition`), then answer `value`. */
  | {
      next: SecondFactorDocument;
      value: T;
      patch?: Omit<UserPatch, 'secondFactor'>;
      condition?: Omit<UpdateCondition, 'ifSecondFactor'>;
    }
  /** Nothing to write: answer `value`. */
  | { keep: T }
  /** Refuse. */
  | { refuse: AccountFailure };

/** How often a decision is made again after another change won the race. */
const MAX_TRIES = 8;

const busy: AccountFailure = {
  ok: false,
  error: 'conflict',
  message: 'The account changed too often while this ran; try again.',
};

/**
 * Changes a user's second-factor document by compare-and-set: `decide` sees the user and the
 * document as stored, and its write applies only while the stored text is still exactly what it
 * saw (`ifSecondFactor`). When another change won, the user is read again and `decide` runs
 * again on the new state. So of N parallel uses of one code exactly one writes; the others
 * decide again, find the code used, and are refused.
 */
export async function changeDocument<T>(
  deps: AccountDeps,
  userId: string,
  decide: (user: UserRecord, doc: SecondFactorDocument) => Decision<T>,
): Promise<{ ok: true; user: UserRecord; value: T; wrote: boolean } | AccountFailure> {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const user = await deps.users.getById(userId);
    if (!user) return { ok: false, error: 'not_found', message: 'No such user.' };
    const decision = decide(user, parseDocument(user.secondFactor));
    if ('refuse' in decision) return decision.refuse;
    if ('keep' in decision) return { ok: true, user, value: decision.keep, wrote: false };
    const updated = await deps.users.update(
      userId,
      { ...decision.patch, secondFactor: serializeDocument(decision.next) },
      (deps.clock ?? systemClock).now(),
      { ...decision.condition, ifSecondFactor: user.secondFactor ?? null },
    );
    if (updated) return { ok: true, user: updated, value: decision.value, wrote: true };
  }
  return busy;
}
