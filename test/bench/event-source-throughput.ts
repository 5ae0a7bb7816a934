/**
 * `npm run bench`: how much the MSK event-source emulator costs on top of reading
 * Kafka directly. Starts its own broker and dynalite on free ports, fills a
 * 3-partition topic, then drains it (a) with a plain kafkajs consumer and (b)
 * through the emulator with a no-op handler at two batch sizes, and prints
 * throughput, the emulator/raw ratio and peak heap growth. Numbers, not
 * assertions: compare runs on the same machine.
 *
 *   BENCH_RECORDS=100000 npm run bench -- event-source
 */
import type { Kafka } from 'kafkajs';
import { EventSourceMapping } from '../../shared/event-source';
import { provisionTopics } from '../../shared/local';
import { definePipeline, type Consumer } from '../../shared/pipeline';
import { NOOP_HANDLER_ENTRY, uniqueName } from '../support/integration';
import { startBenchRuntime } from './bench-runtime';

interface Measurement {
  readonly label: string;
  readonly seconds: number;
  readonly peakHeapGrowthMb: number;
  readonly invocations?: number;
}

export async function benchEventSource(): Promise<void> {
  const total = Number(process.env['BENCH_RECORDS'] ?? 60_000);
  const runtime = await startBenchRuntime();
  try {
    const kafka = runtime.kafkaClient('bench');
    const topic = uniqueName('bench');
    const pipelineFor = (batchSize: number) =>
      definePipeline({
        name: uniqueName('bench'),
        topics: [{ name: topic, kind: 'event', partitions: 3 }],
        consumers: [{ name: 'noop', handler: { entry: NOOP_HANDLER_ENTRY }, topic, eventSource: { batchSize, maximumBatchingWindowMs: 500 } }],
      });
    const admin = kafka.admin();
    await admin.connect();
    await provisionTopics(admin, pipelineFor(100).topics);
    await admin.disconnect();
    await fill(kafka, topic, total);
    console.log(`Topic ${topic}: ${total} records of ~200 bytes on 3 partitions.\n`);

    const results: Measurement[] = [];
    results.push(await measure('kafkajs consumer (baseline)', () => drainRaw(kafka, topic, total)));
    for (const batchSize of [100, 1_000]) {
      const pipeline = pipelineFor(batchSize);
      let invocations = 0;
      const measurement = await measure(`emulator, batchSize ${batchSize}`, async () => {
        invocations = await drainThroughEmulator(kafka, runtime.kafka.brokers, pipeline.consumers[0]!, total);
      });
      results.push({ ...measurement, invocations });
    }
    report(results, total);
  } finally {
    await runtime.stop();
  }
}

async function fill(kafka: Kafka, topic: string, total: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const body = 'x'.repeat(160);
  for (let start = 0; start < total; start += 2_000) {
    const count = Math.min(2_000, total - start);
    await producer.send({
      topic,
      messages: Array.from({ length: count }, (_, i) => ({ key: `key-${(start + i) % 5_000}`, value: `{"n":${start + i},"pad":"${body}"}` })),
    });
  }
  await producer.disconnect();
}

async function drainRaw(kafka: Kafka, topic: string, total: number): Promise<void> {
  const consumer = kafka.consumer({ groupId: uniqueName('raw'), maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
}

async function drainThroughEmulator(
  kafka: Kafka,
  brokers: readonly string[],
  consumer: Consumer,
  total: number,
): Promise<number> {
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const mapping: EventSourceMapping = new EventSourceMapping({
    consumer,
    kafka,
    bootstrapServers: brokers,
    handler: async () => {
      // The count is read after the invocation is recorded as a success, on the next tick.
      setImmediate(() => {
        if (mapping.stats.recordsSucceeded >= total) done();
      });
    },
  });
  await mapping.start();
  await finished;
  await mapping.stop();
  return mapping.stats.invocations;
}

async function measure(label: string, run: () => Promise<void>): Promise<Measurement> {
  global.gc?.();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakHeap = baseHeap;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  return { label, seconds, peakHeapGrowthMb: (peakHeap - baseHeap) / 1024 / 1024 };
}

function report(results: readonly Measurement[], total: number): void {
  const baseline = results[0]!;
  const rows = results.map((result) => ({
    run: result.label,
    'records/s': Math.round(total / result.seconds),
    seconds: result.seconds.toFixed(2),
    'time vs baseline': `${(result.seconds / baseline.seconds).toFixed(2)}×`,
    'peak heap growth MB': result.peakHeapGrowthMb.toFixed(1),
    invocations: result.invocations ?? '-',
    'records/invocation': result.invocations ? (total / result.invocations).toFixed(1) : '-',
  }));
  console.table(rows);
}

