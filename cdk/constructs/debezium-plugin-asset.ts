import { CfnCustomPlugin } from 'aws-cdk-lib/aws-kafkaconnect';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { dirname, join, resolve } from 'node:path';
import { DEBEZIUM_POSTGRES_PLUGIN } from '../../shared/cdc/debezium-plugin/debezium-plugin';
import { PlatformError } from '../../shared/errors';
import { resolveJars } from '../../shared/maven/resolve-jars';

/** The Debezium plugin's jars could not be resolved (no Maven or Java, no network on a first run, a broken pom). */
export class DebeziumPluginError extends PlatformError {
  override readonly name = 'DebeziumPluginError';
}

/** The marker resolveJars leaves in a complete cache: a timestamp, so kept out of the plugin (and of its hash). */
const CACHE_MARKER = '.complete';

/**
 * Where the local runtime caches the plugin's jars (`.local/connect-plugins` under the repository root, as
 * shared/local/paths.ts has it): synth and `npm start` share one download. Computed here because what is
 * deployed must not import the local runtime.
 */
export const DEBEZIUM_PLUGIN_CACHE = join(resolve(__dirname, '..', '..'), '.local', 'connect-plugins');

/**
 * The directory holding the jars of Debezium's PostgreSQL connector as a Kafka Connect plugin: the same pinned
 * pom (shared/cdc/debezium-plugin) the local worker loads, resolved by Maven on first use and cached after.
 * @throws DebeziumPluginError when Maven cannot resolve them
 */
export function resolveDebeziumPlugin(cacheRoot = DEBEZIUM_PLUGIN_CACHE, log: (line: string) => void = () => undefined): Promise<string> {
  // Gathered beside the cache, as the local worker does: every folder in it is a plugin to a worker.
  return resolveJars({ ...DEBEZIUM_POSTGRES_PLUGIN, error: DebeziumPluginError }, cacheRoot, log, dirname(cacheRoot));
}

export interface DebeziumPluginProps {
  /** The resolved jars ({@link resolveDebeziumPlugin}). */
  readonly directory: string;
  /** Prefixes the plugin's name. */
  readonly namePrefix: string;
}

/**
 * MSK Connect's custom plugin for Debezium's PostgreSQL connector: the directory of resolved jars, zipped by CDK
 * into an S3 asset (jars at the zip's root, as MSK Connect takes them). A plugin cannot be changed in place, so
 * its name carries the jars' hash: a new pom makes a new plugin.
 */
export class DebeziumPlugin extends Construct {
  readonly asset: Asset;
  readonly plugin: CfnCustomPlugin;

  constructor(scope: Construct, id: string, props: DebeziumPluginProps) {
    super(scope, id);
    this.asset = new Asset(this, 'Jars', { path: props.directory, exclude: [CACHE_MARKER] });
    const name = `${props.namePrefix}-debezium-postgres-${this.asset.assetHash.slice(0, 12)}`;
    this.plugin = new CfnCustomPlugin(this, 'Plugin', {
      name: name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128),
      description: "Debezium's PostgreSQL connector, the jars of shared/cdc/debezium-plugin/pom.xml",
      contentType: 'ZIP',
      location: { s3Location: { bucketArn: this.asset.bucket.bucketArn, fileKey: this.asset.s3ObjectKey } },
    });
  }
}
