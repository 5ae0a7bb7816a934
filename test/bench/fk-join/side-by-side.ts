/**
 * The platform's join and Kafka Streams' own FK join on the same broker and the
 * same records, each in processes of its own: the platform's handlers and
 * event-source emulator in a runner process (plus the local DynamoDB server's
 * process), Kafka Streams in its JVM. The driver (this process) produces each
 * phase's records and waits; its CPU is not counted on either side.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Admin, Kafka } from 'kafkajs';
import type { JoinType } from '../../../shared/fk-join';
import { provisionTopics, LOCAL_STATE_DIR, type LocalRuntime } from '../../../shared/local';
import { uniqueName } from '../../support/integration';
import { startKafkaStreamsPeer } from '../kafka-streams-peer';
import { otherProcessCpuMs } from '../measure';
import { benchJoin, benchPipeline, expectedFinalOutputs, type Message, type Phases } from './workload';

export type Side = 'platform' | 'kafkaStreams';
export const PHASES = ['leftLoad', 'fkChanges', 'fanOut'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PhaseMeasurement {
  readonly results: number;
  readonly seconds: number;
  /** Every process of the side: for the platform, the runner and the local DynamoDB server. */
  readonly cpuMs: number;
  /** The platform's runner alone (what would run in Lambda); Kafka Streams' JVM. */
  readonly ownCpuMs: number;
}

export interface RoundMeasurement {
  readonly side: Side;
  readonly type: JoinType;
  readonly phases: Record<PhaseName, PhaseMeasurement>;
  /** The last output per key equals the join of the final inputs. */
  readonly finalOutputsCorrect: boolean;
  /** The last value per key on the output topic. */
  readonly finalOutputs: Map<string, string | null>;
}

interface SideProcess {
  /** CPU ms of every process of the side so far. */
  cpuMs(): number;
  /** CPU ms of the side's own process (without the local DynamoDB server). */
  ownCpuMs(): number;
  /** Consumer lag of the side's groups, over every topic they read (Kafka Streams' internal ones included). */
  lag(admin: Admin): Promise<number>;
  stop(): Promise<void>;
}

export interface SideBySideOptions {
  readonly runtime: LocalRuntime;
  readonly kafka: Kafka;
  readonly phases: Phases;
  /** The local DynamoDB server's process: counted on the platform side. */
  readonly dynamoDbPids: readonly number[];
  /** Run the platform's runner with `--cpu-prof` into this directory. */
  readonly profileDir?: string;
  readonly log: (line: string) => void;
}

/** One round of one side: fresh topics, the side started, every phase produced and waited for, the final outputs read. */
export async function runRound(side: Side, type: JoinType, options: SideBySideOptions): Promise<RoundMeasurement> {
  const prefix = uniqueName(`bench-${side === 'platform' ? 'p' : 'k'}`);
  const join = benchJoin(prefix, type);
  const pipeline = benchPipeline(join);
  const admin = options.kafka.admin();
  await admin.connect();
  const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let process: SideProcess | undefined;
  try {
    await provisionTopics(admin, pipeline.topics);
    process = side === 'platform' ? await startRunner(prefix, type, options) : await startPeer(prefix, join, type, options);
    const produce = async (topic: string, messages: readonly Message[]) => {
      for (let start = 0; start < messages.length; start += 1_000)
        await producer.send({ topic, messages: messages.slice(start, start + 1_000) });
    };
    const outputCount = async () =>
      (await admin.fetchTopicOffsets(join.outputTopic)).reduce((sum, partition) => sum + Number(partition.high), 0);
    const phase = async (topic: string, messages: readonly Message[]): Promise<PhaseMeasurement> => {
      const outputsBefore = await outputCount();
      const cpuBefore = process!.cpuMs();
      const ownBefore = process!.ownCpuMs();
      const started = Date.now();
      await produce(topic, messages);
      const settledAt = await settle(admin, process!, outputCount);
      return {
        results: (await outputCount()) - outputsBefore,
        seconds: (settledAt - started) / 1000,
        cpuMs: process!.cpuMs() - cpuBefore,
        ownCpuMs: process!.ownCpuMs() - ownBefore,
      };
    };
    await phase(join.rightTopic, options.phases.rightLoad);
    await phase(join.leftTopic, options.phases.warmUp);
    const leftLoad = await phase(join.leftTopic, options.phases.leftLoad);
    const fkChanges = await phase(join.leftTopic, options.phases.fkChanges);
    const fanOut = await phase(join.rightTopic, options.phases.fanOut);
    const finalOutputs = await readLatest(options.kafka, join.outputTopic, await outputCount());
    const expected = expectedFinalOutputs(type, options.phases);
    return { side, type, phases: { leftLoad, fkChanges, fanOut }, finalOutputs, finalOutputsCorrect: sameOutputs(finalOutputs, expected) };
  } finally {
    await process?.stop();
    await producer.disconnect();
    await admin.disconnect();
  }
}

/** Equal as compacted topics: a key with a tombstone last is the same as a key never written. */
export function sameOutputs(a: ReadonlyMap<string, string | null>, b: ReadonlyMap<string, string | null>): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].every((key) => (a.get(key) ?? null) === (b.get(key) ?? null));
}

/**
 * Waits until the side has consumed everything and its output stopped growing, and returns when
 * that first held (the confirming polls are not counted).
 */
async function settle(admin: Admin, side: SideProcess, outputCount: () => Promise<number>): Promise<number> {
  let candidate: { at: number; outputs: number; polls: number } | undefined;
  for (;;) {
    const at = Date.now();
    const [lag, outputs] = await Promise.all([side.lag(admin), outputCount()]);
    if (lag === 0) {
      if (candidate && candidate.outputs === outputs) {
        candidate.polls += 1;
        if (candidate.polls >= 4) return candidate.at;
      } else candidate = { at, outputs, polls: 1 };
    } else candidate = undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function groupLag(admin: Admin, groupId: string): Promise<number> {
  const committed = await admin.fetchOffsets({ groupId });
  let lag = 0;
  for (const { topic, partitions } of committed) {
    const ends = await admin.fetchTopicOffsets(topic);
    for (const end of ends) {
      const offset = Number(partitions.find((partition) => partition.partition === end.partition)?.offset ?? -1);
      lag += Math.max(0, Number(end.high) - (offset >= 0 ? offset : Number(end.low)));
    }
  }
  return lag;
}

async function startRunner(prefix: string, type: JoinType, options: SideBySideOptions): Promise<SideProcess> {
  const runner = join(__dirname, 'runner.ts');
  const flags = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = spawn(
    process.execPath,
    [
      ...flags,
      '-r',
      '@swc-node/register',
      runner,
      prefix,
      type,
      options.runtime.kafka.brokers.join(','),
      options.runtime.dynamodb.endpoint,
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
    },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  let ready: () => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`the join runner exited with code ${code} before it was ready: ${stderr}`)));
  });
  lines.on('line', (line) => {
    if (line === 'READY') ready();
    else if (line.startsWith('STATUS ')) waiting.shift()?.(line.slice(7));
  });
  await readyPromise;
  const pids = [child.pid!, ...options.dynamoDbPids];
  return {
    cpuMs: () => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0),
    ownCpuMs: () => cpuMsOf(child.pid!),
    lag: async () => {
      const status = await new Promise<string>((resolve) => {
        waiting.push(resolve);
        child.stdin!.write('status\n');
      });
      const parsed = JSON.parse(status) as { lag?: number; error?: string };
      if (parsed.error) throw new Error(parsed.error);
      return parsed.lag!;
    },
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin!.end();
      await exited;
      process.removeListener('exit', killOnExit);
    },
  };
}

function cpuMsOf(pid: number): number {
  const ms = otherProcessCpuMs(pid, { includeReapedChildren: true });
  if (ms === undefined) throw new Error(`process ${pid} is gone: its CPU time cannot be read`);
  return ms;
}

async function startPeer(
  prefix: string,
  join_: ReturnType<typeof benchJoin>,
  type: JoinType,
  options: SideBySideOptions,
): Promise<SideProcess> {
  const stateDir = mkdtempSync(join(LOCAL_STATE_DIR, 'kafka-streams-state-'));
  const applicationId = `${prefix}-kstreams`;
  const peer = await startKafkaStreamsPeer({
    brokers: options.runtime.kafka.brokers,
    applicationId,
    leftTopic: join_.leftTopic,
    rightTopic: join_.rightTopic,
    outputTopic: join_.outputTopic,
    type,
    stateDir,
    log: options.log,
  });
  return {
    cpuMs: () => peer.cpuMs(),
    ownCpuMs: () => peer.cpuMs(),
    lag: (admin) => groupLag(admin, applicationId),
    stop: async () => {
      await peer.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The last value per key of a topic's first `count` records. */
async function readLatest(kafka: Kafka, topic: string, count: number): Promise<Map<string, string | null>> {
  const latest = new Map<string, string | null>();
  if (count === 0) return latest;
  const consumer = kafka.consumer({ groupId: uniqueName('bench-read'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    void consumer.run({
      eachMessage: async ({ message }) => {
        latest.set(message.key!.toString(), message.value === null ? null : message.value.toString());
        seen += 1;
        if (seen >= count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return latest;
}

/** Self time by where the code comes from, as shares of the profile's busy time. */
export function profileShares(profileDir: string): Array<{ part: string; share: number }> {
  const files = readdirSync(profileDir).filter((file) => file.endsWith('.cpuprofile'));
  const totals = new Map<string, number>();
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as {
      nodes: Array<{ id: number; callFrame: { url: string; functionName: string } }>;
      samples: number[];
      timeDeltas: number[];
    };
    const partOf = new Map(profile.nodes.map((node) => [node.id, partOfFrame(node.callFrame)]));
    profile.samples.forEach((id, index) => {
      const part = partOf.get(id) ?? 'other';
      totals.set(part, (totals.get(part) ?? 0) + (profile.timeDeltas[index] ?? 0));
    });
  }
  totals.delete('idle');
  const busy = [...totals.values()].reduce((sum, value) => sum + value, 0);
  return [...totals].map(([part, time]) => ({ part, share: time / busy })).sort((a, b) => b.share - a.share);
}

function partOfFrame({ url, functionName }: { url: string; functionName: string }): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'Node internals';
  if (/node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//.test(url)) return 'AWS SDK';
  if (url.includes('node_modules/dynamodb-toolbox/')) return 'dynamodb-toolbox';
  if (url.includes('node_modules/kafkajs/')) return 'kafkajs';
  if (url.includes('/shared/fk-join/')) return 'the join (shared/fk-join)';
  if (url.includes('/shared/local/event-source/')) return 'event-source emulator';
  if (url.includes('/shared/')) return 'other project code';
  if (url.includes('node_modules/')) return 'other dependencies';
  return 'Node internals';
}
