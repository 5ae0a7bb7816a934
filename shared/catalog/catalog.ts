import { defineJoin, type FkJoin } from '../fk-join';
import { repositorySchemas, validatedJsonCodec } from '../schemas';
import { definePriceStream, defineStockStream, type HotStream, type PriceUpdate, type StockUpdate } from '../hot-path';
import type { TopicDeclaration } from '../pipeline';
import { offerOf, type Flyer, type Item, type ItemWithFlyer, type Merchant, type Offer } from './model';

/** The example domain's streams: two joins to the `offers` Core Event, and the price and stock hot streams. */
export interface Catalog {
  readonly topics: readonly TopicDeclaration[];
  readonly itemsWithFlyer: FkJoin<Item, Flyer, ItemWithFlyer>;
  readonly offers: FkJoin<ItemWithFlyer, Merchant, Offer>;
  readonly prices: HotStream<PriceUpdate>;
  readonly stocks: HotStream<StockUpdate>;
}

/**
 * The example domain: merchants, flyers (→ merchant), items (→ flyer), price
 * and stock updates. `prefix` prefixes every topic and name, so tests can run
 * their own copy beside the real one.
 */
export function defineCatalog(prefix = ''): Catalog {
  const topic = (name: string) => `${prefix}${name}`;
  // Entity inputs are checked against their schemas in schemas/ (by unprefixed topic name) before anything is written.
  const schemas = repositorySchemas();
  const codec = <T>(name: string) => validatedJsonCodec<T>(schemas.get(`${name}-value`)!);
  const itemsWithFlyer = defineJoin<Item, Flyer, ItemWithFlyer>({
    name: topic('items-with-flyer'),
    // An item is an offer only on a flyer that exists.
    type: 'inner',
    leftTopic: topic('items'),
    rightTopic: topic('flyers'),
    outputTopic: topic('items-with-flyer'),
    deadLetterTopic: topic('items-with-flyer.dlq'),
    leftCodec: codec<Item>('items'),
    rightCodec: codec<Flyer>('flyers'),
    foreignKey: (item) => item.flyerId,
    joiner: (item, flyer) => ({ item, flyer: flyer! }),
  });
  const offers = defineJoin<ItemWithFlyer, Merchant, Offer>({
    name: topic('offers'),
    // A flyer's merchant may arrive later than its items: the offer shows it as unknown meanwhile.
    type: 'left',
    leftTopic: itemsWithFlyer.outputTopic,
    rightTopic: topic('merchants'),
    outputTopic: topic('offers'),
    deadLetterTopic: topic('offers.dlq'),
    rightCodec: codec<Merchant>('merchants'),
    // The output is not checked at run time: a join cannot dead-letter its own result (the state is already
    // written), and a refused result would stall the partition. Inputs are checked; the tests check offers.
    foreignKey: (joined) => joined.flyer.merchantId,
    joiner: (joined, merchant) => offerOf(joined.item, joined.flyer, merchant),
  });
  const prices = definePriceStream({
    name: topic('prices'),
    inputTopic: topic('price-updates'),
    outputTopic: topic('price-deltas'),
    deadLetterTopic: topic('price-updates.dlq'),
    minEmitIntervalMs: 10_000,
    coalesceWindowMs: 10_000,
  });
  const stocks = defineStockStream({
    name: topic('stocks'),
    inputTopic: topic('stock-updates'),
    outputTopic: topic('stock-deltas'),
    deadLetterTopic: topic('stock-updates.dlq'),
    minEmitIntervalMs: 10_000,
    coalesceWindowMs: 10_000,
  });
  const topics: TopicDeclaration[] = [
    { name: topic('merchants'), kind: 'entity', partitions: 3 },
    { name: topic('flyers'), kind: 'entity', partitions: 3 },
    { name: topic('items'), kind: 'entity', partitions: 6 },
    { name: topic('items-with-flyer'), kind: 'entity', partitions: 6 },
    { name: topic('offers'), kind: 'entity', partitions: 6 },
    { name: topic('price-updates'), kind: 'event', partitions: 6, retentionMs: 3 * 24 * 3_600_000 },
    { name: topic('stock-updates'), kind: 'event', partitions: 6, retentionMs: 3 * 24 * 3_600_000 },
    { name: topic('price-deltas'), kind: 'event', partitions: 6 },
    { name: topic('stock-deltas'), kind: 'event', partitions: 6 },
    ...['merchants.dlq', 'items-with-flyer.dlq', 'offers.dlq', 'price-updates.dlq', 'stock-updates.dlq'].map(
      (name): TopicDeclaration => ({ name: topic(name), kind: 'dead-letter', partitions: 1, retentionMs: 14 * 24 * 3_600_000 }),
    ),
  ];
  return { topics, itemsWithFlyer, offers, prices, stocks };
}

/** The catalog `pipeline.ts` deploys and `npm start` runs; the handler modules in functions/ use it. */
export const catalog = defineCatalog();
