import { defineCatalog, type Flyer, type Item, type Merchant } from '../../../example';
import { runtimeAccess } from '../../../shared/cli/console/runtime-access';
import { explainRecord, type Lineage, type LineageInput } from '../../../shared/cli/operations/lineage';
import { UsageError } from '../../../shared/cli/errors';
import type { RunningPipeline } from '../../../shared/local';
import type { PlatformAccess } from '../../../shared/cli/operations/platform-access';
import { newRootContext, traceHeaders } from '../../../shared/tracing';
import { runCatalogPipeline } from '../../support/catalog-pipeline';
import { eventually, produce, readAll, uniqueName, useTestServices } from '../../support/integration';
import { writeValue } from '../../../shared/schemas';

/** The record on one side of a join's lineage; fails the test when it is not there. */
function recordOf(input: LineageInput | undefined): Lineage {
  if (input?.kind !== 'record') throw new Error(`expected a record, got ${JSON.stringify(input)}`);
  return input.lineage;
}

describe('explain: the lineage of a join result (integration)', () => {
  const services = useTestServices('lineage-test');
  const catalog = defineCatalog(`${uniqueName('lineage')}.`);
  let running: RunningPipeline;
  let access: PlatformAccess & { close(): void };

  /** Produces one entity record in its topic's wire format, in a new trace of its own; returns the trace id. */
  const publish = async <T>(topic: string, key: string, value: T | null): Promise<string> => {
    const context = newRootContext();
    await produce(services.kafka, topic, [
      { key, value: await writeValue(catalog.formats.get(topic)!, value), headers: traceHeaders(context) },
    ]);
    return context.traceId;
  };
  // A topic created moments ago may not have its leaders yet: read again on the next poll.
  const offersOf = async (key: string) =>
    (await readAll(services.kafka, catalog.offers.outputTopic).catch(() => [])).filter((record) => record.key === key);

  beforeAll(async () => {
    const started = await runCatalogPipeline(services, catalog);
    running = started.running;
    access = runtimeAccess(services.runtime, started.pipeline);
  });
  afterAll(async () => {
    access.close();
    await running.stop();
  });

  it('follows an offer through both joins to the item, flyer and merchant records it was joined from, and names the input that caused it', async () => {
    const merchant: Merchant = { merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null };
    const flyer: Flyer = { flyerId: 'f-1', merchantId: 'm-1', title: 'Week 1', validFrom: 1, validUntil: 2 };
    const item: Item = { itemId: 'i-1', flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null };
    await publish(catalog.offers.rightTopic, 'm-1', merchant);
    await publish(catalog.itemsWithFlyer.rightTopic, 'f-1', flyer);
    const itemTrace = await publish(catalog.itemsWithFlyer.leftTopic, 'i-1', item);
    await eventually('the offer of i-1 is out', async () => (await offersOf('i-1')).length === 1, 60_000);
    // A rename of the merchant reaches the offer through the right side of the second join.
    const renameTrace = await publish(catalog.offers.rightTopic, 'm-1', { ...merchant, name: 'Corner Shop & Co' });
    await eventually('the renamed offer of i-1 is out', async () => (await offersOf('i-1')).length === 2, 60_000);

    const explanation = await explainRecord(access, catalog.offers.outputTopic, 'i-1');

    expect(explanation).toMatchObject({ topic: catalog.offers.outputTopic, key: 'i-1', join: catalog.offers.name });
    const offer = explanation.lineage!;
    expect(offer.record).toMatchObject({ key: 'i-1', value: { merchant: { name: 'Corner Shop & Co' } } });
    // The newest offer was caused by the merchant's rename: same trace, and its cause span is the rename's record.
    expect(offer.join).toMatchObject({ name: catalog.offers.name, type: 'left', causedBy: 'right' });
    expect(offer.record.trace?.traceId).toBe(renameTrace);
    const merchantRecord = recordOf(offer.join?.right);
    expect(merchantRecord.record).toMatchObject({ topic: catalog.offers.rightTopic, key: 'm-1', value: { name: 'Corner Shop & Co' } });
    expect(merchantRecord.join).toBeUndefined();
    // Its left input is the items-with-flyer result, itself explained: caused by the item, joined with the flyer.
    const itemWithFlyer = recordOf(offer.join?.left);
    expect(itemWithFlyer.record).toMatchObject({ topic: catalog.itemsWithFlyer.outputTopic, key: 'i-1' });
    expect(offer.join?.position).toBe(`${itemWithFlyer.record.offset}:${merchantRecord.record.offset}`);
    expect(itemWithFlyer.join).toMatchObject({ name: catalog.itemsWithFlyer.name, type: 'inner', causedBy: 'left' });
    expect(recordOf(itemWithFlyer.join?.left).record).toMatchObject({ topic: catalog.itemsWithFlyer.leftTopic, key: 'i-1', value: item });
    expect(recordOf(itemWithFlyer.join?.left).record.trace?.traceId).toBe(itemTrace);
    expect(recordOf(itemWithFlyer.join?.right).record).toMatchObject({
      topic: catalog.itemsWithFlyer.rightTopic,
      key: 'f-1',
      value: flyer,
    });
  });

  it('shows a left join result without a merchant as joined with no right record', async () => {
    await publish(catalog.itemsWithFlyer.rightTopic, 'f-orphan', {
      flyerId: 'f-orphan',
      merchantId: 'm-none',
      title: 'T',
      validFrom: 1,
      validUntil: 2,
    });
    await publish(catalog.itemsWithFlyer.leftTopic, 'i-orphan', {
      itemId: 'i-orphan',
      flyerId: 'f-orphan',
      name: 'Bread',
      category: 'bakery',
      description: null,
      imageUrl: null,
    });
    await eventually('the offer of i-orphan is out', async () => (await offersOf('i-orphan')).length === 1, 60_000);

    const explanation = await explainRecord(access, catalog.offers.outputTopic, 'i-orphan');

    expect(explanation.lineage?.record.value).toMatchObject({ merchant: null });
    expect(explanation.lineage?.join?.right).toEqual({
      kind: 'none',
      topic: catalog.offers.rightTopic,
      why: 'no right row for its foreign key m-none when it was joined',
    });
    expect(explanation.lineage?.join?.position).toMatch(/^\d+:-1$/);
  });

  it('finds nothing to explain for a key the output never had, and refuses a topic no join writes', async () => {
    const nothing = await explainRecord(access, catalog.offers.outputTopic, 'i-never');
    const refusal = explainRecord(access, catalog.itemsWithFlyer.leftTopic, 'i-1');

    expect(nothing.lineage).toBeNull();
    await expect(refusal).rejects.toThrow(UsageError);
    await expect(refusal).rejects.toThrow(
      /is not a join's output in pipeline .*: explain follows join results \(the join outputs are: .*items-with-flyer, .*offers\)/,
    );
  });
});
