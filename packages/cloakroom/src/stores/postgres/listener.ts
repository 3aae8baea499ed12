import { StoreError } from '../../core/errors.js';
import type { CoherentCache } from '../coherent-cache.js';
import { within } from '../deadline.js';
import { USERS_CHANNEL } from './schema.js';

/** A notification as pg hands it over. */
export interface PgNotification {
  channel: string;
  payload?: string | undefined;
}

/**
 * The part of a `pg.Client` the user cache listens on: a connection of its own, NOT from the
 * pool (a pooled connection would be handed to queries, and LISTEN belongs to one session).
 */
export interface PgListenerClientLike {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  end(): Promise<unknown>;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** How the listener behaves; see {@link listenForUserChanges}. */
export interface ListenerSettings {
  schema: string;
  /** A failed or unanswered heartbeat (or LISTEN) after this long counts as a lost connection. */
  timeoutMs: number;
  /** How often the connection is checked with `SELECT 1`. */
  heartbeatMs: number;
  onError: (error: StoreError) => void;
}

/** What {@link listenForUserChanges} returns. */
export interface UserChangeListener {
  close(): Promise<void>;
}

const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
  });

/**
 * Keeps `cache` trusted exactly while a dedicated connection is LISTENing on the users channel:
 * connect, `LISTEN cloakroom_users`, then flush and trust. The connection's `error` or `end`, or
 * a heartbeat (`SELECT 1` every `heartbeatMs`) without answer within `timeoutMs` — a connection
 * that died silently hears nothing either — distrusts the cache at once; the connection is
 * ended and a new one made (backoff 100 ms doubling, at most 2 s) until LISTEN works again.
 *
 * Why trust right after LISTEN: a transaction that commits after LISTEN took effect is
 * notified; one that committed before is visible to every read sent after this point, and
 * the cache takes fills only from reads sent after it was trusted.
 */
export function listenForUserChanges(
  connect: () => PgListenerClientLike,
  cache: Pick<CoherentCache<unknown>, 'invalidate' | 'invalidateAll' | 'trust' | 'renew' | 'distrust'>,
  settings: ListenerSettings,
): UserChangeListener {
  const mine = `${settings.schema}.`;
  let closed = false;
  let current: PgListenerClientLike | null = null;
  let wake: () => void = () => {};
  /** Whether the current connection got as far as listening. */
  let listened = false;

  const onNotification = (message: PgNotification): void => {
    if (message.channel !== USERS_CHANNEL) return;
    const payload = message.payload ?? '';
    if (!payload.startsWith(mine)) return; // another schema's users
    const id = payload.slice(mine.length);
    if (id === '') cache.invalidateAll();
    else cache.invalidate(id);
  };

  /** One connection's life: resolves when it is lost (or the listener closed). */
  const session = async (client: PgListenerClientLike): Promise<void> => {
    let lost!: () => void;
    const gone = new Promise<void>((resolve) => {
      lost = resolve;
    });
    let dead = false;
    let cause: unknown;
    const loseIt = () => {
      dead = true;
      cache.distrust();
      lost();
    };
    client.on('error', (error) => {
      cause ??= error;
      loseIt();
    });
    client.on('end', loseIt);
    client.on('notification', onNotification);
    wake = loseIt;
    await within(client.connect() as Promise<unknown>, settings.timeoutMs, 'postgres listener connect');
    const listenSent = performance.now();
    await within(client.query(`LISTEN ${USERS_CHANNEL}`), settings.timeoutMs, 'postgres LISTEN');
    if (closed || dead) return;
    listened = true;
    cache.trust(listenSent);
    for (;;) {
      const tick = pause(settings.heartbeatMs);
      const ended = await Promise.race([gone.then(() => true), tick.then(() => false)]);
      if (closed) return;
      if (ended)
        throw new StoreError(
          'postgres user cache: the listener connection was lost; the cache is off until it is back',
          { cause },
        );
      try {
        // Notifications come in order with query results: an answer renews the cache's lease
        // from when it was asked, and a PostgreSQL that stops answering lets it run out.
        const sentAt = performance.now();
        await within(client.query('SELECT 1'), settings.timeoutMs, 'postgres listener heartbeat');
        cache.renew(sentAt);
      } catch (error) {
        loseIt();
        throw error;
      }
    }
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!closed) {
      cache.distrust();
      const client = connect();
      current = client;
      listened = false;
      try {
        await session(client);
      } catch (error) {
        cache.distrust();
        if (!closed) {
          settings.onError(
            error instanceof StoreError
              ? error
              : new StoreError(
                  'postgres user cache: the listener connection failed; the cache is off until it is back',
                  {
                    cause: error,
                  },
                ),
          );
        }
      }
      cache.distrust();
      // A connection that listened starts the backoff again.
      if (listened) failures = 0;
      current = null;
      // Ended (not reused): its LISTEN and whatever it missed go with it.
      await within(client.end(), settings.timeoutMs, 'postgres listener end').catch(() => {});
      if (closed) return;
      await pause(Math.min(100 * 2 ** failures++, 2_000));
    }
  };
  const running = run();

  return {
    async close() {
      closed = true;
      cache.distrust();
      wake();
      const client = current;
      if (client) await within(client.end(), settings.timeoutMs, 'postgres listener end').catch(() => {});
      await running;
    },
  };
}
