import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { parseDeploymentConfig } from '../../cdk/config';
import { acknowledgeNagFindings } from '../../cdk/nag-acknowledgements';
import { addPlatformStacks, type PlatformStacks } from '../../cdk/platform';
import type { Pipeline } from '../../shared/pipeline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployablePipeline } from '../fixtures/deployable-pipeline';

/** cdk.json's context without the environments: the feature flags `cdk synth` runs with, so the tests synthesize the same templates. */
export function featureFlags(): Record<string, unknown> {
  const { platform: _environments, ...flags } = (
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
  return flags;
}

/** The environments the tests synthesize: a new VPC and cluster, and existing ones. */
export const TEST_ENVIRONMENTS = {
  environments: {
    dev: {
      region: 'eu-west-1',
      network: { mode: 'new', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
      kafka: { mode: 'provisioned', brokerNodes: 3, instanceType: 'kafka.t3.small' },
      provisionedPollers: { prices: { minimum: 2, maximum: 12 } },
      schemaRegistryUrl: 'https://registry.dev.example.com',
      schemaRegistryCredentialsSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry-AbCdEf',
    },
    prod: {
      production: true,
      account: '123456789012',
      region: 'eu-west-1',
      network: { mode: 'new', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
      kafka: { mode: 'provisioned', brokerNodes: 3 },
    },
    nat: {
      region: 'eu-west-1',
      network: { mode: 'new', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], awsApiAccess: 'nat' },
      kafka: { mode: 'provisioned', brokerNodes: 3 },
      schemaRegistryUrl: 'https://registry.nat.example.com',
    },
    existing: {
      account: '123456789012',
      region: 'eu-west-1',
      network: {
        mode: 'existing',
        vpcId: 'vpc-0123456789abcdef0',
        availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
        privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
        awsApiAccess: { endpointSecurityGroupIds: ['sg-0eeeeeeeeeeeeeee1'] },
      },
      kafka: {
        mode: 'existing',
        clusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2',
        securityGroupId: 'sg-0123456789abcdef0',
      },
    },
  },
};

export interface Synthesized {
  readonly stacks: PlatformStacks;
  readonly templates: { readonly [K in keyof PlatformStacks]: Template };
}

/** Synthesizes the platform for a pipeline and environment, with cdk-nag applied, without bundling functions. */
export function synthesize(environment: keyof typeof TEST_ENVIRONMENTS.environments, pipeline: Pipeline = deployablePipeline): Synthesized {
  const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] } });
  const stacks = addPlatformStacks(app, pipeline, parseDeploymentConfig(TEST_ENVIRONMENTS, environment));
  Aspects.of(app).add(new AwsSolutionsChecks());
  Aspects.of(app).add(new ServerlessChecks());
  acknowledgeNagFindings(stacks);
  app.synth();
  return {
    stacks,
    templates: {
      network: Template.fromStack(stacks.network),
      streaming: Template.fromStack(stacks.streaming),
      state: Template.fromStack(stacks.state),
      consumers: Template.fromStack(stacks.consumers),
    },
  };
}
