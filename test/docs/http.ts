// A small HTTP client for the scenarios: a cookie jar, a timeout on every request (a request
// the app never answers fails the step instead of hanging the test), and messages that say which
// snippet and which step.
import { expect } from 'vitest';

/** How long an app may take to answer one request. */
const ANSWER_TIMEOUT_MS = 5_000;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** Set-Cookie lines of this answer. */
  setCookie: string[];
  /** The body parsed as JSON (`undefined` if it is not JSON). */
  body: unknown;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  /** Sent as is (with the content type of `headers`). */
  raw?: string;
}

/** A browser-like client of one app: keeps cookies, never follows redirects. */
export class Client {
  readonly cookies = new Map<string, string>();

  /** `url` is the app's origin; `where` names the snippet (`docs/adapters.md:97`) in every message. */
  constructor(
    readonly url: string,
    readonly where: string,
  ) {}

  /** The Cookie header this client sends. */
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(step: string, path: string, options: RequestOptions = {}): Promise<Answer> {
    const headers = new Headers(options.headers);
    let body: string | undefined;
    if (options.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(options.form).toString();
    } else if (options.raw !== undefined) {
      body = options.raw;
    }
    if (this.cookies.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookieHeader());
    const method = options.method ?? (body === undefined ? 'GET' : 'POST');
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (error) {
      const why =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${ANSWER_TIMEOUT_MS} ms (the request hangs)`
          : String(error);
      throw new Error(`${this.where}: ${step}: ${method} ${path}: ${why}`);
    }
    const setCookie = res.headers.getSetCookie();
    for (const line of setCookie) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, setCookie, body: parsed };
  }

  /** Asserts the status, naming the snippet, the step and the answer's body on failure. */
  expectStatus(answer: Answer, status: number, step: string): void {
    expect(
      answer.status,
      `${this.where}: ${step}: expected ${status}, got:\n${answer.text.slice(0, 500)}`,
    ).toBe(status);
  }

  /** Asserts a property of an answer, naming the snippet and the step on failure. */
  expectBody(answer: Answer, expected: Record<string, unknown>, step: string): void {
    expect(answer.body, `${this.where}: ${step}: body`).toMatchObject(expected);
  }
}

/** The value of `<input … name="NAME" value="…">` in an HTML page, or `null`. */
export function inputValue(html: string, name: string): string | null {
  const match = new RegExp(`name="${name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="${name}"`).exec(
    html,
  );
  return match?.[1] ?? match?.[2] ?? null;
}
