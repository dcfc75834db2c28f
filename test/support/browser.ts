import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';

/**
 * Headless Chromium for the tests that look at pages as a person would: Debian's chromium (installed by
 * scripts/setup.sh) driven by playwright-core. When the browser is missing, the one reason a browser test
 * may be skipped, `browserMissing()` says why and what to do.
 */

export const CHROMIUM = process.env.CATALOG_SYNC_CHROMIUM ?? '/usr/bin/chromium';

export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return (
    `${CHROMIUM} is missing, so the headless-browser checks are skipped. scripts/setup.sh installs it ` +
    "(apt-get install chromium) when apt is available; install Debian's chromium, or set " +
    'CATALOG_SYNC_CHROMIUM to a Chromium binary, to run them.'
  );
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** Where screenshots go: .local/screenshots/ (kept after the run, printed by each test). */
export async function screenshotPath(name: string): Promise<string> {
  const dir = path.join(repoRoot, '.local', 'screenshots');
  await mkdir(dir, { recursive: true });
  return path.join(dir, name);
}
