import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { LOCAL_STATE_DIR } from '../../shared/local';
import { eventually, readAll, uniqueName } from '../support/integration';
import {
  brokerRecordOn,
  connectWorkersOn,
  exitCodeWithin,
  freePlatformPorts,
  isRunning,
  killQuietly,
  postgresServersOn,
  startPlatformProcess,
  theDynaliteProcessOn,
  untilRunning,
  type PlatformProcess,
} from '../support/local-processes';
import { Kafka, logLevel } from 'kafkajs';

/**
 * `npm start` with a pipeline that captures changes: it starts PostgreSQL and a Kafka Connect worker
 * beside the broker and dynalite, and obeys the same rules for them: a busy port is named before
 * anything starts, a service that dies stops everything with its name and log, and what a run killed
 * together with its watchdogs left running is recognised and stopped by the next start. The real
 * entry, on free ports, with the CDC fixture pipeline (a `customers` table mapped to an entity).
 */
jest.setTimeout(240_000);

const PIPELINE = join(__dirname, '..', 'fixtures', 'cdc-pipeline.ts');

interface Ports {
  readonly kafka: number;
  readonly dynamodb: number;
  readonly postgres: number;
  readonly connect: number;
}

/** The processes one run started, read while it runs. */
function servicesOf(ports: Ports) {
  const record = brokerRecordOn(ports.kafka);
  const [postgres, ...morePostgres] = postgresServersOn(ports.postgres);
  const [connectWorker, ...moreWorkers] = connectWorkersOn(ports.connect);
  expect({ morePostgres, moreWorkers }).toEqual({ morePostgres: [], moreWorkers: [] });
  return {
    broker: record.pid,
    brokerWatchdog: record.watchdogPid,
    dynalite: theDynaliteProcessOn(ports.dynamodb),
    postgres: postgres!,
    connectWorker: connectWorker!,
  };
}

/** A process's parent: the watchdog that keeps a service. */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function expectAllGone(services: ReturnType<typeof servicesOf>): Promise<void> {
  await eventually('every service of the run is gone', () => Object.values(services).every((pid) => !isRunning(pid)), 30_000).catch(
    (error: unknown) => {
      const running = Object.entries(services).filter(([, pid]) => isRunning(pid));
      throw new Error(`${String(error)}; still running: ${JSON.stringify(running)}`);
    },
  );
}

describe('npm start with a change-data-capture source, when its services die or are left behind (integration)', () => {
  let ports: Ports;
  const started: PlatformProcess[] = [];
  const leftovers: number[] = [];
  const prefix = uniqueName('cdcstart')
    .replace(/[^a-z0-9_]/g, '_')
    .concat('_');

  beforeAll(async () => {
    ports = await freePlatformPorts();
  });

  afterAll(() => {
    for (const platform of started) killQuietly(-platform.pid, 'SIGKILL');
    for (const pid of leftovers) killQuietly(pid, 'SIGKILL');
  });

  const run = () => {
    const platform = startPlatformProcess(ports, ['--pipeline', PIPELINE], { CDC_PIPELINE_PREFIX: prefix });
    started.push(platform);
    return platform;
  };

  it('captures a row written to the source database into the entity stream, then stops it all on Ctrl-C', async () => {
    const platform = run();
    await untilRunning(platform);
    const services = servicesOf(ports);
    const kafka = new Kafka({ clientId: 'npm-start-cdc', brokers: [`127.0.0.1:${ports.kafka}`], logLevel: logLevel.NOTHING });
    const shop = new Client({ host: '127.0.0.1', port: ports.postgres, user: 'postgres', database: `${prefix}shop` });
    await shop.connect();
    try {
      await shop.query("INSERT INTO customers VALUES ('c-9', 'Grace Hopper')");
      await eventually(
        'the row is an entity',
        async () => (await readAll(kafka, `${prefix}customers`)).some((record) => record.key === 'c-9'),
        60_000,
      );
    } finally {
      await shop.end();
    }
    expect(platform.output()).toContain(`[local] PostgreSQL: 127.0.0.1:${ports.postgres} (started here`);

    process.kill(platform.pid, 'SIGINT');
    expect(await exitCodeWithin(platform, 60_000)).toBe(0);
    await expectAllGone(services);
  });

  it('names the Connect worker when it dies, with its log, and stops everything with a non-zero exit', async () => {
    const platform = run();
    await untilRunning(platform);
    const services = servicesOf(ports);

    process.kill(services.connectWorker, 'SIGKILL');

    expect(await exitCodeWithin(platform, 30_000)).toBe(1);
    expect(platform.output()).toContain(
      `The Kafka Connect worker (pid ${services.connectWorker}) was killed by SIGKILL; its log: ${join(LOCAL_STATE_DIR, `connect-${ports.connect}.log`)}. Stopping everything.`,
    );
    await expectAllGone(services);
  });

  it('names PostgreSQL when it dies, and stops everything with a non-zero exit', async () => {
    const platform = run();
    await untilRunning(platform);
    const services = servicesOf(ports);

    process.kill(services.postgres, 'SIGKILL');

    expect(await exitCodeWithin(platform, 30_000)).toBe(1);
    expect(platform.output()).toContain(`PostgreSQL (pid ${services.postgres}) was killed by SIGKILL`);
    await expectAllGone(services);
  });

  it('recognises and stops the PostgreSQL server and Connect worker a run killed together with their watchdogs left behind', async () => {
    // Prepare: the run and the services' watchdogs killed at once leave PostgreSQL and the worker running, their ports held.
    const first = run();
    await untilRunning(first);
    const orphans = servicesOf(ports);
    leftovers.push(orphans.postgres, orphans.connectWorker);
    const watchdogs = [parentOf(orphans.postgres), parentOf(orphans.connectWorker)];
    for (const pid of [first.pid, ...watchdogs]) process.kill(pid, 'SIGKILL');
    await first.exited;
    await eventually(
      'the broker and dynalite are gone with their keepers',
      () => !isRunning(orphans.broker) && !isRunning(orphans.dynalite),
      30_000,
    );
    expect([isRunning(orphans.postgres), isRunning(orphans.connectWorker)]).toEqual([true, true]);

    // Act: the next start, on the same ports.
    const second = run();
    await untilRunning(second);

    // Assess: it said what it found, stopped it, and runs its own.
    expect(second.output()).toContain(`Stopping a PostgreSQL server an earlier run of this checkout left running (pid ${orphans.postgres}`);
    expect(second.output()).toContain(
      `Stopping a Kafka Connect worker an earlier run of this checkout left running (pid ${orphans.connectWorker}`,
    );
    expect([isRunning(orphans.postgres), isRunning(orphans.connectWorker)]).toEqual([false, false]);
    const services = servicesOf(ports);
    process.kill(second.pid, 'SIGINT');
    expect(await exitCodeWithin(second, 60_000)).toBe(0);
    await expectAllGone(services);
  });
});

describe('npm start with a change-data-capture source, when a port is taken (integration)', () => {
  let squatter: Server | undefined;

  afterEach(() => {
    squatter?.close();
  });

  it('names the busy PostgreSQL port and its variable before it starts anything', async () => {
    const ports = await freePlatformPorts();
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(ports.postgres, '127.0.0.1', resolve));

    const platform = startPlatformProcess(ports, ['--pipeline', PIPELINE], { CDC_PIPELINE_PREFIX: 'busy_' });

    expect(await exitCodeWithin(platform, 30_000)).toBe(1);
    expect(platform.output()).toContain(`127.0.0.1:${ports.postgres} is already in use by pid ${process.pid} (`);
    expect(platform.output()).toContain('LOCAL_POSTGRES_PORT');
    expect(platform.output()).not.toContain('Kafka broker');
  });
});
