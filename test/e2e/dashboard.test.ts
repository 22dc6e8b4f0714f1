import { existsSync } from 'node:fs';
import { type LocalCluster, startLocalCluster } from '@rowshard/cli';
import { type Browser, chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

/**
 * The dashboard in a real headless Chromium (Debian's, never a downloaded one) during a real
 * run: the browser signs in with the cluster token, then the loss curve must gain points while
 * training goes on, and the shard table must show every shard. Skipped, with the reason printed, where /usr/bin/chromium is not installed.
 */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`dashboard e2e skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!haveChromium)('dashboard', () => {
  it('shows a live loss curve, eval accuracy and the shards of a running job', async () => {
    let cluster: LocalCluster | null = null;
    let browser: Browser | null = null;
    let dashboard = '';
    try {
      cluster = await startLocalCluster({
        job: {
          seed: 0,
          model: {
            name: 'text_classifier',
            options: { vocabSize: 5000, embeddingDim: 16, hiddenDim: 16, numClasses: 3, dropout: 0 },
          },
          optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
          steps: 3000,
          batchSize: 64,
          data: { kind: 'synthetic_text', vocabSize: 5000, seqLen: 12, numClasses: 3, seed: 1 },
          eval: {
            data: { kind: 'synthetic_text', vocabSize: 5000, seqLen: 12, numClasses: 3, seed: 2 },
            everySteps: 20,
            batches: 1,
            batchSize: 64,
          },
          logEverySteps: 5,
          debug: { slowRanks: { '0': 10 } },
        },
        ps: 2,
        trainers: 1,
        workersPerTrainer: 2,
        dashboard: true,
        onEvent: (role, e) => {
          if (role === 'coordinator' && e.event === 'listening') dashboard = String(e.dashboard);
        },
      });
      expect(dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      // The launcher always makes a cluster token: the page asks for it before it shows anything.
      expect((await fetch(`${dashboard}api/status`)).status).toBe(401);
      const page = await browser.newPage();
      expect((await page.goto(dashboard))?.status()).toBe(401);
      expect(await page.locator('#shards').count()).toBe(0);
      await page.fill('#token', 'not-the-token');
      await page.click('#signin');
      await page.waitForSelector('#error');
      await page.fill('#token', cluster.token);
      await page.click('#signin');
      await page.waitForSelector('#lossLine');
      // Signed in, the page loads without one failed request or script error (a favicon 404 was one).
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      await page.reload();
      await page.waitForSelector('#lossLine');
      // The session cookie holds the viewer credential, never the token, and scripts cannot read it.
      const [session] = await page.context().cookies();
      expect(session).toMatchObject({ name: 'rowshard_session', value: cluster.credential('viewer'), httpOnly: true });
      const points = async () => Number((await page.getAttribute('#lossLine', 'data-points')) ?? 0);
      await page.waitForFunction(() => Number(document.querySelector('#lossLine')?.getAttribute('data-points') ?? 0) >= 2, null, {
        timeout: 30_000,
      });
      const first = await points();
      await page.waitForFunction(
        (n) => Number(document.querySelector('#lossLine')?.getAttribute('data-points') ?? 0) > n + 2,
        first,
        { timeout: 30_000 },
      );
      expect(await points()).toBeGreaterThan(first);
      expect((await page.getAttribute('#lossLine', 'points'))?.split(' ').length).toBeGreaterThan(first);
      await page.waitForFunction(() => document.querySelector('#acc')?.textContent?.endsWith('%'), null, { timeout: 30_000 });
      expect(await page.locator('#shards tbody tr').count()).toBe(2);
      expect(await page.textContent('#phase')).toContain('phase: running');
      // The epoch as a count of restores (the first one, at start), not a clock reading.
      expect(await page.textContent('#phase')).toContain('epoch 1 ');
      // Both charts have axes: values at the side, steps below, with units.
      for (const chart of ['#lossChart', '#evalChart']) {
        const labels = await page.locator(`${chart} .axes text`).allTextContents();
        expect(labels).toContain('step');
        expect(labels.length).toBeGreaterThanOrEqual(11);
      }
      expect(await page.locator('#evalChart .axes text').allTextContents()).toContain('100%');
      expect(consoleErrors).toEqual([]);
    } finally {
      await browser?.close();
      await cluster?.stop();
    }
  });
});
