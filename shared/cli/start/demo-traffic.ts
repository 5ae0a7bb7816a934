import type { Kafka, Message, Producer } from 'kafkajs';
import type { Client } from 'pg';
import {
  generateCatalog,
  merchantRow,
  monolithId,
  TickSource,
  UPSERT_MERCHANT_SQL,
  zipfSampler,
  type Catalog,
  type CatalogSize,
  type Merchant,
} from '../../../example';
import { orderedProducer, sendChunked } from '../../kafka';
import { seededRandom } from '../../random';
import { JSON_VALUE_FORMAT, writeValue } from '../../schemas';

export interface DemoTrafficOptions extends CatalogSize {
  /**
   * Price and stock updates per second, skewed (Zipf 1.1) over the items. 0: after the catalog, nothing at all
   * (no ticks, no item or flyer changes), so what the topics hold stays put once consumed.
   */
  readonly ticksPerSecond: number;
  readonly seed: number;
  /**
   * Resolves once the merchants and flyers sent so far are consumed; the items are sent after, so
   * that each item joins once, on arrival, instead of once alone and once more when its flyer lands.
   */
  readonly referenceDataConsumed?: () => Promise<void>;
  /**
   * Send the generated catalog first. `npm start -- --persist` passes false when the catalog's topics
   * already hold records, so a restart keeps what is there instead of seeding it again. @default true
   */
  readonly seedCatalog?: boolean;
  /**
   * The monolith's database, where merchants live: they are written there, as the monolith's own code
   * would, and reach the `merchants` entity stream through change data capture.
   */
  readonly monolith: Client;
}

/**
 * Feeds the example domain: writes the merchants into the monolith's database
 * (change data capture takes them from there), seeds flyers and items (the
 * catalog a monolith would liberate), then sends a continuous, skewed stream
 * of price and stock ticks, with now and then an item renamed or moved to
 * another flyer, a flyer moved to another merchant, a merchant's row updated
 * in the monolith, a delete, and a malformed record or row, so the live view
 * shows capture, joins, coalescing and dead-lettering at work.
 */
export async function startDemoTraffic(kafka: Kafka, catalog: Catalog, options: DemoTrafficOptions, log: (line: string) => void) {
  const producer: Producer = orderedProducer(kafka);
  await producer.connect();
  const random = seededRandom(options.seed);
  const data = generateCatalog(options, random);
  // Records go out in each topic's wire format (Avro with a schema id), as a real producer writes them.
  const send = async (topic: string, messages: ReadonlyArray<{ key: string; value: unknown }>, raw: Message[] = []) =>
    sendChunked(producer, topic, [
      ...(await Promise.all(
        messages.map(async ({ key, value }) => ({ key, value: await writeValue(catalog.formats.get(topic) ?? JSON_VALUE_FORMAT, value) })),
      )),
      ...raw,
    ]);
  const fact = <T>(key: string, value: T | null) => ({ key, value });
  const { monolith } = options;
  const writeMerchants = async (merchants: readonly Merchant[]) => {
    await monolith.query('BEGIN');
    try {
      for (const merchant of merchants) await monolith.query(UPSERT_MERCHANT_SQL, [...merchantRow(merchant)]);
      await monolith.query('COMMIT');
    } catch (error) {
      await monolith.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };
  if (options.seedCatalog ?? true) {
    await writeMerchants(data.merchants);
    await send(
      catalog.itemsWithFlyer.rightTopic,
      data.flyers.map((flyer) => fact(flyer.flyerId, flyer)),
    );
    await options.referenceDataConsumed?.();
    await send(
      catalog.itemsWithFlyer.leftTopic,
      data.items.map((item) => fact(item.itemId, item)),
    );
    log(`Seeded ${data.merchants.length} merchants, ${data.flyers.length} flyers and ${data.items.length} items.`);
  } else {
    log('The catalog is there from an earlier run (--persist): not seeding it again.');
  }

  if (options.ticksPerSecond === 0) return { stop: () => producer.disconnect() };

  const ticks = new TickSource(random);
  const nextItem = zipfSampler(data.items.length, 1.1, random);
  let second = 0;
  let sending = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    // While the broker is slow or away, ticks are skipped rather than queued without bound.
    if (busy) return;
    second += 1;
    const itemIds = Array.from({ length: options.ticksPerSecond }, () => data.items[nextItem()]!.itemId);
    const prices = itemIds.filter((_, index) => index % 3 !== 0).map((itemId) => fact(itemId, ticks.price(itemId)));
    const stocks = itemIds.filter((_, index) => index % 3 === 0).map((itemId) => fact(itemId, ticks.stock(itemId)));
    const itemChanges: Array<{ key: string; value: unknown }> = [];
    const flyerChanges: Array<{ key: string; value: unknown }> = [];
    const malformed: Message[] = [];
    const merchantChanges: Merchant[] = [];
    let badMerchantRow: readonly unknown[] | undefined;
    if (second % 5 === 0) {
      const index = Math.floor(random() * data.merchants.length);
      const merchant = data.merchants[index]!;
      data.merchants[index] = { ...merchant, name: `Merchant ${monolithId(merchant.merchantId)} (rev ${second})` };
      merchantChanges.push(data.merchants[index]!);
    }
    if (second % 60 === 0) {
      // Legacy data the public schema refuses: the mapping dead-letters the row, with the reason.
      badMerchantRow = [1_000_000 + second, `Legacy merchant ${second}`, 'Germany', ''];
    }
    if (second % 2 === 0) {
      const index = Math.floor(random() * data.items.length);
      const item = data.items[index]!;
      const moved = {
        ...item,
        name: `${item.name}*`,
        flyerId: random() < 0.5 ? data.flyers[Math.floor(random() * data.flyers.length)]!.flyerId : item.flyerId,
      };
      data.items[index] = moved;
      itemChanges.push(fact(moved.itemId, moved));
    }
    if (second % 10 === 0) {
      const flyer = data.flyers[Math.floor(random() * data.flyers.length)]!;
      flyerChanges.push(
        fact(flyer.flyerId, { ...flyer, merchantId: data.merchants[Math.floor(random() * data.merchants.length)]!.merchantId }),
      );
    }
    if (second % 30 === 0) itemChanges.push({ key: data.items[Math.floor(random() * data.items.length)]!.itemId, value: null });
    if (second % 15 === 0) {
      // A record from a producer that skipped the serializer, and a well-formed price the hot stream refuses.
      malformed.push({ key: `item-broken-${second}`, value: '{"name": "unterminated' });
      prices.push({ key: `item-broken-${second}`, value: { amountMinor: -5, currency: 'EUR', version: 1, sourceTimestamp: Date.now() } });
    }
    busy = true;
    sending = sending
      .then(async () => {
        await send(catalog.prices.inputTopic, prices);
        await send(catalog.stocks.inputTopic, stocks);
        if (itemChanges.length > 0 || malformed.length > 0) await send(catalog.itemsWithFlyer.leftTopic, itemChanges, malformed);
        if (flyerChanges.length > 0) await send(catalog.itemsWithFlyer.rightTopic, flyerChanges);
        if (merchantChanges.length > 0) await writeMerchants(merchantChanges);
        if (badMerchantRow) await monolith.query(UPSERT_MERCHANT_SQL, [...badMerchantRow]);
      })
      .catch((error: unknown) => log(`demo traffic: ${String(error)}`))
      .finally(() => {
        busy = false;
      });
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await sending;
      await producer.disconnect();
    },
  };
}
