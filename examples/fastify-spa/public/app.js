// The whole single-page app: no framework, no build step, no inline script (CSP script-src 'self').
// The session cookie is HttpOnly, so this code never sees it; it only keeps the CSRF token that
// the sign-in answer (or GET /api/me) hands out, and sends it as X-CSRF-Token on every POST.

let csrfToken = null;

const $ = (id) => document.getElementById(id);

function show(user, clicks) {
  $('login').hidden = user !== null;
  $('app').hidden = user === null;
  $('username').textContent = user ? user.username : '';
  $('clicks').textContent = String(clicks ?? 0);
  setStatus(user ? '' : 'Please sign in.');
}

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
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

async function start() {
  const { status, data } = await api('GET', '/api/me');
  if (status === 200) {
    csrfToken = data.csrfToken;
    show(data.user, data.clicks);
  } else {
    show(null);
  }
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const { status, data } = await api('POST', '/api/login', {
    username: form.get('username'),
    password: form.get('password'),
  });
  if (status !== 200)
    return setStatus(status === 429 ? 'Too many attempts.' : 'Wrong username or password.', true);
  csrfToken = data.csrfToken;
  event.target.reset();
  show(data.user, 0);
});

$('click').addEventListener('click', async () => {
  const { status, data } = await api('POST', '/api/clicks');
  if (status === 401) return show(null);
  if (status !== 200) return setStatus(`Refused (${status}).`, true);
  $('clicks').textContent = String(data.clicks);
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout');
  csrfToken = null;
  show(null);
});

start().catch(() => setStatus('The server cannot be reached.', true));
