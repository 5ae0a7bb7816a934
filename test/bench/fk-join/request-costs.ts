/**
 * What each kind of join event costs in DynamoDB requests and request units, at
 * Lambda batch sizes 1, 100 and 500 and with 200-byte and 2 KB values: the
 * JoinProcessor driven directly (no Kafka) against the local DynamoDB server,
 * with a sink that only counts results.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JoinProcessor, JoinStateStore, type JoinOutputRecord, type JoinStateUsage, type JoinType } from '../../../shared/fk-join';
import { provisionTables } from '../../../shared/local';
import { seededRandom } from '../../../shared/random';
import { uniqueName } from '../../support/integration';
import { benchJoin, benchPipeline, itemJson } from './workload';

export interface Units {
  readonly requests: number;
  readonly readRequests: number;
  readonly writeRequests: number;
  readonly rru: number;
  readonly wru: number;
}

export interface RequestCosts {
  readonly type: JoinType;
  readonly batchSize: number;
  readonly valueBytes: number;
  /** Per left update of a key that has no row yet. */
  readonly leftInsert: Units;
  readonly fkUnchanged: Units;
  readonly fkChanged: Units;
  /**
   * Per result of a right update's fan-out: what the fan-out phase cost beyond the same right
   * updates of keys nobody subscribes to, per result (the subscribers' share).
   */
  readonly fanOutResult: Units;
  /** Per right update of a key without subscribers: its own row, and the Query that finds none. */
  readonly rightUpdate: Units;
  readonly fanOutResults: number;
}

const RIGHT_ROWS = 50;
const RIGHT_UPDATES = 100;

export async function measureRequestCosts(
  dynamodb: DynamoDBClient,
  type: JoinType,
  batchSize: number,
  valueBytes: number,
): Promise<RequestCosts> {
  const join = benchJoin(uniqueName('cost'), type);
  const table = benchPipeline(join).joins[0]!.table;
  await provisionTables(dynamodb, [table]);
  const documents = DynamoDBDocumentClient.from(dynamodb);
  const store = new JoinStateStore(documents, table.name);
  let results = 0;
  const sink = {
    publish: async (records: readonly JoinOutputRecord[]) => {
      results += records.length;
    },
  };
  const processor = new JoinProcessor(join, store, sink);
  const random = seededRandom(11);
  const leftRows = batchSize === 1 ? 300 : 1_000;
  let offset = 0;

  const applyLeft = async (records: Array<{ key: string; value: string }>) => {
    for (let start = 0; start < records.length; start += batchSize) {
      const batch = records
        .slice(start, start + batchSize)
        .map(({ key, value }) => processor.prepareLeft({ key, offset: offset++, value: JSON.parse(value) as unknown }));
      await processor.applyLeft([{ partition: `${join.name}-left-0`, records: batch }]);
    }
  };
  const applyRight = async (records: Array<{ key: string; value: string }>) => {
    for (let start = 0; start < records.length; start += batchSize) {
      const batch = records
        .slice(start, start + batchSize)
        .map(({ key, value }) => processor.prepareRight({ key, offset: offset++, value: JSON.parse(value) as unknown }));
      await processor.applyRight([{ partition: `${join.name}-right-0`, records: batch }]);
    }
  };
  const measure = async (events: number, work: () => Promise<void>): Promise<Units> => {
    const before = { ...store.usage };
    await work();
    return perEvent(difference(store.usage, before), events);
  };
  const flyerOf = new Map<string, string>();
  const skewed = () => `f${Math.floor(RIGHT_ROWS * random() ** 3)}`;

  try {
    await applyRight(Array.from({ length: RIGHT_ROWS }, (_, f) => ({ key: `f${f}`, value: JSON.stringify({ title: `flyer ${f}` }) })));
    const inserts = Array.from({ length: leftRows }, (_, n) => {
      flyerOf.set(`i${n}`, skewed());
      return { key: `i${n}`, value: itemJson(n, flyerOf.get(`i${n}`)!, valueBytes) };
    });
    const leftInsert = await measure(leftRows, () => applyLeft(inserts));
    const unchanged = inserts.map(({ key }, n) => ({ key, value: itemJson(n + 1, flyerOf.get(key)!, valueBytes) }));
    const fkUnchanged = await measure(leftRows, () => applyLeft(unchanged));
    const changed = inserts.map(({ key }, n) => {
      const previous = Number(flyerOf.get(key)!.slice(1));
      flyerOf.set(key, `f${(previous + 1 + Math.floor(random() * (RIGHT_ROWS - 1))) % RIGHT_ROWS}`);
      return { key, value: itemJson(n + 2, flyerOf.get(key)!, valueBytes) };
    });
    const fkChanged = await measure(leftRows, () => applyLeft(changed));
    // The same right keys twice over: as subscribed flyers, and as keys nobody subscribes to.
    const updatedKeys = Array.from({ length: RIGHT_UPDATES }, () => skewed());
    const rightUpdates = (prefix: string) =>
      updatedKeys.map((key, u) => ({ key: `${prefix}${key}`, value: JSON.stringify({ title: `flyer rev ${u}` }) }));
    await applyRight(rightUpdates('unsubscribed-'));
    let usageBefore = { ...store.usage };
    await applyRight(rightUpdates('unsubscribed-'));
    const unsubscribed = difference(store.usage, usageBefore);
    const resultsBefore = results;
    usageBefore = { ...store.usage };
    await applyRight(rightUpdates(''));
    const fanOutResults = results - resultsBefore;
    const fanOut = difference(store.usage, usageBefore);
    const fanOutResult = perEvent(difference(fanOut, unsubscribed), fanOutResults);
    return {
      type,
      batchSize,
      valueBytes,
      leftInsert,
      fkUnchanged,
      fkChanged,
      fanOutResult,
      rightUpdate: perEvent(unsubscribed, RIGHT_UPDATES),
      fanOutResults,
    };
  } finally {
    documents.destroy();
  }
}

function difference(after: JoinStateUsage, before: JoinStateUsage): JoinStateUsage {
  return {
    requests: after.requests - before.requests,
    readRequests: after.readRequests - before.readRequests,
    writeRequests: after.writeRequests - before.writeRequests,
    readCapacityUnits: after.readCapacityUnits - before.readCapacityUnits,
    writeCapacityUnits: after.writeCapacityUnits - before.writeCapacityUnits,
  };
}

function perEvent(usage: JoinStateUsage, events: number): Units {
  const round = (value: number) => Math.round((value / Math.max(1, events)) * 1000) / 1000;
  return {
    requests: round(usage.requests),
    readRequests: round(usage.readRequests),
    writeRequests: round(usage.writeRequests),
    rru: round(usage.readCapacityUnits),
    wru: round(usage.writeCapacityUnits),
  };
}
