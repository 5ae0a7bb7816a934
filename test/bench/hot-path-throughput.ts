/**
 * `npm run bench` (third part): the high-frequency path through the local runtime.
 *
 * Zipf-skewed price updates (skew 1.1 over BENCH_HOT_KEYS keys, default 20,000)
 * go through the event-source emulator into the hot-path consumer, in up to
 * three modes (BENCH_HOT_MODES, default `within,across,steady`):
 *
 *  - **bursts** (`within`, `across`): BENCH_HOT_UPDATES updates (default
 *    20,000, to stay within about three minutes here; the issue's scale is
 *    1,000,000 over 100,000 keys) produced at once, coalesced within each batch
 *    only, then across batches too (the write-behind window,
 *    BENCH_HOT_INTERVAL_MS, default 10 s, also the emit interval);
 *  - **steady** (`steady`): a producer held at BENCH_HOT_RATE updates/s
 *    (default 1,000) with coalesce window and emit interval BENCH_HOT_WINDOW_MS
 *    (default 2 s; 5 s raises the floor from ~2.7 to ~3.4 updates per write
 *    but takes half a minute longer), one window of warm-up, then
 *    BENCH_HOT_WINDOWS measured windows (default 5). Per window: updates produced and handled, DynamoDB
 *    writes, updates per write, and the floor, the distinct keys produced in
 *    the window (a scheme that stores each changed key once per window writes
 *    at least that often); median and range over the windows.
 *
 * For every mode: DynamoDB writes and request units per update, what a million
 * updates cost at on-demand list prices (./cost.ts), the final-value check
 * (stored and emitted, must be 100%), and CPU per update (this process and its
 * children: the broker, dynalite) set against two yardsticks measured after
 * each mode, so that they alternate with the runs: CPU ms per request of the
 * hot path's own DynamoDB request (a conditional update that marks the key in
 * the pending index), and a plain kafkajs consume → produce of the same
 * records. Rates are printed too, with the yardsticks' range, but on a shared
 * machine they swing; CPU per unit of work is the figure to compare. Every
 * stream under test starts measuring once its consumer group has joined.
 */
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Kafka, Producer } from 'kafkajs';
import { zipfSampler } from '../../example';
import type { DynamoDbUsage } from '../../shared/dynamodb';
import { createHotStreamHandler, hotStateTableVariable, isBufferedRangeKey, type HotStreamHandler } from '../../shared/hot-path';
import { definePriceStream, type PriceUpdate } from '../../example';
import { topicRecordCount } from '../../shared/kafka';
import { runPipeline, type LocalRuntime, type RunningPipeline } from '../../shared/local';
import type { MskHandler } from '../../shared/msk';
import { definePipeline } from '../../shared/pipeline';
import { delay } from '../support/delay';
import { NOOP_HANDLER_ENTRY, uniqueName } from '../support/integration';
import { seededRandom } from '../support/seeded-random';
import {
  measurePassThrough,
  measureRequestMix,
  startBenchRuntime,
  summarizeRequestMix,
  type PassThroughMeasurement,
  type RequestMixMeasurement,
  type RequestMixWindow,
} from './bench-runtime';
import { dollarsPerMillion, ON_DEMAND_PRICES } from './cost';
import { cpuBetween, descendantProcessIds, formatSpread, readCpu, spreadOf, type CpuReading, type Spread } from './measure';

const UPDATES = Number(process.env.BENCH_HOT_UPDATES ?? 20_000);
const KEYS = Number(process.env.BENCH_HOT_KEYS ?? 20_000);
const SKEW = 1.1;
const INTERVAL_MS = Number(process.env.BENCH_HOT_INTERVAL_MS ?? 10_000);
const RATE = Number(process.env.BENCH_HOT_RATE ?? 1_000);
const WINDOW_MS = Number(process.env.BENCH_HOT_WINDOW_MS ?? 2_000);
const WINDOWS = Number(process.env.BENCH_HOT_WINDOWS ?? 5);
const WARMUP_WINDOWS = 1;
const MODES = (process.env.BENCH_HOT_MODES ?? 'within,across,steady').split(',').map((mode) => mode.trim());

const MODE_LABELS: Record<string, string> = {
  within: 'burst, within batches',
  across: 'burst, across batches',
  steady: `steady ${RATE}/s`,
};

/** How one mode went; the yardsticks are applied once every mode has run. */
interface ModeResult {
  readonly label: string;
  /** Updates, and DynamoDB usage for them: a burst's from start to end, the steady mode's in its measured windows. */
  readonly updates: number;
  readonly usage: DynamoDbUsage;
  /** Updates/s until every update was stored; for the steady mode, updates handled per second in each window. */
  readonly updatesPerSecond: Spread;
  /** CPU ms per update, this process and its children, over the same span as `updatesPerSecond`. */
  readonly cpuMsPerUpdate: Spread;
  /** DynamoDB requests per update over that span too. */
  readonly requestsPerUpdate: number;
  readonly updatesPerEvent: number;
  readonly check: FinalCheck;
}

export async function benchHotPath(): Promise<void> {
  const runtime = await startBenchRuntime();
  try {
    const kafka = runtime.kafkaClient('bench-hot');
    const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
    // The broker's JVM, and dynalite where it runs as a child process, share the machine's CPU with us: counted too.
    const children = descendantProcessIds();
    const modes = MODES.filter((mode) => mode in MODE_LABELS);
    const unknown = MODES.filter((mode) => !(mode in MODE_LABELS));
    if (unknown.length > 0) console.log(`BENCH_HOT_MODES: ignoring ${unknown.join(', ')} (modes: ${Object.keys(MODE_LABELS).join(', ')})`);
    const mixWindows: RequestMixWindow[] = [];
    const passThroughs: PassThroughMeasurement[] = [];
    const results: ModeResult[] = [];
    let steadyWindows: readonly SteadyWindow[] = [];
    let burstWorkload: Workload | undefined;
    // Mode, then yardsticks, then the next mode: a slow spell of the machine shows up on both sides.
    for (const mode of modes) {
      const began = Date.now();
      let under: StreamUnderTest;
      if (mode === 'steady') {
        const steady = await runSteady(runtime, kafka, documents, children);
        results.push(steady.result);
        steadyWindows = steady.windows;
        under = steady.under;
      } else {
        burstWorkload ??= generateWorkload(UPDATES, 11);
        const burst = await runBurst(
          runtime,
          kafka,
          documents,
          children,
          burstWorkload,
          MODE_LABELS[mode]!,
          mode === 'across' ? INTERVAL_MS : 0,
        );
        results.push(burst.result);
        under = burst.under;
        passThroughs.push(
          await measurePassThrough(kafka, under.stream.inputTopic, `${under.name}.passthrough`, UPDATES, { processes: children }),
        );
      }
      const mix = await measureRequestMix({
        windows: Math.max(2, Math.ceil(6 / modes.length)),
        windowMs: 1_000,
        warmupMs: 1_000,
        concurrency: 8,
        processes: children,
        request: (worker, n) => hotPathWrite(documents, under.tableName, worker, n),
      });
      mixWindows.push(...mix.windows);
      console.log(`  ${MODE_LABELS[mode]}: ${Math.round((Date.now() - began) / 1_000)} s with its yardsticks`);
    }
    documents.destroy();
    report(results, steadyWindows, summarizeRequestMix(mixWindows), passThroughs, burstWorkload);
  } finally {
    await runtime.stop();
  }
}

/** The yardstick's request: what the hot path sends for nearly every stored key (a conditional update that marks the key pending in the index). */
async function hotPathWrite(documents: DynamoDBDocumentClient, tableName: string, worker: number, n: number): Promise<undefined> {
  await documents.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { pk: `yardstick-${worker}-${n % 500}` },
      UpdateExpression:
        'SET #value = :value, version = :version, sourceTimestamp = :ts, sourceOffset = :offset, pendingPartition = :partition, dueAt = if_not_exists(emittedAt, :zero) + :interval',
      ConditionExpression: 'attribute_not_exists(pk) OR version < :version OR (version = :version AND sourceTimestamp < :ts)',
      ExpressionAttributeNames: { '#value': 'value' },
      ExpressionAttributeValues: {
        ':value': JSON.stringify({ version: n, sourceTimestamp: n, amountMinor: 100 + (n % 50), currency: 'EUR' }),
        ':version': n,
        ':ts': n,
        ':offset': n,
        ':partition': 'yardstick-0',
        ':zero': 0,
        ':interval': INTERVAL_MS,
      },
      ReturnValues: 'ALL_NEW',
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Workloads

interface Workload {
  readonly messages: ReadonlyArray<{ readonly key: string; readonly update: PriceUpdate }>;
  readonly newest: ReadonlyMap<string, PriceUpdate>;
}

/** An endless Zipf-skewed source of updates; versions increase per key. */
function updateSource(seed: number): { next(): { key: string; update: PriceUpdate }; readonly newest: Map<string, PriceUpdate> } {
  const random = seededRandom(seed);
  const nextKey = zipfSampler(KEYS, SKEW, random);
  const newest = new Map<string, PriceUpdate>();
  let index = 0;
  return {
    newest,
    next() {
      const key = `item-${nextKey()}`;
      const update: PriceUpdate = {
        version: (newest.get(key)?.version ?? 0) + 1,
        sourceTimestamp: 1_700_000_000_000 + index,
        amountMinor: 100 + Math.floor(random() * 50),
        currency: 'EUR',
      };
      index += 1;
      newest.set(key, update);
      return { key, update };
    },
  };
}

/** A burst workload, generated once so both burst modes see the same records. */
function generateWorkload(updates: number, seed: number): Workload {
  const source = updateSource(seed);
  const messages = Array.from({ length: updates }, () => source.next());
  return { messages, newest: source.newest };
}

// ---------------------------------------------------------------------------------------------
// One hot stream under test

interface StreamUnderTest {
  readonly name: string;
  readonly stream: ReturnType<typeof definePriceStream>;
  readonly tableName: string;
  readonly handler: HotStreamHandler<PriceUpdate>;
  readonly running: RunningPipeline;
  readonly producer: Producer;
  /** Invocations of the handler running now. */
  inFlight(): number;
}

async function startStream(
  runtime: LocalRuntime,
  kafka: Kafka,
  documents: DynamoDBDocumentClient,
  settings: {
    coalesceWindowMs: number;
    minEmitIntervalMs: number;
    eventSource?: { batchSize: number; maximumBatchingWindowMs: number };
    flushTickIntervalMs?: number;
  },
): Promise<StreamUnderTest> {
  const name = uniqueName('bench-prices');
  const stream = definePriceStream({
    name,
    inputTopic: `${name}.updates`,
    outputTopic: `${name}.deltas`,
    deadLetterTopic: `${name}.dlq`,
    minEmitIntervalMs: settings.minEmitIntervalMs,
    coalesceWindowMs: settings.coalesceWindowMs,
  });
  const pipeline = definePipeline({
    name,
    topics: [
      { name: stream.inputTopic, kind: 'event', partitions: 3 },
      { name: stream.outputTopic, kind: 'event', partitions: 3 },
      { name: stream.deadLetterTopic, kind: 'dead-letter', partitions: 1 },
      { name: `${name}.passthrough`, kind: 'event', partitions: 3 },
    ],
    hotStreams: [
      {
        stream,
        handler: { entry: NOOP_HANDLER_ENTRY },
        ...(settings.eventSource ? { eventSource: settings.eventSource } : {}),
        ...(settings.flushTickIntervalMs ? { flushTickIntervalMs: settings.flushTickIntervalMs } : {}),
      },
    ],
  });
  const tableName = pipeline.hotStreams[0]!.table.name;
  const handler = createHotStreamHandler(stream, {
    env: { [hotStateTableVariable(stream.name)]: tableName, KAFKA_BROKERS: runtime.kafka.brokers.join(',') },
    documents,
    kafka,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let inFlight = 0;
  const counted: MskHandler = async (event, context) => {
    inFlight += 1;
    try {
      return await handler(event, context);
    } finally {
      inFlight -= 1;
    }
  };
  const running = await runPipeline(runtime, pipeline, { handlers: { [stream.name]: counted } });
  // Ready once the consumer group has joined and the first flush tick came through, so no mode measures the join.
  for (const deadline = Date.now() + 60_000; running.mappings[0]!.stats.invocations === 0 && Date.now() < deadline; ) await delay(50);
  return { name, stream, tableName, handler, running, producer, inFlight: () => inFlight };
}

async function send(under: StreamUnderTest, messages: ReadonlyArray<{ key: string; update: PriceUpdate }>): Promise<void> {
  await under.producer.send({
    topic: under.stream.inputTopic,
    messages: messages.map(({ key, update }) => ({ key, value: JSON.stringify(update) })),
  });
}

/**
 * Waits until the consumer has taken `count` updates (flush ticks keep arriving on the input topic, so its lag rarely
 * reads 0) and stored them: across batches, taken updates wait in memory until their window ends, and a window's keys
 * are stored inside an invocation, so nothing is left to store once the buffer is empty and no invocation runs.
 */
async function stored(under: StreamUnderTest, count: number): Promise<void> {
  const done = () => under.handler.totals.updates >= count && under.handler.processor.bufferedKeys === 0 && under.inFlight() === 0;
  for (let lastLog = Date.now(); !done(); ) {
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      const stats = under.running.mappings[0]!.stats;
      const buffered = under.handler.processor.bufferedKeys;
      console.log(
        `  … ${under.handler.totals.updates} of ${count} updates consumed, ${buffered} keys buffered${stats.lastError ? `; last error: ${stats.lastError}` : ''}`,
      );
    }
    await delay(20);
  }
}

interface FinalCheck {
  readonly storedRight: number;
  readonly emittedRight: number;
  readonly touched: number;
  readonly bufferedRangesLeft: number;
}

/**
 * The trailing guarantee: once stored, within one more interval and a tick, every final value is out.
 * Waits that long, then stops the stream and checks that stored state and the last emitted delta of every key equal its newest update.
 */
async function finish(
  under: StreamUnderTest,
  documents: DynamoDBDocumentClient,
  kafka: Kafka,
  newest: ReadonlyMap<string, PriceUpdate>,
  trailingMs: number,
): Promise<{ check: FinalCheck; emittedEvents: number; usage: DynamoDbUsage }> {
  await delay(trailingMs);
  await under.running.stop();
  const usage = { ...under.handler.store.usage };
  let storedRight = 0;
  let emittedRight = 0;
  let bufferedRangesLeft = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: under.tableName, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    for (const item of page.Items ?? []) {
      if (isBufferedRangeKey(item.pk as string)) {
        bufferedRangesLeft += 1;
        continue;
      }
      const expected = newest.get(item.pk as string);
      const stored = JSON.parse(item.value as string) as PriceUpdate;
      const emitted = typeof item.emittedValue === 'string' ? (JSON.parse(item.emittedValue) as PriceUpdate) : undefined;
      if (expected && stored.version === expected.version) storedRight += 1;
      if (expected && emitted && emitted.amountMinor === expected.amountMinor) emittedRight += 1;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const admin = kafka.admin();
  await admin.connect();
  const emittedEvents = await topicRecordCount(admin, under.stream.outputTopic);
  await Promise.all([under.producer.disconnect(), admin.disconnect()]);
  return { check: { storedRight, emittedRight, touched: newest.size, bufferedRangesLeft }, emittedEvents, usage };
}

// ---------------------------------------------------------------------------------------------
// Bursts

async function runBurst(
  runtime: LocalRuntime,
  kafka: Kafka,
  documents: DynamoDBDocumentClient,
  children: readonly number[],
  workload: Workload,
  label: string,
  coalesceWindowMs: number,
): Promise<{ result: ModeResult; under: StreamUnderTest }> {
  const under = await startStream(runtime, kafka, documents, {
    coalesceWindowMs,
    minEmitIntervalMs: INTERVAL_MS,
    eventSource: { batchSize: 10_000, maximumBatchingWindowMs: 2_000 },
    flushTickIntervalMs: 1_000,
  });
  const cpu = readCpu(children);
  const started = process.hrtime.bigint();
  for (let start = 0; start < workload.messages.length; start += 5_000) await send(under, workload.messages.slice(start, start + 5_000));
  await stored(under, workload.messages.length);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = cpuBetween(cpu, readCpu(children));
  const requestsWhenStored = under.handler.store.usage.requests;
  const { check, emittedEvents, usage } = await finish(under, documents, kafka, workload.newest, INTERVAL_MS + 2_500);
  const updates = workload.messages.length;
  return {
    under,
    result: {
      label,
      updates,
      usage,
      updatesPerSecond: spreadOf([updates / seconds]),
      cpuMsPerUpdate: spreadOf([(used.selfMs + used.othersMs) / updates]),
      requestsPerUpdate: requestsWhenStored / updates,
      updatesPerEvent: updates / emittedEvents,
      check,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Steady state

interface SteadyWindow {
  readonly produced: number;
  readonly consumed: number;
  readonly distinctKeys: number;
  readonly requests: number;
  readonly writes: number;
  readonly wru: number;
  readonly rru: number;
  readonly seconds: number;
  readonly cpuMs: number;
  /** Updates produced and not yet consumed when the window ended. */
  readonly lagAtEnd: number;
}

interface SteadySample {
  readonly at: bigint;
  readonly produced: number;
  readonly consumed: number;
  readonly usage: DynamoDbUsage;
  readonly cpu: CpuReading;
}

async function runSteady(
  runtime: LocalRuntime,
  kafka: Kafka,
  documents: DynamoDBDocumentClient,
  children: readonly number[],
): Promise<{ result: ModeResult; windows: SteadyWindow[]; under: StreamUnderTest }> {
  // The stream's own event-source defaults (batches of 1,000, 1 s window) and flush ticks (one per interval).
  const under = await startStream(runtime, kafka, documents, { coalesceWindowMs: WINDOW_MS, minEmitIntervalMs: WINDOW_MS });
  const source = updateSource(23);
  let produced = 0;
  let keysInWindow = new Set<string>();
  let producing = true;
  const started = Date.now();
  // Held to the rate by the clock: each tick sends what is due, so a late tick catches up instead of lowering the rate.
  const producer = (async () => {
    while (producing) {
      const due = Math.floor(((Date.now() - started) * RATE) / 1_000) - produced;
      if (due > 0) {
        const messages = Array.from({ length: due }, () => source.next());
        for (const { key } of messages) keysInWindow.add(key);
        produced += due;
        await send(under, messages);
      }
      // About 100 updates a send, as an upstream producer that batches would send them.
      await delay(100);
    }
  })();
  const sample = (): SteadySample => ({
    at: process.hrtime.bigint(),
    produced,
    consumed: under.handler.totals.updates,
    usage: { ...under.handler.store.usage },
    cpu: readCpu(children),
  });

  const windows: SteadyWindow[] = [];
  try {
    await delay(started + WARMUP_WINDOWS * WINDOW_MS - Date.now());
    let previous = sample();
    keysInWindow = new Set();
    for (let index = 1; index <= WINDOWS; index += 1) {
      await delay(started + (WARMUP_WINDOWS + index) * WINDOW_MS - Date.now());
      const current = sample();
      const keys = keysInWindow;
      keysInWindow = new Set();
      const cpu = cpuBetween(previous.cpu, current.cpu);
      windows.push({
        produced: current.produced - previous.produced,
        consumed: current.consumed - previous.consumed,
        distinctKeys: keys.size,
        requests: current.usage.requests - previous.usage.requests,
        writes: current.usage.writeRequests - previous.usage.writeRequests,
        wru: current.usage.writeCapacityUnits - previous.usage.writeCapacityUnits,
        rru: current.usage.readCapacityUnits - previous.usage.readCapacityUnits,
        seconds: Number(current.at - previous.at) / 1e9,
        cpuMs: cpu.selfMs + cpu.othersMs,
        lagAtEnd: current.produced - current.consumed,
      });
      previous = current;
    }
  } finally {
    producing = false;
    await producer;
  }
  await stored(under, produced);
  // The stream's flush ticks come once per interval here (its default), so the last one may take a whole interval more.
  const { check, emittedEvents } = await finish(under, documents, kafka, source.newest, 2 * WINDOW_MS + 1_500);
  const sum = (field: keyof SteadyWindow) => windows.reduce((total, window) => total + window[field], 0);
  const updates = sum('produced');
  return {
    under,
    windows,
    result: {
      label: MODE_LABELS.steady!,
      updates,
      usage: {
        requests: sum('requests'),
        readRequests: sum('requests') - sum('writes'),
        writeRequests: sum('writes'),
        readCapacityUnits: sum('rru'),
        writeCapacityUnits: sum('wru'),
      },
      updatesPerSecond: spreadOf(windows.map((window) => window.consumed / window.seconds)),
      cpuMsPerUpdate: spreadOf(windows.map((window) => window.cpuMs / window.produced)),
      requestsPerUpdate: sum('requests') / updates,
      updatesPerEvent: produced / emittedEvents,
      check,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function report(
  results: readonly ModeResult[],
  steadyWindows: readonly SteadyWindow[],
  mix: RequestMixMeasurement,
  passThroughs: readonly PassThroughMeasurement[],
  burstWorkload: Workload | undefined,
): void {
  const percent = (value: number) => `${(100 * value).toFixed(0)}%`;
  const costRows: Record<string, Record<string, string | number>> = {};
  const speedRows: Record<string, Record<string, string | number>> = {};
  for (const result of results) {
    const { usage, updates, check, requestsPerUpdate, cpuMsPerUpdate: cpu } = result;
    const units = { rru: usage.readCapacityUnits / updates, wru: usage.writeCapacityUnits / updates };
    costRows[result.label] = {
      updates,
      'DDB writes/update': (usage.writeRequests / updates).toFixed(3),
      'updates per write': (updates / usage.writeRequests).toFixed(2),
      'WRU/update': units.wru.toFixed(3),
      'RRU/update': units.rru.toFixed(3),
      '$ per M updates': `$${dollarsPerMillion(units).toFixed(3)}`,
      'updates per event': result.updatesPerEvent.toFixed(1),
      'final stored right': `${((100 * check.storedRight) / check.touched).toFixed(2)}%`,
      'final emitted right': `${((100 * check.emittedRight) / check.touched).toFixed(2)}%`,
      'ranges left': check.bufferedRangesLeft,
    };
    // The CPU the run's DynamoDB requests alone take, by the yardstick, over the CPU the run took.
    const storeShare = (mixCpu: number, runCpu: number) => percent((requestsPerUpdate * mixCpu) / runCpu);
    // The run's rate over the rate the local server allows at this many requests per update, by the yardstick.
    const ofRateBound = (rate: number, mixRate: number) => percent(rate / (mixRate / requestsPerUpdate));
    const steady = result.label === MODE_LABELS.steady;
    const rate = result.updatesPerSecond;
    speedRows[result.label] = {
      'CPU ms/update': formatSpread(cpu, 3),
      'requests/update': requestsPerUpdate.toFixed(3),
      'of store-bound max (CPU)': `${storeShare(mix.cpuMsPerRequest, cpu.median)} (${storeShare(mix.minCpuMsPerRequest, cpu.max)}–${storeShare(mix.maxCpuMsPerRequest, cpu.min)})`,
      'CPU vs pass-through': passThroughs.length
        ? formatSpread(spreadOf(passThroughs.map((pass) => cpu.median / pass.cpuMsPerRecord)), 1, '×')
        : '-',
      'updates/s': formatSpread(rate, 0),
      // The steady mode's rate is the producer's, not a maximum.
      'of store-bound max (rate)': steady
        ? '-'
        : `${ofRateBound(rate.median, mix.medianPerSecond)} (${ofRateBound(rate.min, mix.maxPerSecond)}–${ofRateBound(rate.max, mix.minPerSecond)})`,
    };
  }

  const burst = burstWorkload
    ? `bursts of ${burstWorkload.messages.length} updates produced at once (${burstWorkload.newest.size} keys touched), ` +
      `emit interval ${INTERVAL_MS} ms, across batches also coalesce window ${INTERVAL_MS} ms`
    : '';
  const steadyNote = steadyWindows.length > 0 ? `steady: ${RATE} updates/s, coalesce window and emit interval ${WINDOW_MS} ms` : '';
  console.log(`\nHigh-frequency path: price updates over ${KEYS} keys (Zipf ${SKEW}); ${[burst, steadyNote].filter(Boolean).join('; ')}.`);
  console.log(
    `Cost at DynamoDB on-demand list prices (${ON_DEMAND_PRICES.region}, ${ON_DEMAND_PRICES.tableClass}: ` +
      `$${ON_DEMAND_PRICES.usdPerMillionWriteRequestUnits}/M WRU, $${ON_DEMAND_PRICES.usdPerMillionReadRequestUnits}/M RRU), from the table's units as dynalite reports them;\n` +
      `AWS also bills the pending index's write units, which dynalite does not report. Steady: the measured windows only.`,
  );
  console.table(costRows);
  if (burstWorkload) {
    console.log(
      `Burst floor for any scheme that stores and emits each changed key once per window: one write per key touched in a window; ` +
        `if a whole burst falls in one window, ${(burstWorkload.messages.length / burstWorkload.newest.size).toFixed(1)} updates per write.`,
    );
  }

  if (steadyWindows.length > 0) {
    console.log(
      `\nSteady state, ${RATE} updates/s, per ${WINDOW_MS} ms window after ${WARMUP_WINDOWS} of warm-up. Floor: the distinct keys produced in the window.\n` +
        `Handled: counted when the invocation that took them returns (one that stores a window's keys takes seconds), so lumpy; lag: produced − handled.`,
    );
    console.table(
      steadyWindows.map((window) => ({
        'updates produced': window.produced,
        'updates handled': window.consumed,
        'DDB writes': window.writes,
        'updates per write': window.writes > 0 ? (window.produced / window.writes).toFixed(2) : '-',
        'floor: distinct keys': window.distinctKeys,
        'floor: updates per write': (window.produced / window.distinctKeys).toFixed(2),
        'WRU/update': (window.wru / window.produced).toFixed(3),
        'lag at end': window.lagAtEnd,
      })),
    );
    const sum = (field: keyof SteadyWindow) => steadyWindows.reduce((total, window) => total + window[field], 0);
    const perWrite = spreadOf(steadyWindows.filter((window) => window.writes > 0).map((window) => window.produced / window.writes));
    const floor = spreadOf(steadyWindows.map((window) => window.produced / window.distinctKeys));
    const wru = spreadOf(steadyWindows.map((window) => window.wru / window.produced));
    const dollars = spreadOf(
      steadyWindows.map((window) => dollarsPerMillion({ rru: window.rru / window.produced, wru: window.wru / window.produced })),
    );
    console.log(
      `Median (min–max) over ${steadyWindows.length} windows: ${formatSpread(perWrite, 2)} updates per write (all windows together: ` +
        `${(sum('produced') / sum('writes')).toFixed(2)}) against a floor of ${formatSpread(floor, 2)}; ` +
        `${formatSpread(wru, 3)} WRU per update; $${formatSpread(dollars, 3)} per million updates.`,
    );
    const lastLag = steadyWindows[steadyWindows.length - 1]!.lagAtEnd;
    if (lastLag > (RATE * WINDOW_MS) / 1_000) {
      console.log(
        `WARNING: ${lastLag} updates still waited after the last window: the pipeline did not keep up with ${RATE}/s on this machine, so the\n` +
          `windows measure a growing backlog, not the steady state (run it on a quieter machine, or lower BENCH_HOT_RATE).`,
      );
    }
  }

  const mixCpu = { median: mix.cpuMsPerRequest, min: mix.minCpuMsPerRequest, max: mix.maxCpuMsPerRequest, count: mix.windows.length };
  const mixRate = { median: mix.medianPerSecond, min: mix.minPerSecond, max: mix.maxPerSecond, count: mix.windows.length };
  const passThrough = passThroughs.length
    ? `; a Kafka consume → produce of the same records, ${formatSpread(spreadOf(passThroughs.map((pass) => pass.cpuMsPerRecord)), 3)} CPU ms per record, ` +
      `${formatSpread(spreadOf(passThroughs.map((pass) => pass.perSecond)), 0)} records/s`
    : '';
  console.log(
    `\nSpeed. CPU: this process's and its children's (the broker, dynalite), user + system; bursts: until every update was stored; steady: per window.\n` +
      `Yardsticks, measured after each mode: the hot path's conditional update, ${formatSpread(mixCpu, 3)} CPU ms per request, ` +
      `${formatSpread(mixRate, 0)} requests/s (${mix.windows.length} one-second windows)${passThrough}.`,
  );
  console.table(speedRows);
  console.log(
    `"of store-bound max (CPU)": requests/update × the yardstick's CPU ms/request ÷ CPU ms/update, the share of the run's CPU its DynamoDB requests\n` +
      `explain; "(rate)": updates/s ÷ (yardstick requests/s ÷ requests/update). Requests include reads and the per-batch offset records.\n` +
      `Locally one execution environment holds every partition; in AWS each environment coalesces what it is given.`,
  );
}
