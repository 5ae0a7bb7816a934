import { join } from 'node:path';
import type { JarSet } from '../../maven/resolve-jars';

/**
 * Debezium's PostgreSQL connector as a Kafka Connect plugin: the jars of the
 * pinned pom beside this file, without what a worker provides itself (Kafka's
 * own libraries, SLF4J, the compression codecs, JAX-RS), since a plugin loads
 * in a class loader of its own. The local worker's plugin.path holds them; the
 * CDK stacks zip the same folder into MSK Connect's custom plugin.
 */
export const DEBEZIUM_POSTGRES_PLUGIN: Omit<JarSet, 'error'> = {
  name: 'debezium-postgres',
  description: "Debezium's PostgreSQL connector",
  pom: join(__dirname, 'pom.xml'),
  requiredJarPrefix: 'debezium-connector-postgres-',
  copyFlags: ['-DexcludeGroupIds=org.apache.kafka,org.slf4j,org.lz4,at.yawk.lz4,org.xerial.snappy,com.github.luben,jakarta.ws.rs'],
};
