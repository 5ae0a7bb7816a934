/**
 * `npm run bench`: how much the MSK event-source emulator costs on top of reading
 * Kafka directly. Starts its own broker and dynalite on free ports, fills a
 * 3-partition topic (BENCH_RECORDS, default 150,000), then drains it, in
 * alternating rounds (BENCH_ROUNDS, default 3) after an unmeasured one, (a) with a plain kafkajs consumer and (b) through the emulator
 * with a no-op handler at two batch sizes.
 *
 * The headline is CPU per record, this process's CPU (user + system) while it
 * drains the topic ÷ records: on a shared machine it moves far less with other
 * load than records/s do (the emulator/raw wall-time ratio swung 2.1–6.8×).
 * Every figure is the median over the rounds with its range; ratios are taken
 * within a round, then their median. Wall-clock rates, the broker's CPU per
 * record and peak heap growth are printed beside it. Numbers, not assertions.
 *
 *   BENCH_RECORDS=100000 BENCH_ROUNDS=5 npm run bench -- event-source
 */
import type { Kafka } from 'kafkajs';
import { EventSourceMapping } from '../../shared/local/event-source';
import { provisionTopics } from '../../shared/local';
import { definePipeline, type Consumer } from '../../shared/pipeline';
import { NOOP_HANDLER_ENTRY, uniqueName } from '../support/integration';
import { startBenchRuntime } from './bench-runtime';
import { descendantProcessIds, formatSpread, measureCpu, spreadOf } from './measure';

const BASELINE = 'kafkajs consumer (baseline)';

interface Measurement {
  readonly seconds: number;
  /** This process's CPU, ms. */
  readonly cpuMs: number;
  /** The CPU of this process's children (the broker; an idle dynalite where it runs apart), ms. */
  readonly brokerCpuMs: number;
  readonly peakHeapGrowthMb: number;
  readonly invocations?: number;
}

export async function benchEventSource(): Promise<void> {
  const total = Number(process.env.BENCH_RECORDS ?? 150_000);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
  const runtime = await startBenchRuntime();
  try {
    const kafka = runtime.kafkaClient('bench');
    const topic = uniqueName('bench');
    const pipelineFor = (batchSize: number) =>
      definePipeline({
        name: uniqueName('bench'),
        topics: [{ name: topic, kind: 'event', partitions: 3 }],
        consumers: [
          { name: 'noop', handler: { entry: NOOP_HANDLER_ENTRY }, topic, eventSource: { batchSize, maximumBatchingWindowMs: 500 } },
        ],
      });
    const admin = kafka.admin();
    await admin.connect();
    await provisionTopics(admin, pipelineFor(100).topics);
    await admin.disconnect();
    await fill(kafka, topic, total);
    // The broker (a JVM this process started; dynalite too, where it runs apart, idle here): their CPU is read from /proc.
    const children = descendantProcessIds();
    console.log(
      `Topic ${topic}: ${total} records of ~200 bytes on 3 partitions; a warm-up, then ${rounds} rounds, each draining it once per run, in turn.\n`,
    );

    const runs: ReadonlyArray<readonly [string, () => Promise<number | undefined>]> = [
      [
        BASELINE,
        async () => {
          await drainRaw(kafka, topic, total);
          return undefined;
        },
      ],
      ...[100, 1_000].map(
        (batchSize) =>
          [
            `emulator, batchSize ${batchSize}`,
            () => drainThroughEmulator(kafka, runtime.kafka.brokers, pipelineFor(batchSize).consumers[0]!, total),
          ] as const,
      ),
    ];
    // An unmeasured round first: the first drain of a process also pays for JIT compilation and the broker's warm-up.
    for (const [, run] of [runs[0]!, runs[runs.length - 1]!]) await run();
    const results = new Map<string, Measurement[]>(runs.map(([label]) => [label, []]));
    for (let round = 0; round < rounds; round += 1) {
      for (const [label, run] of runs) results.get(label)!.push(await measure(run, children));
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
      messages: Array.from({ length: count }, (_, i) => ({
        key: `key-${(start + i) % 5_000}`,
        value: `{"n":${start + i},"pad":"${body}"}`,
      })),
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

/** Drains the topic through the emulator with a fresh consumer group; returns the invocations it took. */
async function drainThroughEmulator(kafka: Kafka, brokers: readonly string[], consumer: Consumer, total: number): Promise<number> {
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

async function measure(run: () => Promise<number | undefined>, children: readonly number[]): Promise<Measurement> {
  global.gc?.();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakHeap = baseHeap;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const { result: invocations, seconds, cpu } = await measureCpu(run, children);
  clearInterval(sampler);
  return {
    seconds,
    cpuMs: cpu.selfMs,
    brokerCpuMs: cpu.othersMs,
    peakHeapGrowthMb: (peakHeap - baseHeap) / 1024 / 1024,
    ...(invocations === undefined ? {} : { invocations }),
  };
}

function report(results: ReadonlyMap<string, readonly Measurement[]>, total: number): void {
  const baseline = results.get(BASELINE)!;
  const perRecordUs = (ms: number) => (1_000 * ms) / total;
  const rows: Record<string, Record<string, string | number>> = {};
  for (const [label, measurements] of results) {
    // Paired with the baseline of the same round, so that a slow round slows both sides.
    const cpuRatio = spreadOf(measurements.map((m, round) => m.cpuMs / baseline[round]!.cpuMs));
    const overheadUs = spreadOf(measurements.map((m, round) => perRecordUs(m.cpuMs - baseline[round]!.cpuMs)));
    const wallRatio = spreadOf(measurements.map((m, round) => m.seconds / baseline[round]!.seconds));
    const invocations = spreadOf(measurements.flatMap((m) => (m.invocations ? [m.invocations] : []))).median;
    rows[label] = {
      'CPU µs/record': formatSpread(spreadOf(measurements.map((m) => perRecordUs(m.cpuMs))), 1),
      'CPU vs baseline': label === BASELINE ? '1' : formatSpread(cpuRatio, 2, '×'),
      'overhead CPU µs/record': label === BASELINE ? '-' : formatSpread(overheadUs, 1),
      'broker CPU µs/record': formatSpread(spreadOf(measurements.map((m) => perRecordUs(m.brokerCpuMs))), 1),
      'records/s': formatSpread(spreadOf(measurements.map((m) => total / m.seconds)), 0),
      'wall time vs baseline': label === BASELINE ? '1' : formatSpread(wallRatio, 2, '×'),
      'peak heap growth MB': formatSpread(spreadOf(measurements.map((m) => m.peakHeapGrowthMb)), 1),
      'records/invocation': invocations ? (total / invocations).toFixed(1) : '-',
    };
  }
  console.log('Median (min–max) over the rounds. CPU: this process, user + system, while draining (the consumer group join included).');
  console.table(rows);
}
