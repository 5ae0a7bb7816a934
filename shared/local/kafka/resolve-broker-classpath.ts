import { join } from 'node:path';
import { KafkaBrokerError } from '../errors';
import { resolveJars } from '../../maven/resolve-jars';

/** The pinned pom that lists the broker's jars; its hash keys the cache. */
export const BROKER_POM = join(__dirname, 'pom.xml');

/**
 * Returns a directory holding the Kafka broker's jars, resolving them from Maven
 * Central with the pinned pom on first use. Later calls reuse the cache and touch
 * no network; a changed pom resolves into a fresh cache directory.
 */
export function resolveBrokerClasspath(cacheRoot: string, log: (line: string) => void): Promise<string> {
  return resolveJars(
    {
      name: 'kafka-libs',
      description: "the Kafka broker's jars",
      pom: BROKER_POM,
      requiredJarPrefix: 'kafka_2.13-',
      error: KafkaBrokerError,
    },
    cacheRoot,
    log,
  );
}
