import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface JarSet {
  /** Names the cache directory (`<name>-<pom hash>`) and the log line. */
  readonly name: string;
  /** What the jars are for, in messages: "the Kafka broker's jars". */
  readonly description: string;
  /** The pinned pom listing the jars; its hash keys the cache, so a changed pom resolves afresh. */
  readonly pom: string;
  /** A jar whose name starts with this must be among the resolved ones, or the pom is wrong. */
  readonly requiredJarPrefix: string;
  /** More `dependency:copy-dependencies` flags, e.g. `-DexcludeGroupIds=…`. */
  readonly copyFlags?: readonly string[];
  /** The error type of the service these jars run: a failure names what could not start. */
  readonly error: new (
    message: string,
    retriable?: boolean,
    options?: { cause?: unknown },
  ) => Error;
}

/**
 * Returns a directory holding a jar set, resolving it from Maven Central with
 * its pinned pom on first use. Later calls reuse the cache and touch no network.
 */
export async function resolveJars(
  jars: JarSet,
  cacheRoot: string,
  log: (line: string) => void,
  /** Where the jars are gathered before they move into the cache: elsewhere when every folder in the cache counts (a plugin path). Same file system. */
  scratchRoot = cacheRoot,
): Promise<string> {
  const pomHash = createHash('sha256').update(readFileSync(jars.pom)).digest('hex').slice(0, 12);
  const libsDir = join(cacheRoot, `${jars.name}-${pomHash}`);
  const completeMarker = join(libsDir, '.complete');
  if (existsSync(completeMarker)) return libsDir;

  // Resolved into a folder of this call's own, then renamed into place: processes resolving at once (test
  // workers, synth beside npm start) never see, or delete, each other's half-copied jars.
  mkdirSync(cacheRoot, { recursive: true });
  mkdirSync(scratchRoot, { recursive: true });
  const partialDir = mkdtempSync(join(scratchRoot, `${jars.name}-${pomHash}.partial-`));
  try {
    log(`Resolving ${jars.description} from Maven Central into ${libsDir} (first run only)…`);
    await runMaven(
      [
        '-B',
        '-q',
        '-f',
        jars.pom,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${partialDir}`,
        '-DincludeScope=runtime',
        ...(jars.copyFlags ?? []),
      ],
      jars,
    );
    const resolved = readdirSync(partialDir).filter((file) => file.endsWith('.jar'));
    if (!resolved.some((jar) => jar.startsWith(jars.requiredJarPrefix))) {
      throw new jars.error(`Maven finished but holds no ${jars.requiredJarPrefix} jar; check ${jars.pom}`);
    }
    writeFileSync(join(partialDir, '.complete'), `${new Date().toISOString()}\n`);
    try {
      renameSync(partialDir, libsDir);
    } catch (error) {
      if (existsSync(completeMarker)) return libsDir; // another process finished first
      // An incomplete folder an interrupted older version of this function left: replaced.
      if (!existsSync(libsDir)) throw error;
      rmSync(libsDir, { recursive: true, force: true });
      renameSync(partialDir, libsDir);
    }
    return libsDir;
  } finally {
    rmSync(partialDir, { recursive: true, force: true });
  }
}

async function runMaven(args: readonly string[], jars: JarSet): Promise<void> {
  const output: string[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const maven = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    maven.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    maven.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    maven.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new jars.error(
          error.code === 'ENOENT'
            ? `Maven (mvn) is not on PATH; Maven and Java 17+ are needed to fetch ${jars.description}`
            : `Could not run Maven: ${error.message}`,
          false,
          { cause: error },
        ),
      ),
    );
    maven.once('exit', resolve);
  });
  if (exitCode !== 0) {
    throw new jars.error(`Maven could not resolve ${jars.description} (exit ${exitCode}):\n${output.join('').slice(-4000)}`, true);
  }
}
