import { DEAD_LETTER_HEADERS } from '../../shared/dead-letter';
import { defineJoin, type FkJoin } from '../../shared/fk-join';
import { produce, readTopic, uniqueName, useTestServices } from '../support/integration';
import { seededRandom } from '../support/seeded-random';
import { JoinHarness, kip213Join, pipelineFor } from './join-harness';

interface Item {
  readonly name: string;
  readonly flyerId: string | null;
}
interface Flyer {
  readonly title: string;
  readonly merchantId: string | null;
}
interface Merchant {
  readonly name: string;
}
interface ItemWithFlyer {
  readonly item: Item;
  readonly flyer: Flyer | null;
}
interface Offer {
  readonly item: string;
  readonly flyer: string;
  readonly merchant: string;
}

/** item → flyer (left join) → merchant (inner join): the offer of the example domain, in two hops. */
function offerJoins(): { itemsWithFlyer: FkJoin<Item, Flyer, ItemWithFlyer>; offers: FkJoin<ItemWithFlyer, Merchant, Offer> } {
  const prefix = uniqueName('catalog');
  const itemsWithFlyer = defineJoin<Item, Flyer, ItemWithFlyer>({
    name: `${prefix}-items-with-flyer`,
    type: 'left',
    leftTopic: `${prefix}.items`,
    rightTopic: `${prefix}.flyers`,
    outputTopic: `${prefix}.items-with-flyer`,
    deadLetterTopic: `${prefix}.items-with-flyer.dlq`,
    foreignKey: (item) => item.flyerId,
    joiner: (item, flyer) => ({ item, flyer }),
  });
  const offers = defineJoin<ItemWithFlyer, Merchant, Offer>({
    name: `${prefix}-offers`,
    type: 'inner',
    leftTopic: itemsWithFlyer.outputTopic,
    rightTopic: `${prefix}.merchants`,
    outputTopic: `${prefix}.offers`,
    deadLetterTopic: `${prefix}.offers.dlq`,
    foreignKey: (joined) => joined.flyer?.merchantId ?? null,
    joiner: (joined, merchant) => ({ item: joined.item.name, flyer: joined.flyer!.title, merchant: merchant!.name }),
  });
  return { itemsWithFlyer, offers };
}

describe('Foreign-key joins in a pipeline (integration)', () => {
  const services = useTestServices('join-pipeline-test');

  it.each([11, 29])('converges a two-hop join (item → flyer → merchant) to the reference, seed %i', async (seed) => {
    // Prepare
    const { itemsWithFlyer, offers } = offerJoins();
    const harness = new JoinHarness(services.runtime, services.kafka, pipelineFor(itemsWithFlyer, offers));
    await harness.start();
    const next = seededRandom(seed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
    const items = new Map<string, Item | null>();
    const flyers = new Map<string, Flyer | null>();
    const merchants = new Map<string, Merchant | null>();

    try {
      // Act: waves of random updates on all three inputs, including foreign-key changes and deletes.
      for (let wave = 0; wave < 4; wave += 1) {
        const itemUpdates = Array.from({ length: 8 }, (): [string, Item | null] => [
          pick(['i0', 'i1', 'i2', 'i3', 'i4', 'i5']),
          next() < 0.15
            ? null
            : { name: `item-${wave}-${Math.floor(next() * 100)}`, flyerId: next() < 0.15 ? null : pick(['f0', 'f1', 'f2']) },
        ]);
        const flyerUpdates = Array.from({ length: 3 }, (): [string, Flyer | null] => [
          pick(['f0', 'f1', 'f2']),
          next() < 0.15
            ? null
            : { title: `flyer-${wave}-${Math.floor(next() * 100)}`, merchantId: next() < 0.15 ? null : pick(['m0', 'm1']) },
        ]);
        const merchantUpdates = Array.from({ length: 2 }, (): [string, Merchant | null] => [
          pick(['m0', 'm1']),
          next() < 0.2 ? null : { name: `merchant-${wave}-${Math.floor(next() * 100)}` },
        ]);
        for (const [key, value] of itemUpdates) items.set(key, value);
        for (const [key, value] of flyerUpdates) flyers.set(key, value);
        for (const [key, value] of merchantUpdates) merchants.set(key, value);
        const encode = (updates: Array<[string, unknown]>) =>
          updates.map(([key, value]) => ({ key, value: value === null ? null : JSON.stringify(value) }));
        await Promise.all([
          produce(services.kafka, itemsWithFlyer.leftTopic, encode(itemUpdates)),
          produce(services.kafka, itemsWithFlyer.rightTopic, encode(flyerUpdates)),
          produce(services.kafka, offers.rightTopic, encode(merchantUpdates)),
        ]);
      }
      await harness.settle();
      // The second hop only sees the first hop's last outputs once they are consumed: settle again.
      await harness.settle();

      // Assess
      const expected = new Map<string, Offer | null>();
      for (const [key, item] of items) {
        const flyer = item?.flyerId ? (flyers.get(item.flyerId) ?? null) : null;
        const merchant = flyer?.merchantId ? (merchants.get(flyer.merchantId) ?? null) : null;
        expected.set(key, item && flyer && merchant ? { item: item.name, flyer: flyer.title, merchant: merchant.name } : null);
      }
      const actual = harness.latestByKey(offers.outputTopic) as unknown as Map<string, Offer | null>;
      for (const [key, offer] of expected) expect({ key, offer: actual.get(key) ?? null }).toEqual({ key, offer });
    } finally {
      await harness.stop();
    }
  });

  it('continues a large fan-out across invocations when time runs short, reaching every subscriber once', async () => {
    // Prepare: pages of 2 subscribers, and a time reserve so large that every page ends the invocation.
    const join = kip213Join('inner');
    const harness = new JoinHarness(services.runtime, services.kafka, pipelineFor(join));
    await harness.start({ fanOutPageSize: 2, timeReserveMs: Number.MAX_SAFE_INTEGER });
    try {
      const leftKeys = Array.from({ length: 9 }, (_, index) => `lhs${index}`);
      await harness.produce(
        join.leftTopic,
        leftKeys.map((key): [string, string] => [key, `${key}|rhs1`]),
      );
      await harness.settle();

      // Act
      await harness.produce(join.rightTopic, [['rhs1', 'a']]);
      await harness.settle();

      // Assess
      const outputs = harness.outputsOf(join.outputTopic).map((record) => [record.key, record.value]);
      expect(outputs.sort()).toEqual(leftKeys.map((key) => [key, `(${key}|rhs1,a)`]).sort());
      const rightConsumer = harness.mapping(`${join.name}.right`);
      expect(rightConsumer.stats.failedInvocations).toBeGreaterThanOrEqual(4);
    } finally {
      await harness.stop();
    }
  });

  it('dead-letters a record the join cannot decode, with the reason, and moves on', async () => {
    // Prepare
    const join = kip213Join('left');
    const harness = new JoinHarness(services.runtime, services.kafka, pipelineFor(join));
    await harness.start();
    try {
      // Act: a malformed value between two good ones, on one partition.
      await produce(services.kafka, join.leftTopic, [
        { key: 'lhs1', value: JSON.stringify('v1|'), partition: 0 },
        { key: 'lhs2', value: '{"broken', partition: 0 },
        { key: 'lhs3', value: JSON.stringify('v3|'), partition: 0 },
      ]);
      await harness.settle();

      // Assess
      const [deadLetter] = await readTopic(services.kafka, join.deadLetterTopic, 1);
      expect(deadLetter).toMatchObject({ key: 'lhs2', value: '{"broken' });
      expect(deadLetter?.headers[DEAD_LETTER_HEADERS.reason]).toBe('InvalidRecord');
      expect(deadLetter?.headers[DEAD_LETTER_HEADERS.error]).toMatch(
        /^UnreadableValueError: DESERIALIZATION_ERROR: value is not valid JSON/,
      );
      expect(deadLetter?.headers[DEAD_LETTER_HEADERS.sourceOffset]).toBe('1');
      expect(harness.newOutputs(join.outputTopic, 0).sort()).toEqual([
        ['lhs1', '(v1|,null)'],
        ['lhs3', '(v3|,null)'],
      ]);
    } finally {
      await harness.stop();
    }
  });
});
