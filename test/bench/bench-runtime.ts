import type { Kafka } from 'kafkajs';
import { findFreePort, findFreePortPair, startLocalRuntime, type LocalRuntime } from '../../shared/local';
import { sendChunked } from '../../shared/kafka';
import { delay } from '../support/delay';
import { uniqueName } from '../support/integration';
import { ownServicesConfig } from '../support/own-services';
import { cpuSince, readCpu, spreadOf } from './measure';

/** Local services of its own for one benchmark, on free ports, so a running `npm start` is never measured. */
export async function startBenchRuntime(): Promise<LocalRuntime> {
  return startLocalRuntime({ config: ownServicesConfig({ kafkaPort: await findFreePortPair(), dynamoDbPort: await findFreePort() }) });
}

/** What a benchmark's own DynamoDB request mix costs on the local server, for comparison with what the benchmark achieved. */
export interface RequestMixMeasurement {
  /** Median over the windows of requests per second, with the slowest and fastest window. */
  readonly medianPerSecond: number;
  readonly minPerSecond: number;
  readonly maxPerSecond: number;
  /**
   * Median over the windows of CPU ms per request: this process (the AWS SDK
   * client; dynalite too, where it runs in-process) plus the `processes` given
   * (where dynalite runs apart, pass its pid, or `descendantProcessIds()` from
   * ./measure). Far steadier than requests/s when other work shares the machine.
   */
  readonly cpuMsPerRequest: number;
  readonly minCpuMsPerRequest: number;
  readonly maxCpuMsPerRequest: number;
  readonly windows: readonly RequestMixWindow[];
}

/** One measured window of a request mix. */
export interface RequestMixWindow {
  readonly requests: number;
  readonly seconds: number;
  readonly cpuMs: number;
}

export interface RequestMixOptions {
  /**
   * One step of the mix for one worker (`n` counts that worker's steps from 0);
   * returns how many DynamoDB requests it sent, 1 when it returns nothing.
   */
  readonly request: (worker: number, n: number) => Promise<number | undefined>;
  /** Measured windows; their median and range are reported. @default 5 */
  readonly windows?: number;
  /** @default 1000 */
  readonly windowMs?: number;
  /** Unmeasured time first, so that connections, JIT and the server's caches are warm. @default 1000 */
  readonly warmupMs?: number;
  /** Workers sending requests at once; match what the measured code does. @default 8 */
  readonly concurrency?: number;
  /** Other processes whose CPU counts too, e.g. a DynamoDB server running as a child process. @default none */
  readonly processes?: readonly number[];
}

/**
 * The yardstick for a DynamoDB-bound benchmark: runs the benchmark's own
 * request mix against the local server for a warm-up and then `windows`
 * windows, and reports the median rate over the windows with its range, and
 * CPU ms per request. Replaces a single window's "ceiling", which swung tenfold
 * with other load. Call it more than once (before, between and after the runs
 * it is compared with) and pool the windows with {@link summarizeRequestMix}.
 *
 * @example
 * const mix = await measureRequestMix({
 *   windows: 5, windowMs: 1_000, warmupMs: 1_000,
 *   request: async (worker, n) => {
 *     await documents.send(new GetCommand({ TableName, Key: { pk: `y-${worker}-${n % 500}` }, ConsistentRead: true }));
 *     await documents.send(new PutCommand({ TableName, Item: { pk: `y-${worker}-${n % 500}`, n } }));
 *     return 2;
 *   },
 * });
 * // store-bound share of a run's CPU: requestsPerEvent * mix.cpuMsPerRequest / cpuMsPerEvent
 */
export async function measureRequestMix(options: RequestMixOptions): Promise<RequestMixMeasurement> {
  const windowCount = options.windows ?? 5;
  const windowMs = options.windowMs ?? 1_000;
  const warmupMs = options.warmupMs ?? 1_000;
  const concurrency = options.concurrency ?? 8;
  let requests = 0;
  let stopping = false;
  let failure: unknown;
  const workers = Array.from({ length: concurrency }, async (_, worker) => {
    for (let n = 0; !stopping; n += 1) {
      try {
        const sent = await options.request(worker, n);
        requests += typeof sent === 'number' ? sent : 1;
      } catch (error) {
        failure ??= error;
        stopping = true;
      }
    }
  });
  const windows: RequestMixWindow[] = [];
  try {
    await delay(warmupMs);
    for (let index = 0; index < windowCount && !stopping; index += 1) {
      const requestsBefore = requests;
      const cpu = readCpu(options.processes);
      const started = process.hrtime.bigint();
      await delay(windowMs);
      const used = cpuSince(cpu);
      windows.push({
        requests: requests - requestsBefore,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        cpuMs: used.selfMs + used.othersMs,
      });
    }
  } finally {
    stopping = true;
    await Promise.all(workers);
  }
  if (failure !== undefined) throw failure;
  return summarizeRequestMix(windows);
}

/** Median and range over windows, e.g. those of several {@link measureRequestMix} calls pooled. */
export function summarizeRequestMix(windows: readonly RequestMixWindow[]): RequestMixMeasurement {
  const rates = spreadOf(windows.map((window) => window.requests / window.seconds));
  const cpu = spreadOf(windows.filter((window) => window.requests > 0).map((window) => window.cpuMs / window.requests));
  return {
    medianPerSecond: rates.median,
    minPerSecond: rates.min,
    maxPerSecond: rates.max,
    cpuMsPerRequest: cpu.median,
    minCpuMsPerRequest: cpu.min,
    maxCpuMsPerRequest: cpu.max,
    windows,
  };
}

/** A plain kafkajs consume → produce of `count` records: the least any consumer of them can cost. */
export interface PassThroughMeasurement {
  readonly records: number;
  readonly perSecond: number;
  /** CPU ms per record: this process (kafkajs fetching, decoding, producing) and the processes measured with it. */
  readonly cpuMsPerRecord: number;
}

/**
 * Consumes `count` records of `from` with plain kafkajs and produces them to `to`,
 * measuring wall time and the CPU of this process and of `processes` (e.g. the broker).
 */
export async function measurePassThrough(
  kafka: Kafka,
  from: string,
  to: string,
  count: number,
  options: { readonly processes?: readonly number[] } = {},
): Promise<PassThroughMeasurement> {
  const consumer = kafka.consumer({ groupId: uniqueName('passthrough'), maxWaitTimeInMs: 100 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: from, fromBeginning: true });
  const cpu = readCpu(options.processes);
  const started = process.hrtime.bigint();
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    void consumer.run({
      eachBatch: async ({ batch }) => {
        // A fetched batch can reach 1 MB, the broker's limit for one produce request: sent in chunks.
        await sendChunked(
          producer,
          to,
          batch.messages.map((message) => ({ key: message.key, value: message.value })),
        );
        seen += batch.messages.length;
        if (seen >= count) resolve();
      },
    });
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = cpuSince(cpu);
  const cpuMs = used.selfMs + used.othersMs;
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  return { records: seen, perSecond: seen / seconds, cpuMsPerRecord: cpuMs / seen };
}
