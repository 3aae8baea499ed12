import type { SessionInfo, User, UserRecord } from 'cloakroom';
import { Layout } from '../layout.js';
import { SessionTable } from '../session-table.js';

export interface AdminSessionsProps {
  user: User;
  csrf: string;
  /** Whose sessions these are. */
  target: UserRecord;
  sessions: SessionInfo[];
  now: number;
}

/**
 * Where one user is signed in, as an admin sees it (read-only): the account page's table without
 * its per-row Sign out, which device-bound sessions are, and "Sign out everywhere".
 */
export function AdminSessionsPage({ user, csrf, target, sessions, now }: AdminSessionsProps) {
  const count = sessions.length;
  return (
    <Layout title={`Sessions of ${target.username}`} user={user} csrf={csrf} current="admin">
      <p class="crumbs">
        <a href="/admin">Users</a> › Sessions
      </p>
      <h1>Sessions of {target.displayName}</h1>
      <section class="card" aria-labelledby="sessions-h">
        <h2 id="sessions-h">
          Where <strong>{target.username}</strong> is signed in
        </h2>
        {count === 0 ? (
          <p class="muted">No sessions: {target.username} is not signed in anywhere.</p>
        ) : (
          <SessionTable sessions={sessions} now={now} />
        )}
        <div class="actions">
          <form method="post" action={`/admin/users/${target.id}/revoke-sessions`}>
            <input type="hidden" name="_csrf" value={csrf} />
            <button
              type="submit"
              class="quiet"
              disabled={count === 0}
              aria-label={`Sign out ${target.username} everywhere`}
            >
              Sign out everywhere
            </button>
          </form>
          <span class="hint">
            {count} session{count === 1 ? '' : 's'}
          </span>
        </div>
        <div class="actions">
          <a href="/admin">Back to users</a>
        </div>
      </section>
    </Layout>
  );
}
