import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { EntityParser } from 'dynamodb-toolbox';
import { defineJoin, JoinProcessor, JoinStateStore, type FkJoin, type JoinOutputRecord, type JoinOutputSink } from '../../shared/fk-join';
import { fanOutCursorKey } from '../../shared/fk-join/join-state-items';
import { joinStateEntities, joinStateTable } from '../../shared/fk-join/join-state-schema';
import { provisionTables } from '../../shared/local';
import { uniqueName, useTestServices } from '../support/integration';
import { pipelineFor } from './join-harness';

/*
 * A paused fan-out resumes from its saved cursor. When the attempt that paused
 * was repairing (an earlier attempt of the same right record crashed after
 * publishing), the continuation must repair too: the crashed attempt may have
 * published to keys past the cursor, even keys that have since moved to
 * another foreign key. Found by the concurrency property test (seed
 * 1062361826, path 294); scripted here step by step, with the zombie variant
 * a review found next to it.
 */

interface LeftValue {
  readonly v: number;
  readonly fk: string | null;
}

class Crash extends Error {}

/** The run's own keys, one per name, so that runs share the table without meeting. */
function keysOf<const Names extends readonly string[]>(run: string, names: Names): { [I in keyof Names]: string } {
  return names.map((name) => `${run}-${name}`) as { [I in keyof Names]: string };
}

function leftJoin(): FkJoin<LeftValue, number, string> {
  const name = uniqueName('resume');
  return defineJoin<LeftValue, number, string>({
    name,
    type: 'left',
    leftTopic: `${name}.left`,
    rightTopic: `${name}.right`,
    outputTopic: `${name}.out`,
    deadLetterTopic: `${name}.dlq`,
    foreignKey: (left) => left.fk,
    joiner: (left, right) => `${left.v}|${right ?? 'null'}`,
  });
}

describe('A paused fan-out resumed from its cursor (integration)', () => {
  const services = useTestServices('join-fan-out-resumption');
  const join = leftJoin();
  let store: JoinStateStore;
  let tableName: string;

  beforeAll(async () => {
    const pipeline = pipelineFor(join);
    await provisionTables(services.runtime.dynamoDbClient(), pipeline.tables);
    tableName = pipeline.joins[0]!.table.name;
    store = new JoinStateStore(services.documents, tableName);
  });

  /** A processor of the join that publishes through `publish`, two subscription entries to a page. */
  const processorWith = (publish: JoinOutputSink['publish']) => new JoinProcessor(join, store, { publish }, { fanOutPageSize: 2 });

  it('keeps repairing after a repairing attempt paused, so a key a crashed attempt published to stale ends right', async () => {
    const run = uniqueName('k');
    // Subscription entries are queried in sort-key order (S#<leftKey>#<offset>): a, then a0, then b.
    const [a0, a, b, r, s] = keysOf(run, ['a0', 'a', 'b', 'r', 's']);
    const log: JoinOutputRecord[] = [];
    const lastOf = (key: string) => log.filter((record) => record.leftKey === key).at(-1)?.value;
    const recording = async (records: readonly JoinOutputRecord[]) => void log.push(...records);
    const left = processorWith(recording);
    const applyLeft = (partition: string, key: string, offset: number, value: LeftValue) =>
      left.applyLeft([{ partition: `${run}-${partition}`, records: [left.prepareLeft({ key, offset, value })] }]);
    const rightBatch = (processor: JoinProcessor) => [
      { partition: `${run}-right`, records: [processor.prepareRight({ key: r, offset: 0, value: 1 })] },
    ];

    // a and b refer to r, which does not exist yet.
    await applyLeft('left-0', a, 0, { v: 1, fk: r });
    await applyLeft('left-1', b, 0, { v: 2, fk: r });

    // Attempt 1 of r@0 joins a and b, but its produce lands only after b has moved to s, and the invocation
    // dies right after it: b's stale (2|1) is now the last record of b.
    let moved = false;
    const attempt1 = processorWith(async (records) => {
      if (!moved) {
        moved = true;
        await applyLeft('left-1', b, 1, { v: 3, fk: s });
      }
      log.push(...records);
      throw new Crash('the invocation died after its produce');
    });
    await expect(attempt1.applyRight(rightBatch(attempt1))).rejects.toBeInstanceOf(Crash);
    expect(log.filter((record) => record.leftKey === b).map((record) => record.value)).toEqual(['2|null', '3|null', '2|1']);

    // a0 subscribes to r before the redelivery, so b's retired entry falls on the second page.
    await applyLeft('left-0', a0, 1, { v: 0, fk: r });

    // Attempt 2 repairs (r@0 is stored already and no cursor is saved), runs out of time after one page
    // (a, a0) and saves its cursor; attempt 3 continues from it.
    const redelivered = processorWith(recording);
    const paused = await redelivered.applyRight(rightBatch(redelivered), () => false);
    expect(paused).toEqual([{ partition: `${run}-right`, offset: 0 }]);
    expect(lastOf(b)).toBe('2|1'); // still stale: b is on the page the continuation reads
    expect(await redelivered.applyRight(rightBatch(redelivered))).toEqual([]);

    expect({ a0: lastOf(a0), a: lastOf(a), b: lastOf(b) }).toEqual({ a0: '0|1', a: '1|1', b: '3|null' });
  });

  it('repairs in every later attempt once a zombie attempt that repairs has died, though a plain one saved the cursor', async () => {
    const run = uniqueName('z');
    const [a, b, c, d, r, s] = keysOf(run, ['a', 'b', 'c', 'd', 'r', 's']);
    const log: JoinOutputRecord[] = [];
    const lastOf = (key: string) => log.filter((record) => record.leftKey === key).at(-1)?.value;
    const recording = async (records: readonly JoinOutputRecord[]) => void log.push(...records);
    const left = processorWith(recording);
    let leftOffset = 0;
    const applyLeft = (key: string, value: LeftValue) =>
      left.applyLeft([{ partition: `${run}-left`, records: [left.prepareLeft({ key, offset: leftOffset++, value })] }]);
    const rightBatch = (processor: JoinProcessor) => [
      { partition: `${run}-right`, records: [processor.prepareRight({ key: r, offset: 0, value: 1 })] },
    ];
    for (const [key, v] of [
      [a, 1],
      [b, 2],
      [c, 3],
      [d, 4],
    ] as const)
      await applyLeft(key, { v, fk: r });

    // A zombie runs the same batch while the first attempt's first produce is in flight: r@0 is stored and
    // no cursor saved, so it repairs from the start. Its second page joins c, whose produce lands after c has
    // moved to s, and the zombie dies right after it.
    let zombiePublishes = 0;
    const zombie = processorWith(async (records) => {
      zombiePublishes += 1;
      if (zombiePublishes === 2) await applyLeft(c, { v: 3, fk: s });
      log.push(...records);
      if (zombiePublishes === 2) throw new Crash('the zombie died after its produce');
    });
    let firstPublishes = 0;
    const first = processorWith(async (records) => {
      firstPublishes += 1;
      if (firstPublishes === 1) await expect(zombie.applyRight(rightBatch(zombie))).rejects.toBeInstanceOf(Crash);
      log.push(...records);
    });
    // The first attempt (plain: it stored r@0) runs out of time after (a, b) and saves its cursor.
    expect(await first.applyRight(rightBatch(first), () => false)).toHaveLength(1);
    expect(lastOf(c)).toBe('3|1'); // the zombie's stale result is last

    // Its redelivery continues from the cursor, past c's retired entry; then both redeliveries finish.
    const redelivered = processorWith(recording);
    await redelivered.applyRight(rightBatch(redelivered), () => false);
    expect(await redelivered.applyRight(rightBatch(redelivered))).toEqual([]);
    expect(await redelivered.applyRight(rightBatch(redelivered))).toEqual([]);

    expect({ a: lastOf(a), b: lastOf(b), c: lastOf(c), d: lastOf(d) }).toEqual({ a: '1|1', b: '2|1', c: '3|null', d: '4|1' });
  });

  it('keeps a repair mark through later cursor saves, refuses a plain claim once marked, and lets a cursor be claimed once', async () => {
    const rightKey = uniqueName('cursor');
    await store.markFanOutRepairing(rightKey, 7);
    await store.saveFanOutCursor(rightKey, 7, 'S#x#1');
    await store.saveFanOutCursor(rightKey, 7, 'S#y#1');
    expect(await store.readFanOutCursor(rightKey, 7)).toEqual({ cursor: 'S#y#1', repair: true });

    const markedKey = uniqueName('cursor');
    await store.saveFanOutCursor(markedKey, 5, 'S#x#1');
    await store.markFanOutRepairing(markedKey, 5);
    expect(await store.readFanOutCursor(markedKey, 5)).toEqual({ cursor: 'S#x#1', repair: true });
    expect(await store.claimResumption(markedKey, 5, 'S#x#1')).toBe(false); // a marked record is never continued plainly
    const markedOnly = uniqueName('cursor');
    await store.markFanOutRepairing(markedOnly, 5);
    expect(await store.readFanOutCursor(markedOnly, 5)).toEqual({ cursor: undefined, repair: true });
    expect(await store.readFanOutCursor(uniqueName('cursor'), 5)).toBeUndefined();

    // The items the store writes with update expressions hold to the table's FanOutCursor schema.
    const parser = joinStateEntities(joinStateTable(tableName)).fanOutCursor.build(EntityParser);
    for (const [key, offset] of [
      [rightKey, 7],
      [markedKey, 5],
      [markedOnly, 5],
    ] as const) {
      const { Item } = await services.documents.send(
        new GetCommand({ TableName: tableName, Key: fanOutCursorKey(key, offset), ConsistentRead: true }),
      );
      expect(() => parser.parse(Item as never)).not.toThrow();
    }

    const plainKey = uniqueName('cursor');
    await store.saveFanOutCursor(plainKey, 3, 'S#x#1');
    expect(await store.readFanOutCursor(plainKey, 3)).toEqual({ cursor: 'S#x#1', repair: false });
    expect(await store.claimResumption(plainKey, 3, 'S#x#1')).toBe(true);
    expect(await store.claimResumption(plainKey, 3, 'S#x#1')).toBe(false);
    // A new cursor (the continuation paused again) can be claimed once more.
    await store.saveFanOutCursor(plainKey, 3, 'S#z#1');
    expect(await store.claimResumption(plainKey, 3, 'S#z#1')).toBe(true);
  });
});
