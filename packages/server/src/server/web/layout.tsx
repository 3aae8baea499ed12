import type { User } from 'cloakroom';
import type { Child } from 'hono/jsx';
import type { Flash } from './flash.js';
import { PASSKEYS_SCRIPT } from './passkeys/module.js';

export interface LayoutProps {
  title: string;
  user?: User | null;
  /** CSRF token for the header's sign-out form. */
  csrf?: string;
  flash?: Flash | null;
  current?: 'account' | 'admin';
  narrow?: boolean;
  /** Wider than the default: the admin page's table. */
  wide?: boolean;
  /**
   * Loads /assets/passkeys.js (the page has passkey parts). The route must answer with
   * `allowPasskeyScript(c)`: every other page's CSP allows no script.
   */
  script?: boolean;
  children?: Child;
}

/** The page shell: header with navigation and a sign-out form, the flash, the content. */
export function Layout({ title, user, csrf, flash, current, narrow, wide, script, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>{`${title} · cloakroom`}</title>
        <link rel="stylesheet" href="/assets/cloakroom.css" />
        {script ? <script type="module" src={PASSKEYS_SCRIPT} /> : null}
      </head>
      <body>
        <header class="top">
          <div class={wide ? 'bar wide' : 'bar'}>
            <a class="brand" href={user ? '/account' : '/login'}>
              <span class="mark" aria-hidden="true">
                c
              </span>
              cloakroom
            </a>
            {user ? (
              <nav class="links" aria-label="Main">
                <a href="/account" aria-current={current === 'account' ? 'page' : undefined}>
                  Account
                </a>
                {user.roles.includes('admin') ? (
                  <a href="/admin" aria-current={current === 'admin' ? 'page' : undefined}>
                    Admin
                  </a>
                ) : null}
                <form method="post" action="/logout" class="inline">
                  <input type="hidden" name="_csrf" value={csrf ?? ''} />
                  <button type="submit" class="quiet small">
                    Sign out
                  </button>
                </form>
              </nav>
            ) : null}
          </div>
        </header>
        <main class={narrow ? 'narrow' : wide ? 'wide' : undefined}>
          {flash ? (
            <div class={`flash ${flash.kind}`} role={flash.kind === 'ok' ? 'status' : 'alert'}>
              {flash.text}
            </div>
          ) : null}
          {children}
        </main>
      </body>
    </html>
  );
}

/** A full-page message: 403, 404, 503, a dead set-up link. */
export function MessagePage(props: {
  status: number;
  title: string;
  text: string;
  user?: User | null;
  csrf?: string;
}) {
  return (
    <Layout
      title={props.title}
      user={props.user ?? null}
      {...(props.csrf ? { csrf: props.csrf } : {})}
      narrow
    >
      <div class="card center">
        <p class="big">{props.status}</p>
        <h1>{props.title}</h1>
        <p class="muted">{props.text}</p>
        <p>
          <a href={props.user ? '/account' : '/login'}>
            {props.user ? 'Back to your account' : 'Go to sign-in'}
          </a>
        </p>
      </div>
    </Layout>
  );
}
