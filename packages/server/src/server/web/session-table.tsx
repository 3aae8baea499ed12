import type { SessionInfo } from 'cloakroom';
import type { Child } from 'hono/jsx';
import { describeDevice, formatDate, relativeTime } from './helpers.js';

export interface SessionTableProps {
  sessions: SessionInfo[];
  now: number;
  /** A last "Action" column with what this returns for each row (the account page's Sign out); none without it. */
  action?: (session: SessionInfo) => Child;
}

/**
 * A user's sessions as a table: device (with "this device" and "device-bound" tags), IP address,
 * signed in, last active. On /account (with a Sign out per row) and /admin/users/:id/sessions.
 */
export function SessionTable({ sessions, now, action }: SessionTableProps) {
  return (
    <table class="responsive">
      <thead>
        <tr>
          <th scope="col">Device</th>
          <th scope="col">IP address</th>
          <th scope="col">Signed in</th>
          <th scope="col">Last active</th>
          {action ? (
            <th scope="col">
              <span class="muted">Action</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>
        {sessions.map((s) => (
          <tr data-session={s.id} data-current={s.current ? 'true' : 'false'}>
            <td data-label="Device">
              <span>
                {describeDevice(s.userAgent)} {s.current ? <span class="tag here">this device</span> : null}{' '}
                {s.bound ? (
                  <span
                    class="tag"
                    title="Bound to a key in this device: a copied cookie does not work elsewhere"
                  >
                    device-bound
                  </span>
                ) : null}
              </span>
            </td>
            <td data-label="IP address">{s.ip ?? 'unknown'}</td>
            <td data-label="Signed in">
              <time datetime={new Date(s.createdAt).toISOString()}>{formatDate(s.createdAt)}</time>
            </td>
            <td data-label="Last active">
              <time datetime={new Date(s.lastSeenAt).toISOString()} title={formatDate(s.lastSeenAt)}>
                {relativeTime(s.lastSeenAt, now)}
              </time>
            </td>
            {action ? <td data-label="Action">{action(s)}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
