/**
 * `npm run bench` (third part): the high-frequency path through the local runtime.
 *
 * A Zipf-skewed stream of price updates (default 200,000 updates over 20,000
 * keys, skew 1.1; BENCH_HOT_UPDATES / BENCH_HOT_KEYS scale it, e.g. to the
 * issue's 1,000,000 / 100,000; BENCH_HOT_INTERVAL_MS sets the emit interval and
 * the coalesce window, default 10 s) goes through the event-source emulator
 * into the hot-path consumer twice: coalescing within each batch only, then
 * across batches too (the write-behind window); BENCH_HOT_MODES=across skips
 * the first, which is slow at scale. Prints updates/s, DynamoDB writes and
 * emitted events per update, the final-value check (stored and emitted, must be
 * 100%), the throughput as a fraction of the store-bound limit (the local
 * DynamoDB server's ceiling, measured in this run, ÷ requests per update) and
 * the ratio to a raw consume pass-through of the same records.
 */
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Kafka } from 'kafkajs';
import { zipfSampler } from '../../shared/catalog';
import { createHotStreamHandler, definePriceStream, hotStateTableVariable, isBufferedRangeKey, type PriceUpdate } from '../../shared/hot-path';
import { topicRecordCount } from '../../shared/kafka';
import { runPipeline, type LocalRuntime } from '../../shared/local';
import { definePipeline } from '../../shared/pipeline';
import { NOOP_HANDLER_ENTRY, uniqueName } from '../support/integration';
import { seededRandom } from '../support/seeded-random';
import { dynamoDbCeiling, kafkaPassThrough, startBenchRuntime } from './bench-runtime';

const UPDATES = Number(process.env['BENCH_HOT_UPDATES'] ?? 200_000);
const KEYS = Number(process.env['BENCH_HOT_KEYS'] ?? 20_000);
const SKEW = 1.1;
const INTERVAL_MS = Number(process.env['BENCH_HOT_INTERVAL_MS'] ?? 10_000);
const MODES = [
  ['within batches', 0],
  ['across batches', INTERVAL_MS],
] as const;

export async function benchHotPath(): Promise<void> {
  const runtime = await startBenchRuntime();
  try {
    const kafka = runtime.kafkaClient('bench-hot');
    const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
    const workload = generateWorkload();
    const rows: Record<string, Record<string, string | number>> = {};
    let lastRun: RunResult | undefined;
    for (const [mode, coalesceWindowMs] of MODES.filter(([mode]) => process.env['BENCH_HOT_MODES'] !== 'across' || mode === 'across batches')) {
      lastRun = await runOnce(runtime, kafka, documents, workload, coalesceWindowMs);
      rows[mode] = lastRun.row;
    }
    const { name, tableName, requestsPerUpdate } = lastRun!;
    const ceiling = await dynamoDbCeiling(documents, tableName, 3_000, (worker, n) => ({ pk: `ceiling-${worker}-${n % 500}` }));
    const passThrough = await kafkaPassThrough(kafka, `${name}.updates`, `${name}.passthrough`, UPDATES);
    documents.destroy();
    for (const row of Object.values(rows)) {
      const updatesPerSecond = row['updates/s'] as number;
      row['of store-bound max'] = `${((100 * updatesPerSecond) / (ceiling / (row['requests/update'] as number))).toFixed(0)}%`;
      row['vs pass-through'] = `${(updatesPerSecond / passThrough).toFixed(3)}×`;
    }

    console.log(
      `\nHigh-frequency path: ${UPDATES} price updates over ${KEYS} keys (Zipf ${SKEW}), ${workload.newest.size} keys touched; ` +
        `emit interval ${INTERVAL_MS} ms; across batches: coalesce window ${INTERVAL_MS} ms.`,
    );
    console.table(rows);
    console.log(
      `Floor for any scheme that stores and emits each changed key once per window: one write per key touched in a window; ` +
        `if the whole stream falls in one window, ${(UPDATES / workload.newest.size).toFixed(1)} updates per write.`,
    );
    console.log(
      `Local DynamoDB ceiling ${Math.round(ceiling)} requests/s; Kafka pass-through ${Math.round(passThrough)} records/s; ` +
        `across batches ${requestsPerUpdate.toFixed(3)} requests per update (reads and the per-batch offset records included). ` +
        `Locally one execution environment holds every partition; in AWS each environment coalesces what it is given.`,
    );
  } finally {
    await runtime.stop();
  }
}

interface Workload {
  readonly messages: ReadonlyArray<{ readonly key: string; readonly update: PriceUpdate }>;
  readonly newest: ReadonlyMap<string, PriceUpdate>;
}

/** The workload, generated once so both modes see the same records; versions increase per key. */
function generateWorkload(): Workload {
  const random = seededRandom(11);
  const nextKey = zipfSampler(KEYS, SKEW, random);
  const newest = new Map<string, PriceUpdate>();
  const messages = Array.from({ length: UPDATES }, (_, index) => {
    const key = `item-${nextKey()}`;
    const update: PriceUpdate = { version: (newest.get(key)?.version ?? 0) + 1, sourceTimestamp: 1_700_000_000_000 + index, amountMinor: 100 + Math.floor(random() * 50), currency: 'EUR' };
    newest.set(key, update);
    return { key, update };
  });
  return { messages, newest };
}

interface RunResult {
  readonly name: string;
  readonly tableName: string;
  readonly requestsPerUpdate: number;
  readonly row: Record<string, string | number>;
}

async function runOnce(runtime: LocalRuntime, kafka: Kafka, documents: DynamoDBDocumentClient, workload: Workload, coalesceWindowMs: number): Promise<RunResult> {
  const name = uniqueName('bench-prices');
  const stream = definePriceStream({ name, inputTopic: `${name}.updates`, outputTopic: `${name}.deltas`, deadLetterTopic: `${name}.dlq`, minEmitIntervalMs: INTERVAL_MS, coalesceWindowMs });
  const pipeline = definePipeline({
    name,
    topics: [
      { name: stream.inputTopic, kind: 'event', partitions: 3 },
      { name: stream.outputTopic, kind: 'event', partitions: 3 },
      { name: stream.deadLetterTopic, kind: 'dead-letter', partitions: 1 },
      { name: `${name}.passthrough`, kind: 'event', partitions: 3 },
    ],
    hotStreams: [{ stream, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { batchSize: 10_000, maximumBatchingWindowMs: 2_000 }, flushTickIntervalMs: 1_000 }],
  });
  const tableName = pipeline.hotStreams[0]!.table.name;
  const handler = createHotStreamHandler(stream, {
    env: { [hotStateTableVariable(stream.name)]: tableName, KAFKA_BROKERS: runtime.kafka.brokers.join(',') },
    documents,
    kafka,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const running = await runPipeline(runtime, pipeline, { handlers: { [stream.name]: handler } });
  const started = process.hrtime.bigint();
  for (let start = 0; start < UPDATES; start += 5_000) {
    const messages = workload.messages.slice(start, start + 5_000).map(({ key, update }) => ({ key, value: JSON.stringify(update) }));
    await producer.send({ topic: stream.inputTopic, messages });
  }
  for (let polls = 1; ; polls += 1) {
    // Flush ticks keep arriving on the input topic, so its lag rarely reads 0: counting updates says when all are in.
    if (handler.totals.updates >= UPDATES) break;
    if (polls % 100 === 0) {
      const stats = running.mappings[0]!.stats;
      console.log(`  … ${handler.totals.updates} updates consumed, ${handler.processor.bufferedKeys} keys buffered${stats.lastError ? `; last error: ${stats.lastError}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // The trailing guarantee: after the window, one more interval and a tick, every final value is out.
  await new Promise((resolve) => setTimeout(resolve, coalesceWindowMs + INTERVAL_MS + 2_500));
  await running.stop();
  const usage = { ...handler.store.usage };

  // Final-value check: stored state and the last emitted delta of every key equal its newest update.
  let storedRight = 0;
  let emittedRight = 0;
  let bufferedRangesLeft = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    for (const item of page.Items ?? []) {
      if (isBufferedRangeKey(item['pk'] as string)) {
        bufferedRangesLeft += 1;
        continue;
      }
      const expected = workload.newest.get(item['pk'] as string);
      const stored = JSON.parse(item['value'] as string) as PriceUpdate;
      const emitted = typeof item['emittedValue'] === 'string' ? (JSON.parse(item['emittedValue']) as PriceUpdate) : undefined;
      if (expected && stored.version === expected.version) storedRight += 1;
      if (expected && emitted && emitted.amountMinor === expected.amountMinor) emittedRight += 1;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const emittedEvents = await topicRecordCount(admin, stream.outputTopic);
  await Promise.all([producer.disconnect(), admin.disconnect()]);

  const touched = workload.newest.size;
  return {
    name,
    tableName,
    requestsPerUpdate: usage.requests / UPDATES,
    row: {
      'updates/s': Math.round(UPDATES / seconds),
      'DDB writes/update': (usage.writeRequests / UPDATES).toFixed(3),
      'updates per write': (UPDATES / usage.writeRequests).toFixed(1),
      'events/update': (emittedEvents / UPDATES).toFixed(3),
      'updates per event': (UPDATES / emittedEvents).toFixed(1),
      'final stored right': `${((100 * storedRight) / touched).toFixed(2)}%`,
      'final emitted right': `${((100 * emittedRight) / touched).toFixed(2)}%`,
      'ranges left': bufferedRangesLeft,
      'requests/update': Number((usage.requests / UPDATES).toFixed(3)),
    },
  };
}
