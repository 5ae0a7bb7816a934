import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findFreePort,
  findFreePortPair,
  KafkaBrokerError,
  LOCAL_STATE_DIR,
  startDynamoDbServer,
  startKafkaBroker,
} from '../../shared/local';
import { delay } from '../support/delay';
import { eventually, uniqueName } from '../support/integration';
import {
  brokerRecordOn,
  isRunning,
  killQuietly,
  startPlatformProcess,
  theDynaliteProcessOn,
  untilRunning,
  type PlatformProcess,
} from '../support/local-processes';

/**
 * What people do to a running `npm start`: kill it (-9), close its terminal, kill its broker, start
 * it again on the ports an earlier run held. Each test runs the real entry, with its own broker and
 * dynalite on free ports, and checks by pid that nothing outlives it.
 */
const PIPELINE = join(__dirname, '..', 'fixtures', 'user-pipeline.ts');

/** `npm start -- --pipeline <fixture>` without npm, under a prefix of its own. */
const startPlatform = (ports: { kafka: number; dynamodb: number }) =>
  startPlatformProcess(ports, ['--pipeline', PIPELINE], { USER_PIPELINE_PREFIX: `${uniqueName('faults')}.` });

/** The processes and files one run owns, read while it runs. */
function servicesOf(ports: { kafka: number; dynamodb: number }) {
  const record = brokerRecordOn(ports.kafka);
  return {
    broker: record.pid,
    watchdog: record.watchdogPid,
    dynalite: theDynaliteProcessOn(ports.dynamodb),
    dataDir: record.dataDir,
    logFile: record.logFile,
  };
}

async function expectAllGone(services: ReturnType<typeof servicesOf>, ports: { kafka: number }): Promise<void> {
  await eventually(
    'the broker, its watchdog and dynalite are gone, with the temporary data dir and the record',
    () =>
      !isRunning(services.broker) &&
      !isRunning(services.watchdog) &&
      !isRunning(services.dynalite) &&
      !existsSync(services.dataDir) &&
      !existsSync(join(LOCAL_STATE_DIR, `kafka-broker-${ports.kafka}.json`)),
    20_000,
  ).catch((error: unknown) => {
    const state = {
      broker: isRunning(services.broker),
      watchdog: isRunning(services.watchdog),
      dynalite: isRunning(services.dynalite),
      dataDir: existsSync(services.dataDir),
    };
    throw new Error(`${String(error)}; still there: ${JSON.stringify(state)}`);
  });
}

describe('npm start, when people kill it (integration)', () => {
  // One pair of ports for the whole story: every run must find them usable again after the one before.
  let ports: { kafka: number; dynamodb: number };
  const started: PlatformProcess[] = [];
  const leftovers: number[] = [];

  beforeAll(async () => {
    ports = { kafka: await findFreePortPair(), dynamodb: await findFreePort() };
  });

  afterAll(() => {
    // After a failure: nothing of these runs may outlive the suite.
    for (const platform of started) killQuietly(-platform.pid, 'SIGKILL');
    for (const pid of leftovers) killQuietly(pid, 'SIGKILL');
  });

  const run = () => {
    const platform = startPlatform(ports);
    started.push(platform);
    return platform;
  };

  it('leaves no broker, watchdog, dynalite or temporary folder behind when it is killed with SIGKILL', async () => {
    // Prepare
    const platform = run();
    await untilRunning(platform);
    const services = servicesOf(ports);
    expect(isRunning(services.broker)).toBe(true);

    // Act
    process.kill(platform.pid, 'SIGKILL');

    // Assess
    await expectAllGone(services, ports);
  }, 150_000);

  it('starts again on the same ports, and leaves nothing behind when its terminal closes (SIGHUP)', async () => {
    // Prepare: the ports the killed run held.
    const platform = run();
    await untilRunning(platform);
    const services = servicesOf(ports);

    // Act: a closing terminal hangs up its whole process group.
    process.kill(-platform.pid, 'SIGHUP');

    // Assess
    await expect(platform.exited).resolves.toBe(129);
    await expectAllGone(services, ports);
  }, 150_000);

  it('recognises and stops a broker a run killed together with its watchdog left behind, then exits non-zero within seconds naming the broker and its log when the broker dies', async () => {
    // Prepare: a run and the broker's watchdog killed at once leave the broker JVM running, its ports held.
    const first = run();
    await untilRunning(first);
    const orphan = servicesOf(ports);
    leftovers.push(orphan.broker);
    process.kill(first.pid, 'SIGKILL');
    process.kill(orphan.watchdog, 'SIGKILL');
    await first.exited;
    await eventually('dynalite is gone', () => !isRunning(orphan.dynalite), 10_000);
    expect(isRunning(orphan.broker)).toBe(true);

    // Act: the next start, on the same ports.
    const second = run();
    await untilRunning(second);

    // Assess: it said what it found and stopped it.
    expect(second.output()).toContain(
      `Stopping a Kafka broker an earlier run of this checkout left running (pid ${orphan.broker}, 127.0.0.1:${ports.kafka}`,
    );
    expect(isRunning(orphan.broker)).toBe(false);
    expect(existsSync(orphan.dataDir)).toBe(false);

    // Act: its broker dies mid-run.
    const services = servicesOf(ports);
    const killedAt = Date.now();
    process.kill(services.broker, 'SIGKILL');
    const code = await Promise.race([second.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref())]);

    // Assess: noticed, said, stopped, non-zero, within seconds, and nothing left.
    expect(code).toBe(1);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(second.output()).toContain(
      `The Kafka broker (pid ${services.broker}) was killed by SIGKILL; its log: ${services.logFile}. Stopping everything.`,
    );
    expect(second.output().match(/"logger":"kafkajs"/g) ?? []).toEqual([]);
    await expectAllGone(services, ports);
  }, 240_000);
});

describe('npm start, when its ports or data are taken (integration)', () => {
  let squatter: Server | undefined;

  afterEach(() => {
    squatter?.close();
  });

  it('names the process that holds a busy port', async () => {
    // Prepare: this process listens on the broker's port.
    const ports = { kafka: await findFreePortPair(), dynamodb: await findFreePort() };
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(ports.kafka, '127.0.0.1', resolve));

    // Act
    const platform = startPlatform(ports);
    const code = await platform.exited;

    // Assess
    expect(code).toBe(1);
    expect(platform.output()).toContain(`127.0.0.1:${ports.kafka} is already in use by pid ${process.pid} (`);
    expect(platform.output()).toContain('LOCAL_KAFKA_PORT');
  }, 60_000);

  it('names the holder of a busy console port before any service starts', async () => {
    // Prepare: this process listens on the console's port.
    const ports = { kafka: await findFreePortPair(), dynamodb: await findFreePort(), console: await findFreePort() };
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(ports.console, '127.0.0.1', resolve));

    // Act
    const platform = startPlatformProcess(ports, ['--pipeline', PIPELINE], { USER_PIPELINE_PREFIX: `${uniqueName('faults')}.` });
    const code = await platform.exited;

    // Assess: named with its variable, and no broker was started for nothing.
    expect(code).toBe(1);
    expect(platform.output()).toContain(`127.0.0.1:${ports.console} is already in use by pid ${process.pid} (`);
    expect(platform.output()).toContain('LOCAL_CONSOLE_PORT');
    expect(platform.output()).not.toContain('Starting local services');
    expect(existsSync(join(LOCAL_STATE_DIR, `kafka-broker-${ports.kafka}.json`))).toBe(false);
  }, 60_000);

  it('refuses, in one line, a persistent data dir another broker uses', async () => {
    // Prepare: a broker (owned by this live process) on a data dir of its own.
    const dataDir = mkdtempSync(join(tmpdir(), 'platform-test-persist-'));
    const first = await startKafkaBroker({ port: await findFreePortPair(), stateDir: LOCAL_STATE_DIR, dataDir });
    try {
      // Act
      const second = startKafkaBroker({ port: await findFreePortPair(), stateDir: LOCAL_STATE_DIR, dataDir });

      // Assess: no Java stack trace, but who holds it and what to do.
      const error = await second.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(KafkaBrokerError);
      const message = (error as Error).message;
      expect(message).toContain(
        `The Kafka data directory ${dataDir} is in use by the Kafka broker of another run of this checkout (broker pid ${first.pid}`,
      );
      expect(message).toContain('start without --persist');
      expect(message).not.toContain('\n');
    } finally {
      await first.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('reports dynalite’s death, with its log, within a second, and not a stop that was asked for', async () => {
    // Prepare
    const server = await startDynamoDbServer({ port: await findFreePort() });
    const stopped = await startDynamoDbServer({ port: await findFreePort() });
    let stoppedDied = false;
    void stopped.died.then(() => (stoppedDied = true));

    // Act
    const killedAt = Date.now();
    process.kill(server.pid, 'SIGKILL');
    await stopped.stop();
    const death = await server.died;

    // Assess
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    expect(death).toEqual({
      service: 'the local DynamoDB server (dynalite)',
      pid: server.pid,
      description: 'was killed by SIGKILL',
      logFile: server.logFile,
    });
    await delay(100);
    expect(stoppedDied).toBe(false);
  });
});
