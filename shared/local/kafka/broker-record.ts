import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { keptByLiveWatchdog } from '../leftover-services';
import { describeProcess, isAlive, listProcesses, terminate, type ProcessInfo } from '../processes';

/**
 * What `.local/kafka-broker-<port>.json` says about a broker this checkout started: enough for a later
 * start to recognise it when its run died without stopping it, and to stop it and clean up after it.
 */
export interface BrokerRecord {
  /** The broker JVM. */
  readonly pid: number;
  /** The broker-watchdog.js process that started it. */
  readonly watchdogPid: number;
  /** The process that started the broker (`npm start`, a test run, the benchmark). */
  readonly ownerPid: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  /** A temporary data dir, removed with the broker. */
  readonly ephemeral: boolean;
  readonly logFile: string;
  readonly startedAt: string;
}

const TEMPORARY_DATA_DIR_PREFIX = 'kafka-data-';
/** A temporary data dir no process uses is left alone this long: a start may be between creating it and launching Java. */
const UNUSED_DATA_DIR_MIN_AGE_MS = 60_000;

export function brokerRecordFile(stateDir: string, port: number): string {
  return join(stateDir, `kafka-broker-${port}.json`);
}

export function writeBrokerRecord(stateDir: string, record: BrokerRecord): string {
  const file = brokerRecordFile(stateDir, record.port);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

/** A fresh temporary data dir, named after the process that owns it (so a sweep can tell when its owner is gone). */
export function temporaryDataDir(stateDir: string): string {
  return mkdtempSync(join(stateDir, `${TEMPORARY_DATA_DIR_PREFIX}${process.pid}-`));
}

/** A broker of this checkout that a live run owns and that uses the port or the data dir. */
export function liveBrokerUsing(
  stateDir: string,
  use: { port?: number; dataDir?: string },
): { record: BrokerRecord | undefined; process: ProcessInfo } | undefined {
  const processes = listProcesses();
  const records = readRecords(stateDir);
  // A data dir may lie anywhere (tests use temporary ones): any broker naming it counts.
  const candidates =
    use.dataDir === undefined ? brokerProcesses(stateDir, processes) : processes.filter((info) => isBroker(info) && isAlive(info.pid));
  for (const broker of candidates) {
    const record = records.find((entry) => entry.record.pid === broker.pid)?.record;
    const usesPort = use.port !== undefined && (record?.port === use.port || record?.controllerPort === use.port);
    const usesDir = use.dataDir !== undefined && broker.args.includes(join(resolve(use.dataDir), 'server.properties'));
    if (usesPort || usesDir) return { record, process: broker };
  }
  return undefined;
}

/** "the Kafka broker of another run of this checkout (broker pid 12, run pid 11, port 19092, since …)" */
export function describeBroker(found: { record: BrokerRecord | undefined; process: ProcessInfo }): string {
  const { record, process: broker } = found;
  return record
    ? `the Kafka broker of another run of this checkout (broker pid ${record.pid}, run pid ${record.ownerPid}, port ${record.port}, since ${record.startedAt})`
    : `a Kafka broker of this checkout, ${describeProcess(broker)}`;
}

/**
 * Stops the brokers of this checkout (those whose config lies under `stateDir`) that no live run owns:
 * left by a run that was killed together with its watchdog, or started before there was one. Removes
 * their records and temporary data dirs, and every temporary data dir no process uses any more.
 * Says what it stopped through `log`. Brokers that live runs own are left alone.
 */
export async function stopLeftoverBrokers(stateDir: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(stateDir)) return;
  const processes = listProcesses();
  const records = readRecords(stateDir);
  for (const broker of brokerProcesses(stateDir, processes)) {
    const entry = records.find(({ record }) => record.pid === broker.pid);
    // Owned while its watchdog lives (a recorded owner pid alone could be another process's after a pid wrap).
    if (keptByLiveWatchdog(broker, processes)) continue;
    const what = entry
      ? `pid ${broker.pid}, 127.0.0.1:${entry.record.port}, started ${entry.record.startedAt} by pid ${entry.record.ownerPid}, which is gone`
      : describeProcess(broker);
    log(`Stopping a Kafka broker an earlier run of this checkout left running (${what})…`);
    await terminate(broker.pid, 10_000);
    if (entry) rmSync(entry.file, { force: true });
    if (entry?.record.ephemeral) rmSync(entry.record.dataDir, { recursive: true, force: true });
    log('Stopped it.');
  }
  // Records of brokers that are gone: their temporary data dirs go with them.
  for (const { file, record } of readRecords(stateDir)) {
    if (isAlive(record.pid)) continue;
    rmSync(file, { force: true });
    if (record.ephemeral) rmSync(record.dataDir, { recursive: true, force: true });
  }
  sweepUnusedDataDirs(stateDir);
}

/** Temporary data dirs of dead runs: no process names them and their owner is gone (or they are old). */
function sweepUnusedDataDirs(stateDir: string): void {
  const argsOfAll = listProcesses().map((info) => info.args);
  for (const name of safeReaddir(stateDir)) {
    if (!name.startsWith(TEMPORARY_DATA_DIR_PREFIX)) continue;
    const dir = join(stateDir, name);
    if (argsOfAll.some((args) => args.includes(dir + sep) || args.endsWith(dir))) continue;
    const owner = Number(/^kafka-data-(\d+)-/.exec(name)?.[1]);
    const ownerGone = Number.isInteger(owner) && owner > 0 && !isAlive(owner);
    let old = false;
    try {
      old = Date.now() - statSync(dir).mtimeMs > UNUSED_DATA_DIR_MIN_AGE_MS;
    } catch {
      continue;
    }
    if (ownerGone || old) rmSync(dir, { recursive: true, force: true });
  }
}

/** Java processes running kafka.Kafka with a config under this state dir. */
function brokerProcesses(stateDir: string, processes: readonly ProcessInfo[]): ProcessInfo[] {
  const prefix = resolve(stateDir) + sep;
  return processes.filter((info) => isBroker(info) && info.args.includes(prefix) && isAlive(info.pid));
}

function isBroker(info: ProcessInfo): boolean {
  // The JVM itself, not its watchdog (whose arguments name it too).
  return /^\S*\bjava\s/.test(info.args) && info.args.includes(' kafka.Kafka ');
}

function readRecords(stateDir: string): Array<{ file: string; record: BrokerRecord }> {
  return safeReaddir(stateDir)
    .filter((name) => /^kafka-broker-\d+\.json$/.test(name))
    .flatMap((name) => {
      const file = join(stateDir, name);
      try {
        const record = JSON.parse(readFileSync(file, 'utf8')) as BrokerRecord;
        return typeof record.pid === 'number' ? [{ file, record }] : [];
      } catch {
        return [];
      }
    });
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
