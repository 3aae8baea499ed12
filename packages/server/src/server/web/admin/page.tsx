import { secondFactorStatus, type User, type UserRecord } from 'cloakroom';
import type { Flash } from '../flash.js';
import { formatDate, formatDay } from '../helpers.js';
import { Layout } from '../layout.js';

/** What was typed into the create-user form, shown again when it was refused (never the password). */
export interface UserDraft {
  username: string;
  displayName: string;
  roles: string;
}

export interface AdminProps {
  user: User;
  csrf: string;
  users: UserRecord[];
  flash: Flash | null;
  draft?: UserDraft | null;
}

/**
 * Whether locking `u` would be refused: the server keeps one unlocked admin, so the last one's
 * row has no Lock button. (Whoever sees this page is an unlocked admin, so that row is theirs.)
 */
function lastUnlockedAdmin(u: UserRecord, users: UserRecord[]): boolean {
  const isAdmin = (x: UserRecord) => !x.locked && x.roles.includes('admin');
  return isAdmin(u) && users.filter(isAdmin).length === 1;
}

/** Users, roles, status; create, change roles, lock/unlock, see and revoke sessions. */
export function AdminPage({ user, csrf, users, flash, draft }: AdminProps) {
  return (
    <Layout title="Admin" user={user} csrf={csrf} flash={flash} current="admin" wide>
      <h1>Users</h1>
      <section class="card" aria-labelledby="users-h">
        <h2 id="users-h">
          {users.length} user{users.length === 1 ? '' : 's'}
        </h2>
        <table class="responsive">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Roles</th>
              <th scope="col">Status</th>
              <th scope="col">
                <abbr title="Two-step sign-in">2FA</abbr>
              </th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="muted">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr data-user={u.username}>
                <td data-label="User">
                  {/* One line each, never wrapped; a very long name ends in "…" (title: all of it). */}
                  <div class="who">
                    <span class="name" title={u.displayName}>
                      <strong>{u.displayName}</strong>
                      {u.id === user.id ? <span class="tag here">you</span> : null}
                    </span>
                    <span class="muted login" title={u.username}>
                      {u.username}
                    </span>
                  </div>
                </td>
                <td data-label="Roles">
                  <form method="post" action={`/admin/users/${u.id}/roles`} class="roles-form">
                    <input type="hidden" name="_csrf" value={csrf} />
                    <input
                      type="text"
                      name="roles"
                      value={u.roles.join(', ')}
                      aria-label={`Roles of ${u.username}`}
                      placeholder="no roles"
                    />
                    <button type="submit" class="quiet small">
                      Save
                    </button>
                  </form>
                </td>
                <td data-label="Status">
                  {u.locked ? <span class="tag locked">locked</span> : <span class="tag">active</span>}
                </td>
                <td data-label="2FA">
                  {secondFactorStatus(u).enabled ? (
                    <div class="actions">
                      <span class="tag here">on</span>
                      <form method="post" action={`/admin/users/${u.id}/second-factor/reset`}>
                        <input type="hidden" name="_csrf" value={csrf} />
                        <button
                          type="submit"
                          class="danger small"
                          aria-label={`Reset two-step sign-in of ${u.username}`}
                          title="Remove the authenticator and recovery codes; signs the user out everywhere"
                        >
                          Reset 2FA
                        </button>
                      </form>
                    </div>
                  ) : (
                    <span class="tag">off</span>
                  )}
                </td>
                <td data-label="Created">
                  <time datetime={new Date(u.createdAt).toISOString()} title={formatDate(u.createdAt)}>
                    {formatDay(u.createdAt)}
                  </time>
                </td>
                <td data-label="Actions">
                  <div class="actions">
                    <a
                      class="button quiet small"
                      href={`/admin/users/${u.id}/sessions`}
                      aria-label={`Sessions of ${u.username}`}
                    >
                      Sessions
                    </a>
                    {u.locked || !lastUnlockedAdmin(u, users) ? (
                      <form method="post" action={`/admin/users/${u.id}/${u.locked ? 'unlock' : 'lock'}`}>
                        <input type="hidden" name="_csrf" value={csrf} />
                        <button
                          type="submit"
                          class={u.locked ? 'quiet small' : 'danger small'}
                          aria-label={`${u.locked ? 'Unlock' : 'Lock'} ${u.username}`}
                        >
                          {u.locked ? 'Unlock' : 'Lock'}
                        </button>
                      </form>
                    ) : null}
                    <form method="post" action={`/admin/users/${u.id}/revoke-sessions`}>
                      <input type="hidden" name="_csrf" value={csrf} />
                      <button
                        type="submit"
                        class="quiet small"
                        aria-label={`Sign out ${u.username} everywhere`}
                      >
                        Sign out everywhere
                      </button>
                    </form>

                    <details class="menu">
                      <summary aria-label={`Recovery link for ${u.username}`}>Recovery link</summary>
                      <form method="post" action={`/admin/users/${u.id}/recovery-link`}>
                        <input type="hidden" name="_csrf" value={csrf} />
                        <p class="hint">
                          A one-time link (valid 1 hour) with which {u.username} sets a new password.
                        </p>
                        <label class="check" for={`clear-${u.id}`}>
                          <input id={`clear-${u.id}`} name="clearSecondFactor" type="checkbox" value="on" />
                          Also remove their second factor
                        </label>
                        <button type="submit" class="quiet small">
                          Create link
                        </button>
                      </form>
                    </details>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="create-h">
        <h2 id="create-h">Create a user</h2>
        <form method="post" action="/admin/users">
          <input type="hidden" name="_csrf" value={csrf} />
          <div class="grid">
            <div>
              <label for="new-username">Username</label>
              <input
                id="new-username"
                name="username"
                type="text"
                autocomplete="off"
                required
                value={draft?.username ?? ''}
              />
            </div>
            <div>
              <label for="new-displayName">Display name</label>
              <input
                id="new-displayName"
                name="displayName"
                type="text"
                autocomplete="off"
                value={draft?.displayName ?? ''}
              />
            </div>
            <div>
              <label for="new-password">Initial password</label>
              <input
                id="new-password"
                name="password"
                type="password"
                autocomplete="new-password"
                minlength={8}
                required
              />
            </div>
            <div>
              <label for="new-roles">Roles</label>
              <input
                id="new-roles"
                name="roles"
                type="text"
                placeholder="e.g. admin, ops"
                value={draft?.roles ?? ''}
              />
            </div>
          </div>
          <div class="actions">
            <button type="submit">Create user</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}
