import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, findFreePortPair, startLocalRuntime, type LocalRuntime } from '../../shared/local';
import { ownServicesConfig } from './own-services';

declare global {
  var __LOCAL_RUNTIME__: LocalRuntime | undefined;
}

/**
 * Starts one real Kafka broker and one dynalite for the integration suite, on free
 * ports so a running `npm start` is never disturbed, and hands their addresses to
 * the test workers through KAFKA_BROKERS / DYNAMODB_ENDPOINT. Each test isolates
 * itself with its own topics, groups and tables.
 */
export default async function globalSetup(): Promise<void> {
  const kafkaPort = await findFreePortPair();
  const dynamoDbPort = await findFreePort();
  // A registry file of this run's own: tests register schemas under their own prefixed subjects.
  const schemaRegistryFile = join(mkdtempSync(join(tmpdir(), 'platform-test-registry-')), 'schema-registry.json');
  const runtime = await startLocalRuntime({
    config: ownServicesConfig({ kafkaPort, dynamoDbPort }, schemaRegistryFile),
    log: (line) => process.stderr.write(`[global-setup] ${line}\n`),
  });
  globalThis.__LOCAL_RUNTIME__ = runtime;
  process.env.KAFKA_BROKERS = runtime.kafka.brokers.join(',');
  process.env.DYNAMODB_ENDPOINT = runtime.dynamodb.endpoint;
  process.env.SCHEMA_REGISTRY_FILE = schemaRegistryFile;
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Handlers made in tests log through Powertools: errors only, and no embedded-metric JSON.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
}
