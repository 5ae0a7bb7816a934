import { defineJoin, JoinProcessor, JoinStateStore, type FkJoin, type JoinOutputRecord } from '../../shared/fk-join';
import { provisionTables } from '../../shared/local';
import { uniqueName, useTestServices } from '../support/integration';
import { pipelineFor } from './join-harness';

/*
 * A paused fan-out resumes from its saved cursor. When the attempt that paused
 * was repairing (an earlier attempt of the same right record crashed after
 * publishing), the continuation must repair too: the crashed attempt may have
 * published to keys past the cursor, even keys that have since moved to
 * another foreign key. Found by the concurrency property test (seed
 * 1062361826, path 294); scripted here step by step.
 */

interface LeftValue {
  readonly v: number;
  readonly fk: string | null;
}

class Crash extends Error {}

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

  beforeAll(async () => {
    const pipeline = pipelineFor(join);
    await provisionTables(services.runtime.dynamoDbClient(), pipeline.tables);
    store = new JoinStateStore(services.documents, pipeline.joins[0]!.table.name);
  });

  it('keeps repairing after a repairing attempt paused, so a key a crashed attempt published to stale ends right', async () => {
    const run = uniqueName('k');
    // Subscription entries are queried in left-key order: a0 < a < b.
    const [a0, a, b, r, s] = ['a0', 'a', 'b', 'r', 's'].map((key) => `${run}-${key}`) as [string, string, string, string, string];
    const log: JoinOutputRecord[] = [];
    const recording = { publish: async (records: readonly JoinOutputRecord[]) => void log.push(...records) };
    const left = new JoinProcessor(join, store, recording, { fanOutPageSize: 2 });
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
    const crashingAfterTheMove = {
      publish: async (records: readonly JoinOutputRecord[]) => {
        if (!moved) {
          moved = true;
          await applyLeft('left-1', b, 1, { v: 3, fk: s });
        }
        log.push(...records);
        throw new Crash('the invocation died after its produce');
      },
    };
    const attempt1 = new JoinProcessor(join, store, crashingAfterTheMove, { fanOutPageSize: 2 });
    await expect(attempt1.applyRight(rightBatch(attempt1))).rejects.toBeInstanceOf(Crash);
    expect(log.filter((record) => record.leftKey === b).map((record) => record.value)).toEqual(['2|null', '3|null', '2|1']);

    // a0 subscribes to r before the redelivery, so b's retired entry falls on the second page.
    await applyLeft('left-0', a0, 0, { v: 0, fk: r });

    // Attempt 2 repairs (r@0 is stored already and no cursor is saved), runs out of time after one page
    // (a0, a) and saves its cursor; attempt 3 continues from it.
    const redelivered = new JoinProcessor(join, store, recording, { fanOutPageSize: 2 });
    const paused = await redelivered.applyRight(rightBatch(redelivered), () => false);
    expect(paused).toEqual([{ partition: `${run}-right`, offset: 0 }]);
    expect(await redelivered.applyRight(rightBatch(redelivered))).toEqual([]);

    const lastOf = (key: string) => log.filter((record) => record.leftKey === key).at(-1)?.value;
    expect({ a0: lastOf(a0), a: lastOf(a), b: lastOf(b) }).toEqual({ a0: '0|1', a: '1|1', b: '3|null' });
  });

  it('keeps a saved repair through a later plain save of the same record, and a plain save claims once', async () => {
    const rightKey = uniqueName('cursor');
    await store.saveFanOutCursor(rightKey, 7, 'S#x#1', true);
    await store.saveFanOutCursor(rightKey, 7, 'S#y#1', false);
    expect(await store.readFanOutCursor(rightKey, 7)).toEqual({ cursor: 'S#y#1', repair: true });

    const plainKey = uniqueName('cursor');
    await store.saveFanOutCursor(plainKey, 3, 'S#x#1', false);
    expect(await store.readFanOutCursor(plainKey, 3)).toEqual({ cursor: 'S#x#1', repair: false });
    expect(await store.claimResumption(plainKey, 3, 'S#x#1')).toBe(true);
    expect(await store.claimResumption(plainKey, 3, 'S#x#1')).toBe(false);
    // A new cursor (the continuation paused again) can be claimed once more.
    await store.saveFanOutCursor(plainKey, 3, 'S#z#1', false);
    expect(await store.claimResumption(plainKey, 3, 'S#z#1')).toBe(true);
  });
});
