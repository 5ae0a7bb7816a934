import type { App } from 'aws-cdk-lib';
import { PlatformError } from '../shared/errors';
import type { Pipeline } from '../shared/pipeline';
import { CdcStack } from './cdc-stack';
import { DeploymentConfigError, type DeploymentConfig } from './config';
import { AWS_DEFAULT_KAFKA_BATCHING_WINDOW_MS } from './constructs/kafka-consumer';
import { ConsumersStack } from './consumers-stack';
import { deployedStackName } from './deployed-outputs';
import { NetworkStack } from './network-stack';
import { StateStack } from './state-stack';
import { StreamingStack } from './streaming-stack';

export interface PlatformStacks {
  readonly network: NetworkStack;
  readonly streaming: StreamingStack;
  readonly state: StateStack;
  readonly consumers: ConsumersStack;
  /** MSK Connect's connectors; only for a pipeline that declares CDC sources. */
  readonly cdc: CdcStack | undefined;
}

/** What synth builds before the stacks: for a pipeline with CDC sources, the Debezium plugin's resolved jars. */
export interface PlatformAssets {
  /** From resolveDebeziumPlugin (cdk/constructs/debezium-plugin-asset.ts). */
  readonly debeziumPluginDirectory?: string | undefined;
}

/** The stacks were asked for without an asset they need (a programming error of the caller, not of the environment). */
export class MissingPlatformAssetError extends PlatformError {
  override readonly name = 'MissingPlatformAssetError';
}

/**
 * The whole deployment of one pipeline in one environment: network, Kafka
 * cluster and topics, state tables, consumers. Stack names are
 * `<pipeline>-<environment>-<part>`; a pipeline with CDC sources gets a fifth, `cdc`.
 * @throws DeploymentConfigError when the pipeline and the environment do not fit together
 * @throws MissingPlatformAssetError when the pipeline captures changes and no plugin directory is given
 */
export function addPlatformStacks(app: App, pipeline: Pipeline, config: DeploymentConfig, assets: PlatformAssets = {}): PlatformStacks {
  checkFit(pipeline, config);
  const capturesChanges = pipeline.cdcSources.length > 0;
  if (capturesChanges && assets.debeziumPluginDirectory === undefined) {
    throw new MissingPlatformAssetError(
      `pipeline "${pipeline.name}" declares CDC sources: resolve the Debezium plugin (resolveDebeziumPlugin) and pass its directory`,
    );
  }
  const env =
    config.account || config.region
      ? { ...(config.account ? { account: config.account } : {}), ...(config.region ? { region: config.region } : {}) }
      : undefined;

  const common = { ...(env ? { env } : {}), tags: { pipeline: pipeline.name, environment: config.name } };
  const network = new NetworkStack(app, deployedStackName(pipeline.name, config.name, 'network'), {
    ...common,
    network: config.network,
    kafka: config.kafka,
    secretsManagerEndpoint: config.schemaRegistryCredentialsSecretArn !== undefined,
    cdcSources: config.cdcSources,
  });
  const streaming = new StreamingStack(app, deployedStackName(pipeline.name, config.name, 'streaming'), {
    ...common,
    pipeline,
    kafka: config.kafka,
    vpc: network.vpc,
    privateSubnets: network.privateSubnets,
    clusterSecurityGroup: network.clusterSecurityGroup,
  });
  const state = new StateStack(app, deployedStackName(pipeline.name, config.name, 'state'), {
    ...common,
    pipeline,
    production: config.production,
    terminationProtection: config.production,
  });
  const consumers = new ConsumersStack(app, deployedStackName(pipeline.name, config.name, 'consumers'), {
    ...common,
    pipeline,
    config,
    clusterArn: streaming.clusterArn,
    knownCluster: streaming.knownCluster,
    arns: streaming.arns,
    tables: state.tables,
    vpc: network.vpc,
    privateSubnets: network.privateSubnets,
    functionSecurityGroup: network.functionSecurityGroup,
  });
  const cdc = capturesChanges
    ? new CdcStack(app, deployedStackName(pipeline.name, config.name, 'cdc'), {
        ...common,
        pipeline,
        environment: config.name,
        databases: config.cdcSources,
        pluginDirectory: assets.debeziumPluginDirectory!,
        clusterArn: streaming.clusterArn,
        arns: streaming.arns,
        vpc: network.vpc,
        privateSubnets: network.privateSubnets,
        connectorSecurityGroups: network.cdcConnectorSecurityGroups,
        alarmAction: consumers.alarmAction,
      })
    : undefined;
  // The change topics exist before a connector writes them (a source connector would otherwise create them itself).
  cdc?.addStackDependency(streaming, 'the change topics exist before the connector writes them');
  return { network, streaming, state, consumers, cdc };
}

function checkFit(pipeline: Pipeline, config: DeploymentConfig): void {
  const problems: string[] = [];
  if (config.kafka.mode === 'provisioned') {
    for (const topic of pipeline.topics) {
      if (topic.replicationFactor > config.kafka.brokerNodes) {
        problems.push(
          `topic "${topic.name}" needs replication factor ${topic.replicationFactor}, but kafka.brokerNodes is ${config.kafka.brokerNodes}`,
        );
      }
    }
  }
  for (const consumer of pipeline.consumers) {
    const windowMs = consumer.eventSource.maximumBatchingWindowMs;
    if (windowMs !== AWS_DEFAULT_KAFKA_BATCHING_WINDOW_MS && windowMs % 1000 !== 0) {
      problems.push(
        `consumer "${consumer.name}": maximumBatchingWindowMs ${windowMs} cannot be deployed: AWS takes whole seconds (or 500 ms, its default)`,
      );
    }
  }
  const avroTopics = pipeline.topics.filter((topic) => topic.valueSchema !== undefined).map((topic) => topic.name);
  if (avroTopics.length > 0 && !config.schemaRegistryUrl) {
    problems.push(
      `topics ${avroTopics.join(', ')} carry Avro in the Confluent wire format: set schemaRegistryUrl to the registry the functions use`,
    );
  }
  if (config.schemaRegistryCredentialsSecretArn && !config.schemaRegistryUrl)
    problems.push('schemaRegistryCredentialsSecretArn is set without schemaRegistryUrl');
  const consumerNames = new Set(pipeline.consumers.map((consumer) => consumer.name));
  for (const name of Object.keys(config.provisionedPollers)) {
    if (!consumerNames.has(name))
      problems.push(`provisionedPollers names consumer "${name}", which pipeline "${pipeline.name}" does not declare`);
  }
  const declaredSources = new Map(pipeline.cdcSources.map(({ source }) => [source.name, source]));
  for (const [name, source] of declaredSources) {
    if (config.cdcSources[name] === undefined)
      problems.push(
        `CDC source "${name}" (database "${source.database}") has no database settings: add cdcSources.${name} { hostname, secretArn, securityGroupId } to environment "${config.name}"`,
      );
  }
  for (const name of Object.keys(config.cdcSources)) {
    if (!declaredSources.has(name)) problems.push(`cdcSources names source "${name}", which pipeline "${pipeline.name}" does not declare`);
  }
  if (problems.length > 0) throw new DeploymentConfigError(config.name, problems);
}
