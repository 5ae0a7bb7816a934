import type { Kafka, Message, Producer } from 'kafkajs';
import { generateCatalog, TickSource, zipfSampler, type Catalog, type CatalogSize } from '../../../example';
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
}

/**
 * Feeds the example domain: seeds merchants, flyers and items (the catalog a
 * monolith would liberate), then sends a continuous, skewed stream of price
 * and stock ticks, with now and then an item renamed or moved to another
 * flyer, a flyer moved to another merchant, a delete, and a malformed record,
 * so the live view shows joins, coalescing and dead-lettering at work.
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
  if (options.seedCatalog ?? true) {
    await send(
      catalog.offers.rightTopic,
      data.merchants.map((merchant) => fact(merchant.merchantId, merchant)),
    );
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
