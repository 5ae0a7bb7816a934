import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium for the tests that look at a page as a person would.
 *
 * It is Debian's Chromium (`npm run install:chromium`), launched by its path:
 * playwright-core is only the driver, and no browser is downloaded by npm or
 * by Playwright. The tests run as root (CI does), where Chromium's own sandbox
 * cannot start, so it runs without one (`chromiumSandbox: false`: Playwright
 * passes `--no-sandbox`); the pages it loads are the platform's own, on loopback.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether Chromium is installed at CHROMIUM_PATH, so a test can say it is missing rather than fail to launch. */
export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A page in a context of its own, with every error it reported: a test ends with `expect(errors).toEqual([])`. */
export interface WatchedPage {
  readonly page: Page;
  /** Each `console.error` (text and source location) and each uncaught exception (its stack), in order. */
  readonly errors: string[];
}

export interface OpenBrowser {
  readonly browser: Browser;
  newPage(): Promise<WatchedPage>;
  /** Closes the browser and every page it opened. */
  close(): Promise<void>;
}

/** Launches Chromium headless (a few hundred milliseconds); close it in `afterAll`. */
export async function openBrowser(): Promise<OpenBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, chromiumSandbox: false });
  return {
    browser,
    async newPage() {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        const { url, line, column } = message.location(); // 0-based; written 1-based, as in a stack trace
        errors.push(`console.error: ${message.text()} (at ${url}:${line + 1}:${column + 1})`);
      });
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.stack ?? error.message}`));
      return { page, errors };
    },
    close: () => browser.close(),
  };
}
