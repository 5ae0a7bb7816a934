/**
 * Kafka Streams' own KTable-KTable foreign-key join as a benchmark peer: a JVM
 * running test/bench/kafka-streams/FkJoinPeer.java against the local broker, so
 * the platform's join and Kafka's can be compared on the same records, CPU for CPU.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LocalRuntimeError } from '../../shared/local/errors';
import { LOCAL_STATE_DIR } from '../../shared/local/paths';
import { stopChildProcess } from '../../shared/local/child-process';
import { BROKER_POM } from '../../shared/local/kafka/resolve-broker-classpath';
import { otherProcessCpuMs } from './measure';

/** The pinned pom that lists Kafka Streams' jars; its hash keys the cache. */
export const KAFKA_STREAMS_POM = join(__dirname, 'kafka-streams', 'pom.xml');
/** The peer's source, compiled once per source and classpath into `.local/`. */
export const FK_JOIN_PEER_SOURCE = join(__dirname, 'kafka-streams', 'FkJoinPeer.java');

const STOP_GRACE_MS = 20_000;
const STDERR_TAIL_CHARS = 4_000;

/** The Kafka Streams peer could not be resolved, compiled or started; the message says why. */
export class KafkaStreamsPeerError extends LocalRuntimeError {
  override readonly name = 'KafkaStreamsPeerError';
}

export interface KafkaStreamsPeerOptions {
  /** `host:port` of the broker, as `LocalRuntime.kafka.brokers`. */
  readonly brokers: readonly string[];
  /** Kafka Streams' `application.id`: names its consumer group and internal topics; unique per run. */
  readonly applicationId: string;
  /** Left table: JSON objects whose string field `flyerId` is the foreign key. */
  readonly leftTopic: string;
  /** Right table, keyed by the foreign key. */
  readonly rightTopic: string;
  /** Must exist already: the broker does not create topics on first use. */
  readonly outputTopic: string;
  readonly type: 'inner' | 'left';
  /** Kafka Streams' `state.dir` (its RocksDB stores); best under `.local/`, as Kafka Streams warns about one in the OS temp directory. */
  readonly stateDir: string;
  /** @default 512 */
  readonly heapMb?: number;
  /** @default 120_000 (the first start may include the Maven download) */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** A running peer started by {@link startKafkaStreamsPeer}. */
export interface KafkaStreamsPeer {
  readonly pid: number;
  /**
   * CPU time (user + system, of all its threads and reaped children) the peer has
   * used so far, in milliseconds. After {@link stop} it keeps the reading taken just
   * before stopping, so shutdown is not counted.
   */
  cpuMs(): number;
  /** Closes Kafka Streams (SIGTERM; SIGKILL after 20 s) and waits until the JVM has exited. */
  stop(): Promise<void>;
}

/**
 * Starts Kafka Streams' own foreign-key join (`KTable.join(other, fkExtractor,
 * joiner)` or `leftJoin`) from `leftTopic` and `rightTopic` into `outputTopic`,
 * with String serdes, at-least-once, one stream thread and a 100 ms commit
 * interval. Each output value is `{"item":<left>,"flyer":<right or null>}`, the
 * text `JSON.stringify({ item, flyer })` writes. Resolves once the client is
 * RUNNING (its internal topics exist and its partitions are assigned). On first
 * use the jars come from Maven Central and the peer is compiled, into `.local/`.
 *
 * The JVM never outlives this process: it exits when its stdin closes, and is
 * killed from a process 'exit' handler.
 *
 * @example
 * const peer = await startKafkaStreamsPeer({
 *   brokers: runtime.kafka.brokers, applicationId: `${prefix}-kstreams`, type: 'left',
 *   leftTopic, rightTopic, outputTopic, stateDir: mkdtempSync(join(LOCAL_STATE_DIR, 'kafka-streams-state-')),
 * });
 * const before = peer.cpuMs();
 * // … produce, wait until the output is complete …
 * console.log(`Kafka Streams used ${peer.cpuMs() - before} ms of CPU`);
 * await peer.stop();
 *
 * @throws KafkaStreamsPeerError when Java or Maven is missing, the versions disagree, compiling fails,
 *   or the peer exits or is not RUNNING in time (with its stderr's tail).
 */
export async function startKafkaStreamsPeer(options: KafkaStreamsPeerOptions): Promise<KafkaStreamsPeer> {
  const log = options.log ?? (() => undefined);
  mkdirSync(LOCAL_STATE_DIR, { recursive: true });
  const libsDir = await resolveKafkaStreamsClasspath(LOCAL_STATE_DIR, log);
  const classesDir = await compileFkJoinPeer(LOCAL_STATE_DIR, libsDir, log);
  mkdirSync(options.stateDir, { recursive: true });

  const peer = spawn(
    'java',
    [
      '-Xms128m',
      `-Xmx${options.heapMb ?? 512}m`,
      '-Djava.awt.headless=true',
      // slf4j-simple writes to stderr; WARN and above only, so the tail in an error is what went wrong.
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-cp',
      [classesDir, join(libsDir, '*')].join(delimiter),
      'FkJoinPeer',
      options.brokers.join(','),
      options.applicationId,
      options.leftTopic,
      options.rightTopic,
      options.outputTopic,
      options.type,
      options.stateDir,
    ],
    // stdin is a pipe we never write to: when this process dies, the peer reads end of file and exits.
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  peer.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2 * STDERR_TAIL_CHARS);
  });
  // The last whole lines, for messages: a line cut at its start is harder to read than one left out.
  const stderrTail = () => {
    if (stderr.trim() === '') return '(nothing on stderr)';
    const tail = stderr.slice(-STDERR_TAIL_CHARS);
    const whole = tail.length < stderr.length ? tail.slice(tail.indexOf('\n') + 1) : tail;
    return whole.trimEnd();
  };
  // 'close' (exited, and its output read to the end, so the stderr tail is whole) never comes
  // when java could not be spawned at all; 'error' does.
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<number | null>((resolve) => {
    peer.once('close', (code) => resolve(code));
    peer.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
      resolve(null);
    });
  });
  // A JVM that has already exited has no pipe to write to.
  peer.stdin!.on('error', () => undefined);
  const killOnExit = () => peer.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping = false;
  let lastCpuMs = 0;
  const stop = async () => {
    if (!stopping) {
      stopping = true;
      lastCpuMs = readCpuMs(peer) ?? lastCpuMs;
    }
    await stopChildProcess(peer, exited, STOP_GRACE_MS);
    process.removeListener('exit', killOnExit);
  };

  try {
    await waitForReady(peer, {
      exited,
      timeoutMs: options.startTimeoutMs ?? 120_000,
      brokers: options.brokers.join(','),
      spawnProblem: () => {
        if (spawnError?.code === 'ENOENT') return 'Java is not on PATH; the Kafka Streams peer needs Java 17+';
        if (spawnError) return `Could not start java for the Kafka Streams peer: ${spawnError.message}`;
        return undefined;
      },
      stderrTail,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  void exited.then((code) => {
    if (!stopping) log(`The Kafka Streams peer exited unexpectedly with code ${code}:\n${stderrTail()}`);
  });
  log(`Kafka Streams peer (${options.type} FK join, pid ${peer.pid}) is RUNNING as ${options.applicationId}`);

  return {
    pid: peer.pid!,
    cpuMs: () => {
      if (stopping) return lastCpuMs;
      lastCpuMs = readCpuMs(peer) ?? lastCpuMs;
      return lastCpuMs;
    },
    stop,
  };
}

/** The peer's CPU time, or undefined when it has already exited. */
function readCpuMs(peer: ChildProcess): number | undefined {
  if (peer.pid === undefined || peer.exitCode !== null || peer.signalCode !== null) return undefined;
  return otherProcessCpuMs(peer.pid, { includeReapedChildren: true });
}

/** Resolves when the peer prints READY; rejects, with the why, when it exits first or takes longer than `timeoutMs`. */
async function waitForReady(
  peer: ChildProcess,
  watch: {
    readonly exited: Promise<number | null>;
    readonly timeoutMs: number;
    readonly brokers: string;
    readonly spawnProblem: () => string | undefined;
    readonly stderrTail: () => string;
  },
): Promise<void> {
  const { exited, timeoutMs, brokers, spawnProblem, stderrTail } = watch;
  let onLine: ((line: string) => void) | undefined;
  let pending = '';
  // stdout is drained for the peer's whole life, so it never blocks on a full pipe.
  peer.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine?.(line.trim());
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onLine = (line) => {
        if (line === 'READY') resolve();
      };
      void exited.then((code) =>
        reject(
          new KafkaStreamsPeerError(spawnProblem() ?? `The Kafka Streams peer exited with code ${code} while starting:\n${stderrTail()}`),
        ),
      );
      const notRunning = () =>
        new KafkaStreamsPeerError(
          `The Kafka Streams peer was not RUNNING within ${timeoutMs} ms (is the broker at ${brokers} up?):\n${stderrTail()}`,
          true,
        );
      timer = setTimeout(() => reject(notRunning()), timeoutMs);
    });
  } finally {
    onLine = undefined;
    clearTimeout(timer);
  }
}

/**
 * Returns a directory holding Kafka Streams' jars, resolving them from Maven
 * Central with the pinned pom on first use. Later calls reuse the cache and touch
 * no network; a changed pom resolves into a fresh cache directory.
 *
 * @throws KafkaStreamsPeerError when its Kafka version is not the broker's, or Maven is missing or fails.
 */
export async function resolveKafkaStreamsClasspath(cacheRoot: string, log: (line: string) => void): Promise<string> {
  const pom = readFileSync(KAFKA_STREAMS_POM);
  assertSameKafkaVersion(pom.toString('utf8'));
  const pomHash = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const libsDir = join(cacheRoot, `kafka-streams-libs-${pomHash}`);
  const completeMarker = join(libsDir, '.complete');
  if (existsSync(completeMarker)) return libsDir;

  rmSync(libsDir, { recursive: true, force: true });
  mkdirSync(libsDir, { recursive: true });
  log(`Resolving Kafka Streams' jars from Maven Central into ${libsDir} (first run only)…`);
  await runToCompletion(
    'mvn',
    ['-B', '-q', '-f', KAFKA_STREAMS_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime'],
    {
      missing: 'Maven (mvn) is not on PATH; the Kafka Streams peer needs Maven and Java 17+ to fetch and run Kafka Streams',
      failed: (code, output) => `Maven could not resolve Kafka Streams' jars (exit ${code}):\n${output}`,
    },
  );
  const jars = readdirSync(libsDir).filter((file) => file.endsWith('.jar'));
  if (!jars.some((jar) => jar.startsWith('kafka-streams-'))) {
    throw new KafkaStreamsPeerError(`Maven finished but ${libsDir} holds no kafka-streams jar; check ${KAFKA_STREAMS_POM}`);
  }
  writeFileSync(completeMarker, `${new Date().toISOString()}\n`);
  return libsDir;
}

/** The peer's compiled classes, compiled once per source and classpath; javac costs the peer no CPU at each start, as source-file mode would. */
async function compileFkJoinPeer(cacheRoot: string, libsDir: string, log: (line: string) => void): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(FK_JOIN_PEER_SOURCE)).update(libsDir).digest('hex').slice(0, 12);
  const classesDir = join(cacheRoot, `kafka-streams-peer-${hash}`);
  const completeMarker = join(classesDir, '.complete');
  if (existsSync(completeMarker)) return classesDir;

  rmSync(classesDir, { recursive: true, force: true });
  mkdirSync(classesDir, { recursive: true });
  log(`Compiling ${FK_JOIN_PEER_SOURCE} into ${classesDir} (first run only)…`);
  await runToCompletion(
    'javac',
    ['--release', '17', '-encoding', 'UTF-8', '-cp', join(libsDir, '*'), '-d', classesDir, FK_JOIN_PEER_SOURCE],
    {
      missing: 'javac is not on PATH; the Kafka Streams peer needs a JDK 17+ (not only a JRE) to compile FkJoinPeer.java',
      failed: (code, output) => `javac could not compile ${FK_JOIN_PEER_SOURCE} (exit ${code}):\n${output}`,
    },
  );
  writeFileSync(completeMarker, `${new Date().toISOString()}\n`);
  return classesDir;
}

/** Kafka Streams speaks to the broker it is measured against at that broker's own version, or the comparison is not like for like. */
function assertSameKafkaVersion(streamsPom: string): void {
  const versionIn = (pom: string) => /<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/.exec(pom)?.[1];
  const streams = versionIn(streamsPom);
  const broker = versionIn(readFileSync(BROKER_POM, 'utf8'));
  if (streams === undefined || streams !== broker) {
    throw new KafkaStreamsPeerError(
      `${KAFKA_STREAMS_POM} pins Kafka Streams ${streams ?? '(no kafka.version)'} but the broker is ${broker ?? '(no kafka.version)'} ` +
        `(${BROKER_POM}); set both kafka.version properties to the same release`,
    );
  }
}

async function runToCompletion(
  command: string,
  args: readonly string[],
  messages: { readonly missing: string; readonly failed: (code: number | null, output: string) => string },
): Promise<void> {
  const output: string[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new KafkaStreamsPeerError(error.code === 'ENOENT' ? messages.missing : `Could not run ${command}: ${error.message}`, false, {
          cause: error,
        }),
      ),
    );
    child.once('close', resolve);
  });
  if (exitCode !== 0) throw new KafkaStreamsPeerError(messages.failed(exitCode, output.join('').slice(-4000)), command === 'mvn');
}
