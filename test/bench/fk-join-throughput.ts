/**
 * `npm run bench` (second part): the foreign-key join through the local runtime.
 *
 * N left rows over M right rows with a skewed foreign-key distribution; first a
 * left phase (initial rows, then updates that change foreign keys), then a right
 * phase (updates that fan out to subscribers). Prints, per phase:
 *  - input events/s and enriched outputs/s;
 *  - DynamoDB requests and capacity units per input event, next to the design minimum;
 *  - the local DynamoDB server's own ceiling for the same request mix, measured in
 *    this run, and the join's throughput as a fraction of ceiling ÷ requests per
 *    event (locally the store is the bottleneck: this shows whether our code is);
 *  - the ratio to a raw Kafka consume-produce pass-through of the same records.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createJoinHandlers, defineJoin, joinStateTableVariable, type JoinStateUsage } from '../../shared/fk-join';
import { runPipeline, type LocalRuntime } from '../../shared/local';
import { definePipeline } from '../../shared/pipeline';
import { NOOP_HANDLER_ENTRY, uniqueName } from '../support/integration';
import { seededRandom } from '../support/seeded-random';
import { dynamoDbCeiling, kafkaPassThrough, startBenchRuntime } from './bench-runtime';

const LEFT_ROWS = Number(process.env['BENCH_JOIN_LEFT_ROWS'] ?? 2_000);
const RIGHT_ROWS = Number(process.env['BENCH_JOIN_RIGHT_ROWS'] ?? 50);
const RIGHT_UPDATES = Number(process.env['BENCH_JOIN_RIGHT_UPDATES'] ?? 100);

interface Item {
  readonly n: number;
  readonly flyerId: string;
}

/** Skewed: a few flyers hold most items, as in a real catalogue. */
function skewedFlyer(random: () => number): string {
  return `f${Math.floor(RIGHT_ROWS * random() ** 3)}`;
}

export async function benchJoin(): Promise<void> {
  const runtime = await startBenchRuntime();
  try {
    await run(runtime);
  } finally {
    await runtime.stop();
  }
}

async function run(runtime: LocalRuntime): Promise<void> {
  const kafka = runtime.kafkaClient('bench-join');
  const prefix = uniqueName('bench');
  const join = defineJoin<Item, { title: string }, { item: Item; flyer: { title: string } | null }>({
    name: `${prefix}-items-with-flyer`,
    type: 'left',
    leftTopic: `${prefix}.items`,
    rightTopic: `${prefix}.flyers`,
    outputTopic: `${prefix}.items-with-flyer`,
    deadLetterTopic: `${prefix}.dlq`,
    foreignKey: (item) => item.flyerId,
    joiner: (item, flyer) => ({ item, flyer }),
  });
  const pipeline = definePipeline({
    name: prefix,
    topics: [
      { name: join.leftTopic, kind: 'entity', partitions: 3 },
      { name: join.rightTopic, kind: 'entity', partitions: 3 },
      { name: join.outputTopic, kind: 'entity', partitions: 3 },
      { name: join.deadLetterTopic, kind: 'dead-letter', partitions: 1 },
      { name: `${prefix}.passthrough`, kind: 'event', partitions: 3 },
    ],
    joins: [{ join, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: { batchSize: 500, maximumBatchingWindowMs: 100 } }],
  });
  const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
  const tableName = pipeline.joins[0]!.table.name;
  const handlers = createJoinHandlers(join, {
    env: { [joinStateTableVariable(join.name)]: tableName, KAFKA_BROKERS: runtime.kafka.brokers.join(',') },
    documents,
    kafka,
  });
  const running = await runPipeline(runtime, pipeline, { handlers: { [`${join.name}.left`]: handlers.left, [`${join.name}.right`]: handlers.right } });
  const admin = kafka.admin();
  await admin.connect();
  const random = seededRandom(7);

  const outputCount = async () => (await admin.fetchTopicOffsets(join.outputTopic)).reduce((sum, p) => sum + Number(p.high), 0);
  const idle = async () => {
    for (;;) {
      if ([...(await running.lag()).values()].every((lag) => lag === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const phase = async (label: string, topic: string, messages: Array<{ key: string; value: string }>) => {
    const usageBefore = { ...handlers.store.usage };
    const outputsBefore = await outputCount();
    const started = process.hrtime.bigint();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let start = 0; start < messages.length; start += 1_000) await producer.send({ topic, messages: messages.slice(start, start + 1_000) });
    await producer.disconnect();
    await idle();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const outputs = (await outputCount()) - outputsBefore;
    return { label, events: messages.length, seconds, outputs, usage: difference(handlers.store.usage, usageBefore) };
  };

  // Right rows first, so that left rows join at once.
  await phase('right rows (load)', join.rightTopic, Array.from({ length: RIGHT_ROWS }, (_, f) => ({ key: `f${f}`, value: JSON.stringify({ title: `flyer ${f}` }) })));
  const leftLoad = await phase(
    'left rows (load)',
    join.leftTopic,
    Array.from({ length: LEFT_ROWS }, (_, n) => ({ key: `i${n}`, value: JSON.stringify({ n, flyerId: skewedFlyer(random) }) })),
  );
  const leftUpdates = await phase(
    'left updates (FK changes)',
    join.leftTopic,
    Array.from({ length: LEFT_ROWS }, (_, n) => ({ key: `i${n}`, value: JSON.stringify({ n: n + 1, flyerId: skewedFlyer(random) }) })),
  );
  const rightUpdates = await phase(
    'right updates (fan-out)',
    join.rightTopic,
    Array.from({ length: RIGHT_UPDATES }, (_, u) => ({ key: skewedFlyer(random), value: JSON.stringify({ title: `flyer rev ${u}` }) })),
  );
  await running.stop();

  const ceiling = await dynamoDbCeiling(documents, tableName, 3_000, (worker, n) => ({ pk: `L#ceiling-${worker}-${n % 500}`, sk: 'OUTPUT' }));
  const passThrough = await kafkaPassThrough(kafka, join.leftTopic, `${prefix}.passthrough`, LEFT_ROWS * 2);
  await admin.disconnect();
  documents.destroy();

  const minimum: Record<string, string> = {
    'left rows (load)': '7 (4 reads, 3 writes)',
    'left updates (FK changes)': '8 (4 reads, 4 writes)',
    'right updates (fan-out)': '1 write + 1 query/page + per subscriber 1 write + 2 batched reads/page',
  };
  console.log(`\nForeign-key join: ${LEFT_ROWS} left rows over ${RIGHT_ROWS} right rows (skewed); local DynamoDB ceiling ${Math.round(ceiling)} requests/s (same mix), Kafka pass-through ${Math.round(passThrough)} records/s.`);
  console.table(
    [leftLoad, leftUpdates, rightUpdates].map((result) => {
      const requestsPerEvent = result.usage.requests / result.events;
      const eventsPerSecond = result.events / result.seconds;
      return {
        phase: result.label,
        'events/s': Math.round(eventsPerSecond),
        'outputs/s': Math.round(result.outputs / result.seconds),
        'outputs/event': (result.outputs / result.events).toFixed(1),
        'DDB requests/event': requestsPerEvent.toFixed(1),
        'design minimum': minimum[result.label],
        'RCU/event': (result.usage.readCapacityUnits / result.events).toFixed(1),
        'WCU/event': (result.usage.writeCapacityUnits / result.events).toFixed(1),
        'of store-bound max': `${((100 * eventsPerSecond) / (ceiling / requestsPerEvent)).toFixed(0)}%`,
        'vs pass-through': `${(eventsPerSecond / passThrough).toFixed(3)}×`,
      };
    }),
  );
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

