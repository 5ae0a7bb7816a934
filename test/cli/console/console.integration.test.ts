/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { request } from 'node:http';
import { join } from 'node:path';
import { defineCatalog, type Flyer, type Item, type Merchant } from '../../../example';
import { CONFIRM_HEADER, startConsole, type RunningConsole } from '../../../shared/cli/console/console-server';
import type { LiveSnapshot } from '../../../shared/cli/console/live-metrics';
import { runtimeAccess } from '../../../shared/cli/console/runtime-access';
import type { RunningPipeline } from '../../../shared/local';
import type { Pipeline } from '../../../shared/pipeline';
import { writeValue } from '../../../shared/schemas';
import { newRootContext, traceHeaders } from '../../../shared/tracing';
import { chromiumAvailable, CHROMIUM_PATH, openBrowser, type OpenBrowser, type WatchedPage } from '../../support/browser';
import { runCatalogPipeline } from '../../support/catalog-pipeline';
import { eventually, produce, readAll, readTopic, recordCount, uniqueName, useTestServices } from '../../support/integration';

/** Where the browser test leaves its screenshots (git-ignored). */
const SCREENSHOTS = join(__dirname, '..', '..', '..', 'test-output', 'console');

/** A request with headers a browser's fetch would not let a page set (Host, Origin). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    sent.on('error', reject);
    sent.end(options.body);
  });
}

/** The first `count` snapshots the live stream sends. */
function liveSnapshots(url: string, count: number): Promise<LiveSnapshot[]> {
  return new Promise((resolve, reject) => {
    const snapshots: LiveSnapshot[] = [];
    const sent = request(`${url}api/live/stream`, (response) => {
      let buffer = '';
      response.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (event.startsWith('data: ')) snapshots.push(JSON.parse(event.slice(6)) as LiveSnapshot);
          if (snapshots.length === count) {
            sent.destroy();
            resolve(snapshots);
          }
        }
      });
    });
    sent.on('error', (error) => (snapshots.length === count ? undefined : reject(error)));
    sent.end();
  });
}

/** Waits until a node of the picture shows live numbers that match (functions, not strings: the page's policy forbids eval). */
function liveMatches(page: Page, nodeId: string, pattern: RegExp) {
  return page.waitForFunction(
    ([selector, source]) => new RegExp(source!).test(document.querySelector(selector!)?.getAttribute('data-live') ?? ''),
    [`[data-node="${nodeId}"]`, pattern.source],
  );
}

describe('The web console, against the example pipeline running on the test services (integration)', () => {
  const services = useTestServices('console-test');
  const catalog = defineCatalog(`${uniqueName('console')}.`);
  let pipeline: Pipeline;
  let running: RunningPipeline;
  let access: ReturnType<typeof runtimeAccess>;
  let webConsole: RunningConsole;
  const items = catalog.itemsWithFlyer.leftTopic;

  /** Produces entity records in their topic's wire format, each in a trace of its own. */
  const publish = async (topic: string, records: ReadonlyArray<readonly [string, unknown]>) =>
    produce(
      services.kafka,
      topic,
      await Promise.all(
        records.map(async ([key, value]) => ({
          key,
          value: await writeValue(catalog.formats.get(topic)!, value),
          headers: traceHeaders(newRootContext()),
        })),
      ),
    );
  const letters = async () => readAll(services.kafka, catalog.itemsWithFlyer.deadLetterTopic);

  beforeAll(async () => {
    ({ pipeline, running } = await runCatalogPipeline(services, catalog));
    access = runtimeAccess(services.runtime, pipeline);
    webConsole = await startConsole({
      access,
      live: { consumers: () => running.mappings, lag: () => running.lag() },
      port: 0,
      sampleIntervalMs: 300,
    });
    const merchant: Merchant = { merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null };
    const flyer: Flyer = { flyerId: 'f-1', merchantId: 'm-1', title: 'Week 1', validFrom: 1, validUntil: 2 };
    const item: Item = { itemId: 'i-1', flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null };
    await publish(catalog.offers.rightTopic, [['m-1', merchant]]);
    await publish(catalog.itemsWithFlyer.rightTopic, [['f-1', flyer]]);
    await publish(items, [['i-1', item]]);
    // A record the items topic's format cannot read: the join's left side dead-letters it.
    await produce(services.kafka, items, [
      { key: 'i-broken', value: Buffer.from('not avro at all'), headers: traceHeaders(newRootContext()) },
    ]);
    await eventually(
      'the offer of i-1 is out and the broken item dead-lettered',
      async () =>
        // A topic created moments ago may not have its leaders yet: read again on the next poll.
        (await readAll(services.kafka, catalog.offers.outputTopic).catch(() => [])).some((record) => record.key === 'i-1') &&
        (await letters().catch(() => [])).some((letter) => letter.key === 'i-broken'),
      60_000,
    );
  });
  afterAll(async () => {
    await webConsole?.stop();
    access?.close();
    await running?.stop();
  });

  describe('its API', () => {
    it('serves the page under a content security policy, and answers a request for another host name with 421', async () => {
      const page = await rawRequest(webConsole.url);
      const elsewhere = await rawRequest(webConsole.url, { headers: { host: 'attacker.example' } });

      expect(webConsole.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.body).toContain('<script type="module" src="/console.js"></script>');
      expect(elsewhere.status).toBe(421);
      expect(JSON.parse(elsewhere.body)).toEqual({ error: 'the console answers on 127.0.0.1 only', status: 421 });
    });

    it('answers what it cannot do with the reason as JSON: an unknown consumer, a topic no join writes, an unknown store', async () => {
      const consumer = await rawRequest(`${webConsole.url}api/dead-letters/nobody`);
      const explain = await rawRequest(`${webConsole.url}api/explain/${encodeURIComponent(items)}/i-1`);
      const state = await rawRequest(`${webConsole.url}api/state/nothing/k`);

      expect([consumer.status, explain.status, state.status]).toEqual([400, 400, 400]);
      expect(JSON.parse(consumer.body).error).toMatch(/^no consumer "nobody" in pipeline/);
      expect(JSON.parse(explain.body).error).toMatch(/is not a join's output/);
      expect(JSON.parse(state.body).error).toMatch(/^no join or hot stream "nothing"/);
    });

    it('refuses a redrive that does not come from its own page, and sends nothing', async () => {
      const redrive = `${webConsole.url}api/dead-letters/${encodeURIComponent(`${catalog.itemsWithFlyer.name}.left`)}/redrive`;
      const json = { 'content-type': 'application/json' };
      const before = (await readAll(services.kafka, items)).length;

      const unconfirmed = await rawRequest(redrive, { method: 'POST', headers: json, body: '{}' });
      const otherOrigin = await rawRequest(redrive, {
        method: 'POST',
        headers: { ...json, [CONFIRM_HEADER]: 'redrive', origin: 'http://attacker.example' },
        body: '{}',
      });
      const form = await rawRequest(redrive, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', [CONFIRM_HEADER]: 'redrive' },
        body: 'a=b',
      });

      expect([unconfirmed.status, otherOrigin.status, form.status]).toEqual([403, 403, 403]);
      expect(JSON.parse(otherOrigin.body).error).toMatch(/from the console's own page only, not from http:\/\/attacker\.example/);
      expect((await readAll(services.kafka, items)).length).toBe(before);
    });

    it('answers a malformed path, a wrong method, an extra segment, a letter that is not there and a bad offset, each with its own status', async () => {
      const consumer = encodeURIComponent(`${catalog.itemsWithFlyer.name}.left`);
      const confirmed = { 'content-type': 'application/json', [CONFIRM_HEADER]: 'redrive' };
      const answers = await Promise.all([
        rawRequest(`${webConsole.url}api/state/%E0%A4%A/k`),
        rawRequest(`${webConsole.url}api/pipeline`, { method: 'POST', headers: confirmed, body: '{}' }),
        rawRequest(`${webConsole.url}api/pipeline/extra`),
        rawRequest(`${webConsole.url}api/dead-letters/${consumer}/0/999999`),
        rawRequest(`${webConsole.url}api/dead-letters/${consumer}/redrive`, {
          method: 'POST',
          headers: confirmed,
          body: '{"offset":"zero"}',
        }),
        rawRequest(`${webConsole.url}api/dead-letters/${consumer}/redrive`, {
          method: 'POST',
          headers: confirmed,
          body: `{"offset":"${'9'.repeat(5000)}"}`,
        }),
      ]);

      expect(answers.map((answer) => answer.status)).toEqual([400, 405, 404, 404, 400, 413]);
      expect(JSON.parse(answers[0]!.body).error).toMatch(/is not valid percent-encoding/);
      expect(JSON.parse(answers[3]!.body).error).toMatch(/^no letter of .*items-with-flyer\.left at 0:999999 in /);
      expect(JSON.parse(answers[4]!.body).error).toBe(
        'offset must be <partition>:<offset> as dlq list shows them, such as 0:12, got "zero"',
      );
    });

    it('grants no other site its API: no CORS answer to a preflight, and nothing for a cross-site fetch', async () => {
      const preflight = await rawRequest(`${webConsole.url}api/dead-letters/x/redrive`, {
        method: 'OPTIONS',
        headers: { origin: 'http://attacker.example', 'access-control-request-method': 'POST' },
      });
      const crossSite = await rawRequest(`${webConsole.url}api/pipeline`, { headers: { 'sec-fetch-site': 'cross-site' } });

      expect(preflight.status).toBe(404);
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      expect(crossSite.status).toBe(403);
    });

    it('streams live numbers: per consumer what it handled, its lag and failures, per topic its records and rate', async () => {
      const [first, second] = await liveSnapshots(webConsole.url, 2);

      const left = second!.consumers[`${catalog.itemsWithFlyer.name}.left`];
      expect(left).toMatchObject({ state: 'polling', lag: expect.any(Number), failedInvocations: expect.any(Number) });
      expect(left!.succeeded).toBeGreaterThanOrEqual(1);
      expect(second!.topics[catalog.offers.outputTopic]!.records).toBeGreaterThanOrEqual(1);
      expect(second!.topics[catalog.itemsWithFlyer.deadLetterTopic]!.records).toBeGreaterThanOrEqual(1);
      expect(Date.parse(second!.at)).toBeGreaterThan(Date.parse(first!.at));
      expect(second!.problems).toEqual([]);
    });
  });

  // Skipped, and named so in the report, only where Chromium is not installed; CI, which installs it, requires it.
  const withChromium = chromiumAvailable();
  if (!withChromium && process.env.CONSOLE_BROWSER_TEST === 'required')
    throw new Error(`CONSOLE_BROWSER_TEST=required, but there is no Chromium at ${CHROMIUM_PATH} (npm run install:chromium)`);
  describe(`in headless Chromium${withChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM_PATH}; npm run install:chromium)`}`, () => {
    const it = withChromium ? global.it : global.it.skip;
    let browser: OpenBrowser;
    let watched: WatchedPage;

    beforeAll(async () => {
      if (!withChromium) return;
      mkdirSync(SCREENSHOTS, { recursive: true });
      browser = await openBrowser();
      watched = await browser.newPage();
      await watched.page.setViewportSize({ width: 1600, height: 1200 });
      await watched.page.goto(webConsole.url);
      await watched.page.waitForSelector('body[data-ready="true"]');
    });
    afterAll(() => browser?.close());
    // Whatever a test did, the page logged no error and threw nothing.
    afterEach(() => {
      if (withChromium) expect(watched.errors).toEqual([]);
    });

    it('draws every topic, consumer and table of the declaration, and puts live numbers on them without a reload', async () => {
      const { page } = watched;
      const drawn = await page.$$eval('[data-node]', (nodes) => nodes.map((node) => node.getAttribute('data-node')));

      expect(drawn).toEqual(
        expect.arrayContaining([
          ...pipeline.topics.map((topic) => `topic:${topic.name}`),
          ...pipeline.consumers.map((consumer) => `consumer:${consumer.name}`),
          ...pipeline.tables.map((table) => `table:${table.name}`),
        ]),
      );
      expect(drawn).toHaveLength(pipeline.topics.length + pipeline.consumers.length + pipeline.tables.length);
      expect(await page.$$('svg path.edge')).not.toHaveLength(0);
      await liveMatches(page, `topic:${catalog.offers.outputTopic}`, /^\d+ records · [\d.]+\/s$/);
      await liveMatches(page, `consumer:${catalog.itemsWithFlyer.name}.left`, /\/s · lag \d+ · \d+ failed$/);
      await expect(page.locator('#live-status').getAttribute('data-state')).resolves.toBe('live');
      await page.screenshot({ path: join(SCREENSHOTS, 'pipeline.png'), fullPage: true });
    });

    it('opens a dead letter with its reason and trace, sends nothing when the redrive is cancelled, and redrives it once confirmed', async () => {
      const { page } = watched;
      const consumer = `${catalog.itemsWithFlyer.name}.left`;
      const broken = (await letters()).find((letter) => letter.key === 'i-broken')!;
      // A redrive writes in a transaction: its records and one commit marker. The partitions' end offsets count both.
      const itemOffsets = () => recordCount(services.kafka, items);
      const before = await itemOffsets();

      // Clicking the consumer in the picture lists its letters.
      await page.click(`[data-node="consumer:${consumer}"]`);
      await page.click(`#dead-letters-list tr[data-letter="${broken.partition}:${broken.offset}"]`);
      await expect(page.textContent('[data-fact="key"]')).resolves.toBe('i-broken');
      await expect(page.textContent('[data-fact="why"]')).resolves.toMatch(/^InvalidRecord: /);
      await expect(page.textContent('[data-fact="trace id"]')).resolves.toMatch(/^[0-9a-f]{32}$/);
      await expect(page.textContent('#letter-value')).resolves.toContain('not avro at all');
      await page.click('#redrive-one');
      await expect(page.textContent('#confirm-text')).resolves.toContain(`the letter ${broken.partition}:${broken.offset} of ${consumer}`);
      await page.click('#confirm-cancel');
      await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
      await expect(itemOffsets()).resolves.toBe(before);
      await page.click('#redrive-one');
      await page.click('#confirm-ok');
      await page.waitForSelector('#redrive-result:not([hidden])');

      await expect(page.textContent('#redrive-result')).resolves.toBe(
        `Redrove the letter ${broken.partition}:${broken.offset} of ${consumer}.`,
      );
      await expect(itemOffsets()).resolves.toBe(before + 2);
      const sent = (await readTopic(services.kafka, items, 3)).filter((record) => record.headers['x-redriven-from'] !== undefined);
      expect(sent.map((record) => [record.key, record.headers['x-redriven-from']])).toEqual([
        ['i-broken', `${catalog.itemsWithFlyer.deadLetterTopic}-${broken.partition}@${broken.offset}`],
      ]);
      // The list is read again after a redrive; asked again, the letter is not sent twice.
      await page.click(`#dead-letters-list tr[data-letter="${broken.partition}:${broken.offset}"]`);
      await page.click('#redrive-one');
      await page.click('#confirm-ok');
      await page.waitForFunction(() => document.querySelector('#redrive-result')?.textContent?.includes('had been redriven before'));
      await expect(itemOffsets()).resolves.toBe(before + 2);
    });

    it('explains an offer: the item, flyer and merchant records it was joined from, and which one caused it', async () => {
      const { page } = watched;
      await page.click(`[data-node="topic:${catalog.offers.outputTopic}"]`);
      await page.fill('#explain-key', 'i-1');
      await page.click('#explain-form button[type="submit"]');
      await page.waitForSelector('#explain-result .lineage');

      const shown = await page.$$eval('#explain-result [data-record]', (boxes) => boxes.map((box) => box.getAttribute('data-record')));
      const topicsShown = shown.map((where) => where!.replace(/-\d+@\d+$/, ''));
      expect(topicsShown).toEqual([
        catalog.offers.outputTopic,
        catalog.itemsWithFlyer.outputTopic,
        catalog.itemsWithFlyer.leftTopic,
        catalog.itemsWithFlyer.rightTopic,
        catalog.offers.rightTopic,
      ]);
      const text = await page.textContent('#explain-result');
      expect(text).toContain(`joined by ${catalog.offers.name} (left join) at position`);
      expect(text).toContain('"name": "Milk"');
      expect(text).toContain('"name": "Corner Shop"');
      // The offer came with its item (the merchant and flyer were there first): left, then left again, is the cause.
      const causes = await page.$$eval('#explain-result .cause', (marks) =>
        marks.map((mark) =>
          mark
            .closest('[data-record]')
            ?.getAttribute('data-record')
            ?.replace(/-\d+@\d+$/, ''),
        ),
      );
      expect(causes).toEqual([catalog.itemsWithFlyer.outputTopic, catalog.itemsWithFlyer.leftTopic]);
      await page.screenshot({ path: join(SCREENSHOTS, 'explain.png'), fullPage: true });
    });

    it("looks a key up in a join's state", async () => {
      const { page } = watched;
      await page.selectOption('#state-store', catalog.offers.name);
      await page.fill('#state-key', 'i-1');
      await page.click('#state-form button[type="submit"]');
      await page.waitForSelector('#state-result:not([hidden])');

      const state = JSON.parse((await page.textContent('#state-result'))!) as { kind: string; asLeft: { foreignKey: string } };
      expect(state).toMatchObject({ kind: 'join', join: catalog.offers.name, key: 'i-1', asLeft: { foreignKey: 'm-1' } });
    });

    it('says it is not live while npm start is gone, and is live again once it is back on the same port, without a reload', async () => {
      // A console of its own, stopped and started again as a Ctrl-C and a new npm start would.
      const own = await startConsole({
        access,
        live: { consumers: () => running.mappings, lag: () => running.lag() },
        port: 0,
        sampleIntervalMs: 300,
      });
      const port = Number(new URL(own.url).port);
      const watching = await browser.newPage();
      let again: RunningConsole | undefined;
      try {
        await watching.page.goto(own.url);
        await watching.page.waitForSelector('#live-status[data-state="live"]');

        await own.stop();
        await watching.page.waitForSelector('#live-status[data-state="lost"]');
        const whileGone = await watching.page.textContent('#live-status');
        again = await startConsole({
          access,
          live: { consumers: () => running.mappings, lag: () => running.lag() },
          port,
          sampleIntervalMs: 300,
        });
        // EventSource retries on its own, every few seconds.
        await watching.page.waitForSelector('#live-status[data-state="live"]', { timeout: 30_000 });

        expect(whileGone).toBe('not live: reconnecting…');
        // Live from the moment the stream reopens; a snapshot of the new stream stamps its time ("live · 06:55:01").
        await watching.page.waitForFunction(() => document.querySelector('#live-status')?.textContent?.startsWith('live · '));
        await liveMatches(watching.page, `topic:${catalog.offers.outputTopic}`, /^\d+ records/);
        // What Chromium itself logs for the refused reconnections is all there is: nothing from the page's own code.
        expect(watching.errors.filter((error) => !/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/.test(error))).toEqual(
          [],
        );
      } finally {
        await watching.page.close();
        await again?.stop();
      }
    });

    it('shows an error the server answers in a banner, not a blank page', async () => {
      const { page } = watched;
      // A store the declaration does not have, as a stale page might still offer.
      await page.$eval('#state-store', (select) => select.append(new Option('gone', 'gone')));
      await page.selectOption('#state-store', 'gone');
      await page.click('#state-form button[type="submit"]');
      await page.waitForSelector('#error:not([hidden])');

      await expect(page.textContent('#error-text')).resolves.toMatch(/^no join or hot stream "gone" in pipeline/);
      // Chromium itself logs the failed request; that one message is expected, nothing else.
      expect(watched.errors).toEqual([
        expect.stringMatching(/^console\.error: Failed to load resource: the server responded with a status of 400/),
      ]);
      watched.errors.length = 0;
    });
  });
});
