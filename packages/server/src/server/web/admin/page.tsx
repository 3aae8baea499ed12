import type { User, UserRecord } from 'cloakroom';
import type { Flash } from '../flash.js';
import { formatDate } from '../helpers.js';
import { Layout } from '../layout.js';

export interface AdminProps {
  user: User;
  csrf: string;
  users: UserRecord[];
  flash: Flash | null;
}

/** Users, roles, status; create, change roles, lock/unlock, revoke sessions. */
export function AdminPage({ user, csrf, users, flash }: AdminProps) {
  return (
    <Layout title="Admin" user={user} csrf={csrf} flash={flash} current="admin">
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
                  <strong>{u.displayName}</strong>
                  <br />
                  <span class="muted">{u.username}</span>
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
                <td data-label="Created">{formatDate(u.createdAt)}</td>
                <td data-label="Actions">
                  <div class="actions">
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
              <input id="new-username" name="username" type="text" autocomplete="off" required />
            </div>
            <div>
              <label for="new-displayName">Display name</label>
              <input id="new-displayName" name="displayName" type="text" autocomplete="off" />
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
              <input id="new-roles" name="roles" type="text" placeholder="e.g. admin, ops" />
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
