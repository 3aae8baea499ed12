// The whole page: no framework, no build step, no inline script (CSP default-src 'self').
// The session cookie is HttpOnly, so this code never sees it; it keeps the CSRF token a sign-in
// (or GET /api/me) hands out, and sends it as X-CSRF-Token on every unsafe request.
//
// Every passkey ceremony is two requests: `…/options` gives the options as JSON, the browser's
// PublicKeyCredential.parse…OptionsFromJSON turns them into what navigator.credentials wants, and
// the credential goes back as credential.toJSON(), in `response`.

let csrfToken = null;

const $ = (id) => document.getElementById(id);
const webauthn =
  typeof PublicKeyCredential !== 'undefined' &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

/** Which of the three parts shows: 'login', 'second-step' or 'app'. */
function showPart(part) {
  for (const id of ['login', 'second-step', 'app']) $(id).hidden = id !== part;
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  return { status: res.status, data };
}

/** What a refusal says to a person. */
function explain({ status, data }) {
  if (data?.error === 'reauth_required')
    return 'That needs a recent sign-in: sign out and in again, then retry.';
  if (status === 429) return 'Too many attempts; wait a little.';
  return data?.message ?? `Refused (${status}).`;
}

/** A ceremony: the options from `optionsPath`, then the browser's passkey dialog. */
async function ceremony(kind, optionsPath, body = {}) {
  const begun = await api('POST', optionsPath, body);
  if (begun.status !== 200) return { refused: begun };
  try {
    const credential =
      kind === 'create'
        ? await navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begun.data.options),
          })
        : await navigator.credentials.get({
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begun.data.options),
          });
    return { response: credential.toJSON() };
  } catch (error) {
    // NotAllowedError: the person closed the dialog, or it timed out.
    return { cancelled: error.name === 'NotAllowedError' ? 'Cancelled.' : error.message };
  }
}

/** The end of every sign-in: the token, then the signed-in part. */
async function signedIn(data) {
  csrfToken = data.csrfToken;
  await start();
}

async function start() {
  const { status, data } = await api('GET', '/api/me');
  if (status !== 200) {
    showPart('login');
    setStatus(webauthn ? 'Please sign in.' : 'This browser cannot use passkeys: sign in with the password.');
    return;
  }
  csrfToken = data.csrfToken;
  $('username').textContent = data.user.username;
  $('how').textContent = data.methods.includes('hwk')
    ? data.methods.includes('pwd')
      ? '(password and passkey)'
      : '(with a passkey)'
    : '(with the password)';
  showPart('app');
  setStatus('');
  await loadPasskeys();
}

async function loadPasskeys() {
  const { status, data } = await api('GET', '/api/passkeys');
  if (status !== 200) return setStatus(explain({ status, data }), true);
  const list = $('passkeys');
  list.replaceChildren();
  if (data.passkeys.length === 0) {
    const item = document.createElement('li');
    item.className = 'meta';
    item.textContent = 'None yet.';
    list.append(item);
  }
  for (const passkey of data.passkeys) {
    const item = document.createElement('li');
    const meta = document.createElement('span');
    meta.className = 'meta';
    const used = passkey.lastUsedAt
      ? `last used ${new Date(passkey.lastUsedAt).toLocaleString()}`
      : 'not used yet';
    meta.textContent = ` — added ${new Date(passkey.createdAt).toLocaleDateString()}, ${used}`;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.addEventListener('click', () => removePasskey(passkey));
    item.append(passkey.name, meta, remove);
    list.append(item);
  }
}

async function removePasskey(passkey) {
  const result = await api('DELETE', `/api/passkeys/${encodeURIComponent(passkey.id)}`);
  if (result.status === 401) return start();
  if (result.status !== 204) return setStatus(explain(result), true);
  setStatus(`Removed “${passkey.name}”.`);
  await loadPasskeys();
}

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const result = await api('POST', '/api/login', {
    username: form.get('username'),
    password: form.get('password'),
  });
  event.target.reset();
  if (result.status === 200) return signedIn(result.data);
  if (result.data?.error === 'second_factor_required') {
    showPart('second-step');
    return setStatus('One more step.');
  }
  setStatus(result.status === 401 ? 'Wrong username or password.' : explain(result), true);
});

$('passkey-login').addEventListener('click', async () => {
  setStatus('Waiting for your passkey…');
  const got = await ceremony('get', '/api/login/passkey/options');
  if (got.refused) return setStatus(explain(got.refused), true);
  if (got.cancelled) return setStatus(got.cancelled, true);
  const result = await api('POST', '/api/login/passkey', { response: got.response });
  if (result.status !== 200) return setStatus('That passkey was not accepted.', true);
  await signedIn(result.data);
});

$('second-passkey').addEventListener('click', async () => {
  setStatus('Waiting for your passkey…');
  const got = await ceremony('get', '/api/login/second-factor/passkey/options');
  if (got.refused?.data?.error === 'pending_expired') {
    showPart('login');
    return setStatus('That took too long: sign in again.', true);
  }
  if (got.refused) return setStatus(explain(got.refused), true);
  if (got.cancelled) return setStatus(got.cancelled, true);
  const result = await api('POST', '/api/login/second-factor/passkey', { response: got.response });
  if (result.status !== 200) return setStatus('That passkey was not accepted.', true);
  await signedIn(result.data);
});

$('recovery-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const recoveryCode = new FormData(event.target).get('recoveryCode');
  const result = await api('POST', '/api/login/second-factor/recovery-code', { recoveryCode });
  event.target.reset();
  if (result.status !== 200) return setStatus(explain(result), true);
  await signedIn(result.data);
});

$('second-cancel').addEventListener('click', () => {
  showPart('login');
  setStatus('Please sign in.');
});

$('add-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = new FormData(event.target).get('name');
  setStatus('Follow your browser’s prompt…');
  const made = await ceremony('create', '/api/passkeys/options');
  if (made.refused?.status === 401) return start();
  if (made.refused) return setStatus(explain(made.refused), true);
  if (made.cancelled) return setStatus(made.cancelled, true);
  const result = await api('POST', '/api/passkeys', { response: made.response, name });
  if (result.status !== 201) return setStatus(explain(result), true);
  event.target.reset();
  setStatus(`Added “${result.data.passkey.name}”.`);
  if (result.data.recoveryCodes) {
    $('code-list').replaceChildren(
      ...result.data.recoveryCodes.map((code) => {
        const item = document.createElement('li');
        item.textContent = code;
        return item;
      }),
    );
    $('codes').hidden = false;
  }
  await loadPasskeys();
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout');
  csrfToken = null;
  $('codes').hidden = true;
  await start();
});

// Without WebAuthn (an old browser, or a page not on a secure origin) the password still works.
for (const button of document.querySelectorAll('button.passkey')) button.disabled = !webauthn;

start().catch(() => setStatus('The server cannot be reached.', true));
