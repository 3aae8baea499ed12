import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { CHROMIUM, E2E_TIMEOUT_MS, launchBrowser } from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

// No hooks here on purpose: without Chromium this file FAILS test by test (the other e2e files
// fail in their beforeAll with the same message). The e2e suite never skips.
describe('the e2e browser', () => {
  it("Debian's Chromium is installed at /usr/bin/chromium", () => {
    expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: apt-get install -y chromium`).toBe(true);
  });

  it('launches headless and renders a page', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.setContent('<title>ok</title><p>hello</p>');
      expect(await page.title()).toBe('ok');
      expect(browser.version()).toMatch(/^\d+\./);
    } finally {
      await browser.close();
    }
  });
});
