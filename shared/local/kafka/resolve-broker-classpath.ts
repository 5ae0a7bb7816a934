import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaBrokerError } from '../errors';

/** The pinned pom that lists the broker's jars; its hash keys the cache. */
export const BROKER_POM = join(__dirname, 'pom.xml');

/**
 * Returns a directory holding the Kafka broker's jars, resolving them from Maven
 * Central with the pinned pom on first use. Later calls reuse the cache and touch
 * no network; a changed pom resolves into a fresh cache directory.
 */
export async function resolveBrokerClasspath(cacheRoot: string, log: (line: string) => void): Promise<string> {
  const pom = readFileSync(BROKER_POM);
  const pomHash = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const libsDir = join(cacheRoot, `kafka-libs-${pomHash}`);
  const completeMarker = join(libsDir, '.complete');
  if (existsSync(completeMarker)) return libsDir;

  rmSync(libsDir, { recursive: true, force: true });
  mkdirSync(libsDir, { recursive: true });
  log(`Resolving the Kafka broker's jars from Maven Central into ${libsDir} (first run only)…`);
  await runMaven(['-B', '-q', '-f', BROKER_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime']);
  const jars = readdirSync(libsDir).filter((file) => file.endsWith('.jar'));
  if (!jars.some((jar) => jar.startsWith('kafka_2.13-'))) {
    throw new KafkaBrokerError(`Maven finished but ${libsDir} holds no kafka_2.13 jar; check ${BROKER_POM}`);
  }
  writeFileSync(completeMarker, `${new Date().toISOString()}\n`);
  return libsDir;
}

async function runMaven(args: readonly string[]): Promise<void> {
  const output: string[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const maven = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    maven.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    maven.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    maven.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new KafkaBrokerError(
          error.code === 'ENOENT'
            ? 'Maven (mvn) is not on PATH; the local runtime needs Maven and Java 17+ to fetch and run the Kafka broker'
            : `Could not run Maven: ${error.message}`,
          false,
          { cause: error },
        ),
      ),
    );
    maven.once('exit', resolve);
  });
  if (exitCode !== 0) {
    throw new KafkaBrokerError(
      `Maven could not resolve the Kafka broker's jars (exit ${exitCode}):\n${output.join('').slice(-4000)}`,
      true,
    );
  }
}
