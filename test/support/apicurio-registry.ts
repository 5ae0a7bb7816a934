import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '../../shared/local/ports';
import { LOCAL_STATE_DIR } from '../../shared/local/paths';
import { logTail, stopChildProcess } from '../../shared/local/child-process';

/** The Apicurio Registry release the tests run against: its Confluent-compatible API is what the platform talks to. */
export const APICURIO_REGISTRY_VERSION = '3.0.9';
const ARTIFACT = `io.apicurio:apicurio-registry-app:${APICURIO_REGISTRY_VERSION}:tar.gz:all`;
/** Where the unpacked release is kept between runs (git-ignored, like the Kafka jars). */
export const APICURIO_REGISTRY_HOME = join(LOCAL_STATE_DIR, `apicurio-registry-${APICURIO_REGISTRY_VERSION}`);
const RUNNER_JAR = `apicurio-registry-app-${APICURIO_REGISTRY_VERSION}-runner.jar`;

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/** Apicurio Registry could not be fetched or started; the message says why, with the registry's log tail when it ran. */
export class ApicurioRegistryError extends Error {
  override readonly name = 'ApicurioRegistryError';
}

/** A running Apicurio Registry (in-memory storage: empty at every start). */
export interface ApicurioRegistry {
  /** The base URL of its Confluent Schema Registry API (`…/apis/ccompat/v7`), what HttpSchemaRegistry and `--registry-url` take. */
  readonly url: string;
  readonly logFile: string;
  /** Stops the registry and waits until its process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a real Apicurio Registry on a free port of 127.0.0.1, with a global
 * BACKWARD compatibility rule (Confluent Schema Registry's default). On first
 * use the release (~104 MB) is fetched from Maven Central with `mvn` and
 * unpacked into .local/; later starts touch no network. Resolves once the
 * registry reports itself ready; a start that fails leaves no JVM behind.
 *
 * @param options.readyTimeoutMs how long the registry may take to report itself ready (default 60 s)
 * @throws ApicurioRegistryError when Maven or Java is missing, the download fails, or the registry is not ready in time
 */
export async function startApicurioRegistry(options: { readonly readyTimeoutMs?: number } = {}): Promise<ApicurioRegistry> {
  const home = await resolveApicurioRegistry();
  const port = await findFreePort();
  const logFile = join(LOCAL_STATE_DIR, `apicurio-registry-${port}.log`);
  writeFileSync(logFile, '');
  const logFd = openSync(logFile, 'a');
  let registry: ChildProcess;
  try {
    registry = spawn(
      'java',
      [
        '-Xmx256m',
        '-Djava.awt.headless=true',
        `-Dquarkus.http.host=127.0.0.1`,
        `-Dquarkus.http.port=${port}`,
        '-jar',
        join(home, RUNNER_JAR),
      ],
      { cwd: home, stdio: ['ignore', logFd, logFd], env: { ...process.env, APICURIO_RULES_GLOBAL_COMPATIBILITY: 'BACKWARD' } },
    );
  } finally {
    closeSync(logFd);
  }
  // 'exit' never comes when java could not be spawned at all; 'error' does.
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<void>((resolve) => {
    registry.once('exit', () => resolve());
    registry.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
      resolve();
    });
  });
  const killOnExit = () => registry.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    await stopChildProcess(registry, exited, STOP_TIMEOUT_MS);
    process.removeListener('exit', killOnExit);
  };

  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${base}/health/ready`, options.readyTimeoutMs ?? READY_TIMEOUT_MS, exited, () => spawnError, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `${base}/apis/ccompat/v7`, logFile, stop };
}

/**
 * The unpacked release in .local/, fetched and unpacked on first use. It is
 * unpacked into a scratch directory and renamed into place, so a runner jar
 * in APICURIO_REGISTRY_HOME always means a complete release.
 */
async function resolveApicurioRegistry(): Promise<string> {
  if (existsSync(join(APICURIO_REGISTRY_HOME, RUNNER_JAR))) return APICURIO_REGISTRY_HOME;
  mkdirSync(LOCAL_STATE_DIR, { recursive: true });
  await run(
    'mvn',
    ['-B', '-q', 'dependency:get', `-Dartifact=${ARTIFACT}`, '-Dtransitive=false'],
    'fetch Apicurio Registry from Maven Central',
  );
  // Maven's local repository may be anywhere (settings.xml, -Dmaven.repo.local in MAVEN_OPTS): ask Maven where.
  const scratch = mkdtempSync(join(LOCAL_STATE_DIR, `apicurio-registry-${APICURIO_REGISTRY_VERSION}.partial-`));
  try {
    const answer = join(scratch, 'local-repository.txt');
    await run(
      'mvn',
      ['-B', '-q', 'help:evaluate', '-Dexpression=settings.localRepository', `-Doutput=${answer}`],
      'find Maven’s local repository',
    );
    const localRepository = readFileSync(answer, 'utf8').trim();
    const archive = join(
      localRepository,
      'io',
      'apicurio',
      'apicurio-registry-app',
      APICURIO_REGISTRY_VERSION,
      `apicurio-registry-app-${APICURIO_REGISTRY_VERSION}-all.tar.gz`,
    );
    if (!existsSync(archive)) throw new ApicurioRegistryError(`Maven reported ${ARTIFACT} fetched, but ${archive} does not exist`);
    const unpacked = join(scratch, 'release');
    mkdirSync(unpacked);
    await run('tar', ['xzf', archive, '-C', unpacked], `unpack ${archive}`);
    if (!existsSync(join(unpacked, RUNNER_JAR))) throw new ApicurioRegistryError(`${archive} holds no ${RUNNER_JAR}`);
    try {
      renameSync(unpacked, APICURIO_REGISTRY_HOME);
    } catch (error) {
      // Another process unpacked it first: use theirs.
      if (!existsSync(join(APICURIO_REGISTRY_HOME, RUNNER_JAR))) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return APICURIO_REGISTRY_HOME;
}

/** Runs a command to completion; fails with its output's tail, or a clear word when the command is not installed. */
async function run(command: string, args: readonly string[], purpose: string): Promise<void> {
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { cwd: LOCAL_STATE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ApicurioRegistryError(
          error.code === 'ENOENT'
            ? `${command} is not on PATH: the Apicurio Registry tests need Maven (mvn) and Java 17+ to ${purpose}`
            : `Could not run ${command} to ${purpose}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    child.once('close', resolve);
  });
  if (code !== 0)
    throw new ApicurioRegistryError(
      `Could not ${purpose}: \`${command} ${args.join(' ')}\` exited with ${code}:\n${output.join('').slice(-4000)}`,
    );
}

async function waitUntilReady(
  readyUrl: string,
  timeoutMs: number,
  exited: Promise<void>,
  spawnError: () => NodeJS.ErrnoException | undefined,
  logFile: string,
): Promise<void> {
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited) {
      const error = spawnError();
      if (error?.code === 'ENOENT')
        throw new ApicurioRegistryError('java is not on PATH: Apicurio Registry needs Java 17+', { cause: error });
      if (error) throw new ApicurioRegistryError(`Could not start java for Apicurio Registry: ${error.message}`, { cause: error });
      throw new ApicurioRegistryError(`Apicurio Registry exited while starting (log: ${logFile}):\n${logTail(logFile)}`);
    }
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new ApicurioRegistryError(
    `Apicurio Registry was not ready within ${timeoutMs} ms (${readyUrl}; log: ${logFile}):\n${logTail(logFile)}`,
  );
}
