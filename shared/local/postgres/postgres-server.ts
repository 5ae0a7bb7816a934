import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { delay, logTail, type ServiceDeath } from '../child-process';
import { PostgresServerError } from '../errors';
import { assertPortFree } from '../ports';
import { startUnderWatchdog } from '../service-keeper';

/** Where Debian's postgresql-<major> package puts the server's programs. */
const DEBIAN_POSTGRESQL_DIR = '/usr/lib/postgresql';
/** The superuser `initdb` creates; the local server trusts connections from 127.0.0.1. */
export const POSTGRES_SUPERUSER = 'postgres';

export interface PostgresServerOptions {
  /** On 127.0.0.1. */
  readonly port: number;
  /** Where logs are written and a temporary data dir is made. */
  readonly stateDir: string;
  /** Keep the database here across restarts; by default each start gets a fresh, temporary cluster. */
  readonly dataDir?: string;
  /** @default 60_000 */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** A running PostgreSQL server started by {@link startPostgresServer}, ready for logical replication. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly logFile: string;
  readonly pid: number;
  /** Resolves when the server ends without stop() having been called. */
  readonly died: Promise<ServiceDeath>;
  /** Stops the server (fast shutdown, SIGKILL after 10 s) and removes a temporary data dir. */
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server (the Debian package's programs) on 127.0.0.1,
 * its cluster initialised on first use with what change data capture needs:
 * `wal_level=logical`, replication slots and WAL senders, trust for local
 * connections. It runs under a watchdog that stops it however this process
 * ends, as the broker does. As root it runs as the `postgres` user, which the
 * Debian package creates (PostgreSQL refuses to run as root).
 *
 * @throws PortInUseError when the port is taken
 * @throws PostgresServerError when PostgreSQL is not installed or does not start (with its log's tail)
 */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const log = options.log ?? (() => undefined);
  const host = '127.0.0.1';
  await assertPortFree('PostgreSQL', host, options.port, 'LOCAL_POSTGRES_PORT');
  const programs = postgresPrograms();
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  mkdirSync(options.stateDir, { recursive: true });
  const logFile = join(options.stateDir, `postgres-${options.port}.log`);
  rmSync(logFile, { force: true });
  const ephemeral = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(options.stateDir, `postgres-data-${randomBytes(4).toString('hex')}`);

  if (user && !ephemeral) assertReachableBy(user, dataDir);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    if (user) chownSync(dataDir, user.uid, user.gid);
    const initdb = spawnSync(
      programs.initdb,
      ['-D', dataDir, '-U', POSTGRES_SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { encoding: 'utf8', ...(user ?? {}) },
    );
    if (initdb.status !== 0) {
      if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
      throw new PostgresServerError(`initdb failed (exit ${initdb.status}):\n${initdb.stderr || initdb.stdout || initdb.error}`);
    }
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# Set by the local runtime: change data capture reads the WAL through a logical replication slot.',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dataDir}'`,
        'wal_level = logical',
        'max_replication_slots = 8',
        'max_wal_senders = 8',
        // A temporary cluster need not survive a power cut; a kept one must.
        ...(ephemeral ? ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off'] : []),
        '',
      ].join('\n'),
    );
  }

  const keeper = await startUnderWatchdog(
    {
      service: 'PostgreSQL',
      command: programs.postgres,
      args: ['-D', dataDir, '-p', String(options.port)],
      logFile,
      removeOnExit: ephemeral ? [dataDir] : [],
      // Fast shutdown: SIGTERM would wait for every client, the Connect worker's replication connection among them.
      stopSignal: 'SIGINT',
      ...(user ? { user } : {}),
    },
    PostgresServerError,
  );
  try {
    await waitUntilAnswering(host, options.port, keeper.died, options.startTimeoutMs ?? 60_000, logFile);
  } catch (error) {
    await keeper.stop();
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  log(`PostgreSQL is up on ${host}:${options.port} (pid ${keeper.pid}, log: ${logFile})`);
  return {
    host,
    port: options.port,
    superuser: POSTGRES_SUPERUSER,
    logFile,
    pid: keeper.pid,
    died: keeper.died.then((description) => ({ service: 'PostgreSQL', pid: keeper.pid, description, logFile })),
    async stop() {
      await keeper.stop();
      if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The script that installs Debian's PostgreSQL package (`npm run install:postgresql`). */
const INSTALL_SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'install-postgresql.sh');

/**
 * Installs PostgreSQL's server programs when they are missing, with the
 * project's own script (Debian's package, as root), so that `npm ci && npm
 * start` needs nothing installed by hand.
 * @throws PostgresServerError when they are missing and cannot be installed (not root, no apt-get)
 */
export async function ensurePostgresInstalled(log: (line: string) => void): Promise<void> {
  try {
    postgresPrograms();
    return;
  } catch {
    log('PostgreSQL is not installed; installing it with scripts/install-postgresql.sh (first run only)…');
  }
  const install = spawnSync('bash', [INSTALL_SCRIPT], { encoding: 'utf8' });
  if (install.status !== 0) {
    throw new PostgresServerError(
      `PostgreSQL is needed for this pipeline's change-data-capture sources and could not be installed:\n${(install.stderr || install.stdout || String(install.error)).trim()}`,
    );
  }
  postgresPrograms();
}

/** The server's programs: Debian's newest installed major version, else whatever is on PATH. */
function postgresPrograms(): { initdb: string; postgres: string } {
  if (existsSync(DEBIAN_POSTGRESQL_DIR)) {
    const majors = readdirSync(DEBIAN_POSTGRESQL_DIR)
      .filter((entry) => /^\d+$/.test(entry) && existsSync(join(DEBIAN_POSTGRESQL_DIR, entry, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0] !== undefined) {
      const bin = join(DEBIAN_POSTGRESQL_DIR, majors[0], 'bin');
      return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
    }
  }
  const onPath = (program: string) => {
    const found = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
    return found.status === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : undefined;
  };
  const initdb = onPath('initdb');
  const postgres = onPath('postgres');
  if (initdb && postgres) return { initdb, postgres };
  throw new PostgresServerError(
    'PostgreSQL is not installed, and this pipeline declares a change-data-capture source: run `npm run install:postgresql` ' +
      "(as root it installs Debian's postgresql package, without starting a cluster of its own)",
  );
}

/**
 * As root the server runs as the `postgres` user, which must be able to reach a data dir it is given: a
 * folder on the way that only root may enter (a `mktemp -d`, a home directory) would fail initdb obscurely.
 */
function assertReachableBy(user: { uid: number; gid: number }, dataDir: string): void {
  // An initialised data dir must be its own; a new (or empty) one is handed over by root, so only the way there matters.
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  const [test, target] = initialised ? ['test -x "$1" && test -w "$1"', dataDir] : ['test -x "$1"', dirname(resolve(dataDir))];
  const check = spawnSync('sh', ['-c', test, 'sh', target], { ...user });
  if (check.status !== 0) {
    throw new PostgresServerError(
      `PostgreSQL runs as the "${POSTGRES_SUPERUSER}" user (it refuses root), which cannot reach ${target}: let it ` +
        '(chmod o+x on each folder on the way, chown an existing data dir), or keep the state elsewhere (LOCAL_PERSIST_DIR)',
    );
  }
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', POSTGRES_SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', POSTGRES_SUPERUSER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new PostgresServerError(
      'PostgreSQL refuses to run as root, and there is no "postgres" user to run it as: run `npm run install:postgresql`, which creates it',
    );
  }
}

async function waitUntilAnswering(host: string, port: number, died: Promise<string>, timeoutMs: number, logFile: string): Promise<void> {
  let death: string | undefined;
  void died.then((description) => {
    death = description;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (death !== undefined) throw new PostgresServerError(`PostgreSQL ${death} while starting:\n${logTail(logFile)}`);
    const client = new Client({ host, port, user: POSTGRES_SUPERUSER, database: 'postgres', connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      // not yet
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new PostgresServerError(`PostgreSQL did not answer within ${timeoutMs} ms:\n${logTail(logFile)}`);
    await delay(100);
  }
}
