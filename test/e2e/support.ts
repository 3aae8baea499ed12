import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Secret, TOTP } from 'otpauth';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type CDPSession,
  chromium,
  type Locator,
  type Page,
  type Response,
} from 'playwright-core';
import { beginTotpEnrolment, confirmTotpEnrolment } from '../../packages/cloakroom/src/auth/index.js';
import { createAccount, type User } from '../../packages/cloakroom/src/auth/users.js';
import type { Clock } from '../../packages/cloakroom/src/core/clock.js';
import { type Env, loadConfig } from '../../packages/server/src/server/boot/config.js';
import { startServer } from '../../packages/server/src/server/boot/serve.js';
import type { ServerDeps } from '../../packages/server/src/server/http/context.js';
import { createLogger } from '../../packages/server/src/server/http/logger.js';
import { freePort } from '../support/services.js';

/** Debian's Chromium; the e2e suite fails (never skips) without it. */
export const CHROMIUM = '/usr/bin/chromium';
/** A fixed, strong keyring secret for the e2e servers (32 random bytes, base64url). Tests only. */
export const E2E_SECRET = 'Qm7vX2cRk9TnY4pLw8sJd1fHa6uGe3zBq0oVi5xNtKc';
/** The password of every user the e2e helpers create unless told otherwise. */
export const PASSWORD = 'correct horse battery staple';
/** Generous limits: a real browser on a busy CI machine. */
export const E2E_TIMEOUT_MS = 60_000;

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
/** The screenshots docs/pages.md shows. */
export const DOCS_IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

/**
 * Launches headless Chromium; throws a clear, actionable error when it is not installed.
 * `args`: extra command-line switches after the usual ones (feature flags, trusted certificates).
 */
export async function launchBrowser(options: { args?: readonly string[] } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      ...(options.args ?? []),
    ],
    timeout: E2E_TIMEOUT_MS,
  });
}

/** A fresh context (own cookie jar) with generous timeouts. */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

/** One parsed pino line. */
export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string };

export interface E2EServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Same as `url`: the origin the browser sees. */
  origin: string;
  deps: ServerDeps;
  /** Every log line the server wrote, parsed. */
  logs: LogLine[];
  /** The one-time set-up link, when the server logged `setup.needed`. */
  setupUrl: string | null;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts the real login server in-process (loadConfig + startServer) on 127.0.0.1, a free
 * port, a fresh data dir and a fixed strong keyring, with every log line captured. `clock`: the
 * server's "now" (a fixed one makes dates on the pages, and so screenshots, repeatable).
 */
export async function startE2EServer(
  overrides: Env = {},
  options: { clock?: Clock } = {},
): Promise<E2EServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-e2e-'));
  const env: Env = {
    HOST: '127.0.0.1',
    PORT: '0',
    CLOAKROOM_DATA_DIR: dataDir,
    CLOAKROOM_SECRETS: E2E_SECRET,
    LOG_LEVEL: 'info',
    ...overrides,
  };
  const logs: LogLine[] = [];
  const destination = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      }
    },
  };
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const config = loadConfig(env);
    server = await startServer(config, createLogger(config.logLevel, destination), options.clock);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const setup = logs.find((l) => l.event === 'setup.needed');
  let closed = false;
  return {
    url: server.url,
    origin: new URL(server.url).origin,
    deps: server.deps,
    logs,
    setupUrl: typeof setup?.setupUrl === 'string' ? setup.setupUrl : null,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await server.close(1_000);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Creates a user directly in the store (not through the UI). */
export function createUser(
  server: E2EServer,
  username: string,
  options: { roles?: string[]; password?: string; displayName?: string } = {},
): Promise<User> {
  const { deps } = server;
  return createAccount(
    deps.users,
    deps.passwords,
    {
      username,
      password: options.password ?? PASSWORD,
      roles: options.roles ?? [],
      ...(options.displayName ? { displayName: options.displayName } : {}),
    },
    deps.clock.now(),
  );
}

/**
 * Clicks something that submits a form and waits for the resulting navigation to settle.
 * Returns the final main-frame response (after any redirects).
 */
export async function submit(page: Page, click: () => Promise<void>): Promise<Response | null> {
  // waitForNavigation is the one API that resolves with the *final* response of a POST that
  // may or may not redirect, on the same URL or another; the Promise.all pattern avoids its race.
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()]);
  return response;
}

/**
 * Signs in through the real /login form: opens `path` (default /login) unless `navigate` is
 * false (the page already shows the form), fills it and submits. Returns the final response
 * (normally /account or the `next` page); asserts nothing, so wrong passwords can use it too.
 */
export async function signIn(
  page: Page,
  url: string,
  username: string,
  password: string = PASSWORD,
  options: { remember?: boolean; path?: string; navigate?: boolean } = {},
): Promise<Response | null> {
  if (options.navigate !== false) await page.goto(`${url}${options.path ?? '/login'}`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  if (options.remember) await page.locator('input[name="remember"]').check();
  return submit(page, () => page.locator('form[action="/login"] button[type="submit"]').click());
}

/**
 * Saves a full-page PNG to test/e2e/screenshots/<name>.png; with `docs`, also to
 * docs/images/<name>.png (the screenshots docs/pages.md shows).
 */
export async function shot(page: Page, name: string, options: { docs?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (options.docs) {
    mkdirSync(DOCS_IMAGES, { recursive: true });
    copyFileSync(path, join(DOCS_IMAGES, `${name}.png`));
  }
  return path;
}

/** `GET /api/session` from inside the page's context (its cookies): status and username. */
export async function whoAmI(
  context: BrowserContext,
  url: string,
): Promise<{ status: number; username: string | null }> {
  const response = await context.request.get(`${url}/api/session`, { failOnStatusCode: false });
  const status = response.status();
  if (status !== 200) return { status, username: null };
  const body = (await response.json()) as { user: { username: string } };
  return { status, username: body.user.username };
}

/** The text a person sees in an element (rendered text, as Playwright's `innerText()`). */
export function textOf(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText() is the rendered text we assert on, not the DOM property
  return locator.innerText();
}

/** The text of the flash message on the page, or null. */
export async function flashText(page: Page): Promise<string | null> {
  const flash = page.locator('main > .flash');
  return (await flash.count()) > 0 ? (await textOf(flash.first())).trim() : null;
}

/** How many CSS pixels the page is wider than the viewport (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate<number>(
    'Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth)',
  );
}

/**
 * The code an authenticator app shows for `key` (base32, spaces allowed, as the set-up page
 * prints it) at `at`: computed with otpauth, the library the server uses, never by hand.
 */
export function totpCode(key: string, at: number): string {
  return new TOTP({ secret: Secret.fromBase32(key.replace(/\s/g, '')) }).generate({ timestamp: at });
}

/**
 * Turns on two-step sign-in for `username` directly through the account actions (not the
 * pages), at the server's "now": the key and the ten recovery codes. The code of that time
 * step is then used up: a sign-in needs the next step's.
 */
export async function enrolSecondFactor(
  server: E2EServer,
  username: string,
): Promise<{ key: string; codes: string[] }> {
  const { deps } = server;
  const user = await deps.users.getByUsername(username);
  if (!user) throw new Error(`no user ${username}`);
  const request = {
    method: 'POST',
    headers: new Headers(),
    https: false,
    host: new URL(server.url).host,
    ip: null,
  };
  const { session } = await deps.sessions.create(request, {
    userId: user.id,
    epoch: user.epoch,
    methods: ['pwd'],
  });
  const begun = await beginTotpEnrolment(deps.account, session);
  if (!begun.ok) throw new Error(`enrol ${username}: ${begun.message}`);
  const done = await confirmTotpEnrolment(deps.account, request, session, {
    code: totpCode(begun.secret, deps.clock.now()),
  });
  if (!done.ok) throw new Error(`enrol ${username}: ${done.message}`);
  await deps.sessions.end(done.issued.session);
  return { key: begun.secret, codes: done.recoveryCodes };
}

/**
 * How many CSS pixels the widest card's content sticks out of it (0 when every card holds its
 * content: a table too wide for its card spills over its edge without making the page scroll).
 */
export async function cardOverflow(page: Page): Promise<number> {
  return page.evaluate<number>(
    "Math.max(0, ...[...document.querySelectorAll('.card')].map((card) => card.scrollWidth - card.clientWidth))",
  );
}

// ---------------------------------------------------------------------------------------------
// Passkeys (WebAuthn) in real Chromium: a server on http://localhost (a browser runs WebAuthn
// only on a secure context for an RP ID that is a domain, and http://localhost is both), a
// virtual authenticator through the DevTools protocol, and a way to steer the sign-in page's
// autofill offer.

/** A server for passkey tests: `url` is its public origin, `http://localhost:PORT`. */
export interface PasskeyServer extends E2EServer {
  /** Where the instance itself listens (`http://127.0.0.1:PORT`): differs from `url` behind a proxy. */
  direct: string;
  /** With `requestLog`: the text log (LOG_FORMAT=pretty), one line per request and per event. */
  text: string[];
}

/**
 * Starts the real server in-process like {@link startE2EServer}, with passkeys on
 * (`CLOAKROOM_PASSKEYS=on`) for `CLOAKROOM_PUBLIC_URL` = `publicUrl` (default
 * `http://localhost:PORT` of a free port). `requestLog`: the text log a person reads, which has a
 * line for every request (method, path, status): what shows which instance served what.
 */
export async function startPasskeyServer(
  overrides: Env = {},
  options: { clock?: Clock; publicUrl?: string; requestLog?: boolean } = {},
): Promise<PasskeyServer> {
  const port = await freePort();
  const publicUrl = options.publicUrl ?? `http://localhost:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-e2e-'));
  const env: Env = {
    HOST: '127.0.0.1',
    PORT: String(port),
    CLOAKROOM_PUBLIC_URL: publicUrl,
    CLOAKROOM_PASSKEYS: 'on',
    CLOAKROOM_DATA_DIR: dataDir,
    CLOAKROOM_SECRETS: E2E_SECRET,
    LOG_LEVEL: 'info',
    ...overrides,
  };
  const logs: LogLine[] = [];
  const text: string[] = [];
  const destination = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        if (options.requestLog) text.push(line);
        else logs.push(JSON.parse(line) as LogLine);
      }
    },
  };
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const config = loadConfig(env);
    const logger = createLogger(config.logLevel, destination, options.requestLog ? 'pretty' : 'json');
    server = await startServer(config, logger, options.clock);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  return {
    url: publicUrl,
    origin: publicUrl,
    direct: server.url,
    deps: server.deps,
    logs,
    text,
    setupUrl: null,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await server.close(1_000);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** A credential a virtual authenticator holds (base64 as the DevTools protocol gives it). */
export interface HeldCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  userHandle?: string;
  signCount: number;
}

/** A virtual authenticator on one page (the DevTools protocol attaches it to that page only). */
export interface VirtualAuthenticator {
  cdp: CDPSession;
  id: string;
  /** The passkeys it holds (resident credentials: rpId, user handle, sign count). */
  credentials(): Promise<HeldCredential[]>;
}

/**
 * A platform authenticator with user verification (a fingerprint that always matches), as
 * Chromium's virtual authenticator: it answers `navigator.credentials.create()/get()` at once,
 * with no prompt. `synced`: its passkeys are backup eligible and backed up (BE and BS set), like
 * a password manager's; otherwise they are bound to it.
 */
export async function addVirtualAuthenticator(
  page: Page,
  options: { synced?: boolean } = {},
): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...(options.synced ? { defaultBackupEligibility: true, defaultBackupState: true } : {}),
    },
  });
  return {
    cdp,
    id: authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
  };
}

/**
 * The sign-in page offers passkeys in the username field's autofill (conditional mediation).
 * Chromium's virtual authenticator answers such a request at once, as if the person had picked
 * the first passkey: a page of a browser holding a passkey would sign in as soon as /login loads.
 * This init script lets a test choose, per origin, with `localStorage['e2e-autofill']` (until
 * set: `initial`, by default `off`):
 *   `off`:  `isConditionalMediationAvailable()` resolves false (a browser without autofill);
 *   `hold`: a conditional request waits until it is aborted (a person who has not picked one);
 *   `real`: the browser's own behaviour.
 * Every `navigator.credentials.get()` is noted in `sessionStorage['e2e-webauthn']`: `modal`,
 * `conditional`, or `conditional-aborted` when a held one was aborted.
 */
export async function steerAutofill(page: Page, initial: 'off' | 'hold' | 'real' = 'off'): Promise<void> {
  await page.addInitScript((initialMode) => {
    const w = globalThis as unknown as {
      localStorage: { getItem(k: string): string | null };
      sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };
      PublicKeyCredential?: { isConditionalMediationAvailable?: () => Promise<boolean> };
      navigator: { credentials?: { get(o?: unknown): Promise<unknown> } };
      DOMException: new (message: string, name: string) => Error;
    };
    const note = (what: string) => {
      const list = JSON.parse(w.sessionStorage.getItem('e2e-webauthn') ?? '[]') as string[];
      list.push(what);
      w.sessionStorage.setItem('e2e-webauthn', JSON.stringify(list));
    };
    const mode = w.localStorage.getItem('e2e-autofill') ?? initialMode;
    if (mode === 'off' && w.PublicKeyCredential)
      w.PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    const credentials = w.navigator.credentials;
    if (!credentials) return;
    const real = credentials.get.bind(credentials);
    credentials.get = (options?: unknown) => {
      const o = (options ?? {}) as {
        mediation?: string;
        signal?: { aborted: boolean; addEventListener(e: string, f: () => void): void };
      };
      const conditional = o.mediation === 'conditional';
      note(conditional ? 'conditional' : 'modal');
      if (conditional && mode === 'hold') {
        return new Promise((_, reject) => {
          o.signal?.addEventListener('abort', () => {
            note('conditional-aborted');
            reject(new w.DOMException('aborted', 'AbortError'));
          });
        });
      }
      return real(options);
    };
  }, initial);
}

/** The part of the Web Storage API the helpers use (the test's types have no DOM). */
interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Sets the autofill mode of {@link steerAutofill} for the page's origin (the page must be on it). */
export async function setAutofill(page: Page, mode: 'off' | 'hold' | 'real'): Promise<void> {
  await page.evaluate((m) => {
    (globalThis as unknown as { localStorage: WebStorage }).localStorage.setItem('e2e-autofill', m);
  }, mode);
}

/** What {@link steerAutofill} has noted so far about the page's WebAuthn requests (this tab). */
export async function peekWebauthnCalls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const storage = (globalThis as unknown as { sessionStorage: WebStorage }).sessionStorage;
    return JSON.parse(storage.getItem('e2e-webauthn') ?? '[]') as string[];
  });
}

/** What {@link steerAutofill} noted about the page's WebAuthn requests (this tab), then clears it. */
export async function webauthnCalls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const storage = (globalThis as unknown as { sessionStorage: WebStorage }).sessionStorage;
    const list = JSON.parse(storage.getItem('e2e-webauthn') ?? '[]') as string[];
    storage.removeItem('e2e-webauthn');
    return list;
  });
}

/**
 * Collects what the console says about CSP or Trusted Types (a blocked script, fetch or sink),
 * and every uncaught error of the page. A refused fetch's "Failed to load resource: 401" is
 * expected in some tests and not collected.
 */
export function watchPolicyErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    if (/content security policy|trusted type|refused to/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return problems;
}

/** The `Content-Security-Policy` headers of a response (there must be exactly one). */
export async function cspOf(response: Response | null): Promise<string[]> {
  if (!response) throw new Error('no response');
  return (await response.headersArray())
    .filter((h) => h.name.toLowerCase() === 'content-security-policy')
    .map((h) => h.value);
}

/** A `cloakroom serve` process of its own (what a second machine behind a load balancer is). */
export interface ServerInstance {
  /** Where it listens: `http://127.0.0.1:PORT`. */
  direct: string;
  /** Its output, line by line (LOG_FORMAT=pretty: one line per request, one per audit event). */
  text: string[];
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Spawns `node packages/server/dist/cli/main.js serve` (run `npm run build` first) with passkeys
 * on for `publicUrl`, the e2e keyring, `LOG_FORMAT=pretty` and `env`, on a free port; resolves
 * once it answers /healthz. Separate processes share nothing but the stores named in `env`.
 */
export async function spawnPasskeyServer(
  publicUrl: string,
  env: Record<string, string>,
): Promise<ServerInstance> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-e2e-'));
  const child = spawn(process.execPath, ['packages/server/dist/cli/main.js', 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      PORT: String(port),
      CLOAKROOM_PUBLIC_URL: publicUrl,
      CLOAKROOM_PASSKEYS: 'on',
      CLOAKROOM_SECRETS: E2E_SECRET,
      CLOAKROOM_DATA_DIR: dataDir,
      LOG_FORMAT: 'pretty',
      LOG_LEVEL: 'info',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text: string[] = [];
  let partial = '';
  const onData = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    text.push(...lines.filter((l) => l.trim() !== ''));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const direct = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`cloakroom serve exited with ${child.exitCode}:\n${text.join('\n')}`);
    }
    const up = await fetch(`${direct}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { direct, text, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`cloakroom serve did not answer /healthz in 20 s:\n${text.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
