import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { parseDeploymentConfig } from '../../cdk/config';
import { resolveDebeziumPlugin } from '../../cdk/constructs/debezium-plugin-asset';
import { acknowledgeNagFindings } from '../../cdk/nag-acknowledgements';
import { addPlatformStacks, type PlatformStacks } from '../../cdk/platform';
import type { Pipeline } from '../../shared/pipeline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployablePipeline } from '../fixtures/deployable-pipeline';

/** Resource properties, or any object within them: CloudFormation JSON, which the assertions below read by path. */
// biome-ignore lint/suspicious/noExplicitAny: untyped CloudFormation JSON (Template.findResources gives it as any), read by deep property paths that each assertion checks
export type TemplateJson = Record<string, any>;

/** The resources of a type in a template, by logical id. */
export function resources(template: Template, type: string): Array<TemplateJson> {
  return Object.values(template.findResources(type)).map((resource) => resource.Properties as TemplateJson);
}

/** cdk.json's context without the environments: the feature flags `cdk synth` runs with, so the tests synthesize the same templates. */
export function featureFlags(): Record<string, unknown> {
  const { platform: _environments, ...flags } = (
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
  return flags;
}

/** The monolith database the fixture's CDC source (and pipeline.ts's) reads, as an environment names it. */
export const MONOLITH_DATABASE = {
  hostname: 'monolith.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:monolith-cdc-AbCdEf',
  securityGroupId: 'sg-0dddddddddddddd01',
};

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
      cdcSources: { monolith: { ...MONOLITH_DATABASE, mcuCount: 2 } },
    },
    prod: {
      production: true,
      account: '123456789012',
      region: 'eu-west-1',
      network: { mode: 'new', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
      kafka: { mode: 'provisioned', brokerNodes: 3 },
      cdcSources: { monolith: MONOLITH_DATABASE },
    },
    nat: {
      region: 'eu-west-1',
      network: { mode: 'new', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], awsApiAccess: 'nat' },
      kafka: { mode: 'provisioned', brokerNodes: 3 },
      schemaRegistryUrl: 'https://registry.nat.example.com',
      cdcSources: { monolith: MONOLITH_DATABASE },
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
      // The database's owners admit the connector themselves here.
      cdcSources: { monolith: { ...MONOLITH_DATABASE, port: 6432, addSecurityGroupRules: false } },
    },
  },
};

type EnvironmentName = keyof typeof TEST_ENVIRONMENTS.environments;

/**
 * The `platform` context for a pipeline: the test environments without the CDC sources the pipeline does not
 * declare (they configure the one the fixture and pipeline.ts declare, and synth refuses an undeclared one).
 */
export function environmentsFor(pipeline: Pipeline): typeof TEST_ENVIRONMENTS {
  const declared = new Set(pipeline.cdcSources.map(({ source }) => source.name));
  const environments = Object.fromEntries(
    Object.entries(TEST_ENVIRONMENTS.environments).map(([name, environment]) => [
      name,
      { ...environment, cdcSources: Object.fromEntries(Object.entries(environment.cdcSources).filter(([source]) => declared.has(source))) },
    ]),
  );
  return { environments } as typeof TEST_ENVIRONMENTS;
}

let pluginDirectory: Promise<string> | undefined;

/** The Debezium plugin's jars, resolved by Maven once per test process (cached under .local/ after the first run). */
export function debeziumPluginDirectory(): Promise<string> {
  pluginDirectory ??= resolveDebeziumPlugin();
  return pluginDirectory;
}

/** How long resolving the plugin may take on a machine that has never resolved it (Maven downloads it). */
export const PLUGIN_RESOLUTION_TIMEOUT_MS = 300_000;

export interface Synthesized {
  readonly stacks: PlatformStacks;
  readonly templates: {
    readonly network: Template;
    readonly streaming: Template;
    readonly state: Template;
    readonly consumers: Template;
    /** Only for a pipeline with CDC sources. */
    readonly cdc: Template | undefined;
  };
}

/** Synthesizes the platform for a pipeline and environment, with cdk-nag applied, without bundling functions. */
export async function synthesize(environment: EnvironmentName, pipeline: Pipeline = deployablePipeline): Promise<Synthesized> {
  const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] } });
  const debeziumPlugin = pipeline.cdcSources.length > 0 ? await debeziumPluginDirectory() : undefined;
  const stacks = addPlatformStacks(app, pipeline, parseDeploymentConfig(environmentsFor(pipeline), environment), {
    debeziumPluginDirectory: debeziumPlugin,
  });
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
      cdc: stacks.cdc ? Template.fromStack(stacks.cdc) : undefined,
    },
  };
}
