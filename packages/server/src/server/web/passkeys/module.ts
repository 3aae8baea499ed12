import type { App, ServerDeps } from '../../http/context.js';

/** Where the pages load the module from. */
export const PASSKEYS_SCRIPT = '/assets/passkeys.js';

/**
 * The pages' only script, served from /assets/passkeys.js to the pages that offer passkeys (and
 * only there is the CSP `script-src 'self'`). Hand-written, no dependencies: the browser's own
 * WebAuthn JSON helpers (`PublicKeyCredential.parse…OptionsFromJSON`, `credential.toJSON()`) do
 * the encoding, the JSON API (docs/api.md) does the rest.
 *
 * What it does with the page: every `[data-passkey]` part is rendered `hidden` and shown only
 * when the browser can run a ceremony; `[data-passkey-fallback]` (what to do instead) is hidden
 * then. A part's button (or form, for registration) runs its ceremony against fixed API routes;
 * errors go into its `[data-passkey-status]` (aria-live); success navigates to the part's
 * `data-next`, a path the server rendered through its own `safeNext`, checked here once more
 * to be a same-origin path. On /login the sign-in part also offers passkeys in the username
 * field's autofill (conditional mediation), aborted when the button starts its own ceremony.
 * Nothing is written as HTML (textContent only), so the CSP can demand Trusted Types.
 */
export const PASSKEYS_MODULE = String.raw`// cloakroom: passkeys on the sign-in and account pages (no dependencies).
const PKC = globalThis.PublicKeyCredential;
const supported =
  typeof PKC === 'function' &&
  typeof PKC.parseCreationOptionsFromJSON === 'function' &&
  typeof PKC.parseRequestOptionsFromJSON === 'function' &&
  typeof PKC.prototype.toJSON === 'function';

// [options route, finish route] of each ceremony (docs/api.md).
const API = {
  signin: ['/api/login/passkey/options', '/api/login/passkey'],
  'second-factor': ['/api/login/second-factor/passkey/options', '/api/login/second-factor/passkey'],
  reauth: ['/api/reauth/passkey/options', '/api/reauth/passkey'],
  register: ['/api/account/passkeys/options', '/api/account/passkeys'],
};

// What the browser's refusals mean to a person; the server's own refusals carry a message.
const SAY = {
  NotAllowedError: 'The passkey request was cancelled or timed out. Try again when you are ready.',
  InvalidStateError: 'This device already holds a passkey for your account.',
  SecurityError: 'This browser does not allow passkeys for this address.',
  ceremony_expired: 'That took too long. Please try again.',
  csrf: 'This page has expired. Reload it and try again.',
  network: 'The server could not be reached. Check your connection and try again.',
};

// A same-origin path, else /account: never a URL another origin chose.
function local(path) {
  try {
    if (/^\/(?![/\\])[^\x00-\x20\x7f\\]*$/.test(path) && new URL(path, location.origin).origin === location.origin)
      return path;
  } catch {}
  return '/account';
}

async function post(url, body, csrf) {
  const headers = { 'Content-Type': 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  try {
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
    return { ok: res.ok, body: await res.json().catch(() => ({})) };
  } catch {
    return { ok: false, body: { error: 'network' } };
  }
}

function part(root) {
  const kind = root.dataset.passkey;
  const [optionsUrl, finishUrl] = API[kind] || [];
  if (!optionsUrl) return;
  const form = root.tagName === 'FORM' ? root : null;
  const status = root.querySelector('[data-passkey-status]');
  const button = root.querySelector('button');
  const csrf = root.dataset.csrf;
  let autofill = null; // the AbortController of the autofill offer, while there is one
  let canOffer = false;
  let leaving = false;

  const say = (text, tone) => {
    status.textContent = text;
    status.className = text ? 'passkey-status flash ' + tone : 'passkey-status';
  };
  const go = (path) => {
    leaving = true;
    location.assign(local(path));
  };
  const refused = (answer) => {
    const { error, message } = answer.body;
    if (error === 'reauth_required') return go(root.dataset.reauth);
    if (error === 'pending_expired') {
      leaving = true;
      return location.reload();
    }
    say(SAY[error] || message || 'Something went wrong. Please try again.', 'error');
  };

  // One ceremony: options, the browser's prompt (or autofill), the answer. Resolves to whether
  // it ended in a refusal worth offering the autofill again after.
  async function ceremony(signal, conditional) {
    const begun = await post(optionsUrl, {}, csrf);
    if (!begun.ok) {
      // The autofill offer fails quietly: the button still shows the reason.
      if (!conditional) refused(begun);
      return false;
    }
    let credential;
    try {
      credential =
        kind === 'register'
          ? await navigator.credentials.create({
              publicKey: PKC.parseCreationOptionsFromJSON(begun.body.options),
              signal,
            })
          : await navigator.credentials.get({
              publicKey: PKC.parseRequestOptionsFromJSON(begun.body.options),
              signal,
              ...(conditional ? { mediation: 'conditional' } : {}),
            });
    } catch (error) {
      if (error.name === 'AbortError') return false;
      say(SAY[error.name] || 'This passkey could not be used.', 'error');
      return true;
    }
    if (!credential) return false;
    const body = { response: credential.toJSON() };
    if (kind === 'signin') body.remember = document.getElementById('remember')?.checked === true;
    if (form) body.name = form.elements.namedItem('name').value.trim();
    say('Checking your passkey…', 'ok');
    const done = await post(finishUrl, body, csrf);
    if (!done.ok) {
      refused(done);
      return true;
    }
    say('', '');
    const codes = done.body.recoveryCodes;
    if (Array.isArray(codes) && codes.length > 0) showCodes(codes);
    else go(root.dataset.next);
    return false;
  }

  // The autofill offer (conditional mediation), renewed before its challenge expires.
  async function offer() {
    const mine = new AbortController();
    autofill = mine;
    const renew = setTimeout(() => autofill === mine && (mine.abort(), offer()), 240_000);
    const again = await ceremony(mine.signal, true);
    clearTimeout(renew);
    if (again && autofill === mine && !leaving) offer();
  }

  async function start(event) {
    event.preventDefault();
    if (form && !form.reportValidity()) return;
    autofill?.abort();
    autofill = null;
    button.disabled = true;
    say('', '');
    try {
      await ceremony(undefined, false);
    } finally {
      button.disabled = false;
      if (canOffer && !leaving && !autofill) offer();
    }
  }

  if (form) form.addEventListener('submit', start);
  else button.addEventListener('click', start);
  root.hidden = false;
  if (kind === 'signin' && typeof PKC.isConditionalMediationAvailable === 'function')
    PKC.isConditionalMediationAvailable().then(
      (yes) => {
        canOffer = yes === true;
        if (canOffer && !autofill && !button.disabled) offer();
      },
      () => {},
    );
}

// The recovery codes of a first passkey: shown once, in place of the page's sections.
function showCodes(codes) {
  const section = document.querySelector('[data-passkey-codes]');
  const list = section.querySelector('ol');
  for (const code of codes) {
    const item = document.createElement('li');
    const text = document.createElement('code');
    text.textContent = code;
    item.append(text);
    list.append(item);
  }
  // In place of the page: the list there does not show the new passkey yet ("Done" reloads it).
  for (const other of document.querySelectorAll('main section')) other.hidden = other !== section;
  section.querySelector('h2').focus();
}

if (supported) {
  for (const fallback of document.querySelectorAll('[data-passkey-fallback]')) fallback.hidden = true;
  for (const root of document.querySelectorAll('[data-passkey]')) part(root);
}
`;

/**
 * GET /assets/passkeys.js, registered before the session middleware like the stylesheet (an
 * asset needs no session). Only while passkeys are on: otherwise no page names it.
 */
export function passkeysModule(app: App, deps: ServerDeps): void {
  if (deps.config.passkeys === null) return;
  app.get(PASSKEYS_SCRIPT, (c) =>
    c.body(PASSKEYS_MODULE, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
    }),
  );
}
