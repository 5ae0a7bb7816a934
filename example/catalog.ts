import type { CdcMapping } from '../shared/cdc';
import { defineJoin, type FkJoin } from '../shared/fk-join';
import type { HotStream } from '../shared/hot-path';
import type { TopicDeclaration } from '../shared/pipeline';
import { lazySchemaRegistry, topicValueFormat, type ValueFormat } from '../shared/schemas';
import { definePriceStream, type PriceUpdate } from './price-stream';
import { defineStockStream, type StockUpdate } from './stock-stream';
import { defineMerchantsFromMonolith } from './monolith';
import { offerOf, type Flyer, type Item, type ItemWithFlyer, type Merchant, type Offer } from './model';

/** The example domain's streams: merchants captured from the monolith's database, two joins to the `offers` Core Event, and the price and stock hot streams. */
export interface Catalog {
  readonly topics: readonly TopicDeclaration[];
  readonly itemsWithFlyer: FkJoin<Item, Flyer, ItemWithFlyer>;
  readonly offers: FkJoin<ItemWithFlyer, Merchant, Offer>;
  readonly prices: HotStream<PriceUpdate>;
  readonly stocks: HotStream<StockUpdate>;
  /** The monolith's `merchants` table, captured by change data capture, mapped to the `merchants` entity stream. */
  readonly merchantsFromMonolith: CdcMapping<Merchant>;
  /** Each topic's wire format, by topic name: Avro in the Confluent wire format, dead-letter topics aside. */
  readonly formats: ReadonlyMap<string, ValueFormat>;
}

/**
 * The example domain: merchants, flyers (→ merchant), items (→ flyer), price
 * and stock updates. `prefix` prefixes every topic and name, so tests can run
 * their own copy beside the real one.
 */
export function defineCatalog(prefix = ''): Catalog {
  const topic = (name: string) => `${prefix}${name}`;
  const topics: TopicDeclaration[] = [
    { name: topic('merchants'), kind: 'entity', partitions: 3, valueSchema: 'merchants-value' },
    { name: topic('flyers'), kind: 'entity', partitions: 3, valueSchema: 'flyers-value' },
    { name: topic('items'), kind: 'entity', partitions: 6, valueSchema: 'items-value' },
    { name: topic('items-with-flyer'), kind: 'entity', partitions: 6, valueSchema: 'items-with-flyer-value' },
    { name: topic('offers'), kind: 'entity', partitions: 6, valueSchema: 'offers-value' },
    { name: topic('price-updates'), kind: 'event', partitions: 6, retentionMs: 3 * 24 * 3_600_000, valueSchema: 'price-updates-value' },
    { name: topic('stock-updates'), kind: 'event', partitions: 6, retentionMs: 3 * 24 * 3_600_000, valueSchema: 'stock-updates-value' },
    { name: topic('price-deltas'), kind: 'event', partitions: 6, valueSchema: 'price-deltas-value' },
    { name: topic('stock-deltas'), kind: 'event', partitions: 6, valueSchema: 'stock-deltas-value' },
    // Dead letters keep each record's bytes as they arrived, whatever they are.
    ...['merchants.dlq', 'merchants-from-monolith.dlq', 'items-with-flyer.dlq', 'offers.dlq', 'price-updates.dlq', 'stock-updates.dlq'].map(
      (name): TopicDeclaration => ({ name: topic(name), kind: 'dead-letter', partitions: 1, retentionMs: 14 * 24 * 3_600_000 }),
    ),
  ];
  // Values travel as Avro in the Confluent wire format; the registry is the one the environment names, found on first use.
  // The registry this process's environment names (a function's, npm start's), read on first use: the
  // declaration is loaded before the local runtime has set the variables.
  const registry = lazySchemaRegistry(process.env);
  const formats = new Map(topics.map((declaration) => [declaration.name, topicValueFormat(declaration, registry)]));
  // A topic's schema is what promises its values' type: the one place the type is taken on trust.
  const format = <T>(name: string) => formats.get(topic(name)) as ValueFormat<T>;
  // The formats read every input into the newest version of its schema (or dead-letter it) before a join sees it.
  const itemsWithFlyer = defineJoin<Item, Flyer, ItemWithFlyer>({
    name: topic('items-with-flyer'),
    // An item is an offer only on a flyer that exists.
    type: 'inner',
    leftTopic: topic('items'),
    rightTopic: topic('flyers'),
    outputTopic: topic('items-with-flyer'),
    deadLetterTopic: topic('items-with-flyer.dlq'),
    formats: { left: format<Item>('items'), right: format<Flyer>('flyers'), output: format<ItemWithFlyer>('items-with-flyer') },
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
    formats: { left: format<ItemWithFlyer>('items-with-flyer'), right: format<Merchant>('merchants'), output: format<Offer>('offers') },
    // The output is written in the offers schema, so a result that did not match would fail its batch (retried,
    // alarmed): a join cannot dead-letter its own result, whose state is already written. Inputs are checked
    // before anything is written, and offerOf builds exactly the schema's fields (the end-to-end test checks).
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
    formats: { input: format('price-updates'), output: format('price-deltas') },
  });
  const stocks = defineStockStream({
    name: topic('stocks'),
    inputTopic: topic('stock-updates'),
    outputTopic: topic('stock-deltas'),
    deadLetterTopic: topic('stock-updates.dlq'),
    minEmitIntervalMs: 10_000,
    coalesceWindowMs: 10_000,
    formats: { input: format('stock-updates'), output: format('stock-deltas') },
  });
  const merchantsFromMonolith = defineMerchantsFromMonolith(prefix, format<Merchant>('merchants'));
  return { topics, itemsWithFlyer, offers, prices, stocks, merchantsFromMonolith, formats };
}

/** The catalog `pipeline.ts` deploys and `npm start` runs; the handler modules in functions/ use it. */
export const catalog = defineCatalog();
