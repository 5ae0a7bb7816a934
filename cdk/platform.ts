import type { App } from 'aws-cdk-lib';
import type { Pipeline } from '../shared/pipeline';
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
}

/**
 * The whole deployment of one pipeline in one environment: network, Kafka
 * cluster and topics, state tables, consumers. Stack names are
 * `<pipeline>-<environment>-<part>`.
 * @throws DeploymentConfigError when the pipeline and the environment do not fit together
 */
export function addPlatformStacks(app: App, pipeline: Pipeline, config: DeploymentConfig): PlatformStacks {
  checkFit(pipeline, config);
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
  return { network, streaming, state, consumers };
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
  if (problems.length > 0) throw new DeploymentConfigError(config.name, problems);
}
