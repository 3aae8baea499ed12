import type { Context } from 'hono';
import { SCRIPT_PAGE_HEADERS } from '../http/security-headers.js';

/*
 * The passkey parts of the pages. Each is rendered `hidden` and shown by /assets/passkeys.js
 * (web/passkeys/module.ts) only in a browser that can run the ceremony, so a page without
 * script, or in an older browser, shows exactly its forms. Every page that renders one also
 * loads the module (`<Layout script>`) and answers with {@link allowPasskeyScript}.
 */

/**
 * The page's own CSP: `script-src 'self'` and `connect-src 'self'` for the module and its
 * fetches. Only for a page whose Layout has `script`; every other page keeps no script at all.
 */
export function allowPasskeyScript(c: Context): void {
  for (const [name, value] of Object.entries(SCRIPT_PAGE_HEADERS)) c.header(name, value);
}

/** The ceremonies a button starts (the module knows their API routes). */
export type PasskeyCeremony = 'signin' | 'second-factor' | 'reauth';

/**
 * A passkey button with its status line (aria-live: errors are read out where they appear).
 * `next`: where to go on success, already through `safeNext`. `csrf`: the session's token, for
 * the ceremonies of a signed-in user. `quiet`: a secondary button (a password form is the main
 * way on the page).
 */
export function PasskeyButton(props: {
  ceremony: PasskeyCeremony;
  label: string;
  next: string;
  csrf?: string;
  quiet?: boolean;
  /** A line above the button, e.g. "or": part of what stays hidden. */
  separator?: string;
}) {
  return (
    <div class="passkey" data-passkey={props.ceremony} data-next={props.next} data-csrf={props.csrf} hidden>
      {props.separator ? (
        <p class="or">
          <span>{props.separator}</span>
        </p>
      ) : null}
      <button type="button" class={props.quiet ? 'quiet wide' : 'wide'}>
        {props.label}
      </button>
      <div class="passkey-status" data-passkey-status aria-live="polite" />
    </div>
  );
}

/**
 * What a person without passkey support in this browser reads instead (shown by default, hidden
 * by the module when it can run a ceremony).
 */
export function PasskeyFallback(props: { text: string }) {
  return (
    <p class="hint" data-passkey-fallback>
      {props.text}
    </p>
  );
}
