import { App } from 'aws-cdk-lib';
import { DeploymentConfigError, parseDeploymentConfig } from '../../cdk/config';
import { addPlatformStacks } from '../../cdk/platform';
import { definePipeline } from '../../shared/pipeline';
import cdkJson from '../../cdk.json';
import pipeline from '../../pipeline';
import { deployablePipeline } from '../fixtures/deployable-pipeline';
import { problemsOf } from '../support/problems';
import { debeziumPluginDirectory, PLUGIN_RESOLUTION_TIMEOUT_MS, TEST_ENVIRONMENTS } from './synthesize';

/** The problems `run` reports as a DeploymentConfigError, or fails the test when it accepts the configuration. */
const configProblems = (run: () => unknown) => problemsOf(DeploymentConfigError, run);

describe('CDK: deployment configuration, validated at synth time', () => {
  it('applies defaults: a new VPC over two zones and a KRaft cluster with one broker per zone', () => {
    const config = parseDeploymentConfig({ environments: { dev: {} } }, 'dev');

    expect(config).toMatchObject({
      production: false,
      network: { mode: 'new', zoneCount: 2 },
      kafka: { mode: 'provisioned', brokerNodes: 2, kafkaVersion: '3.9.x.kraft' },
      flushTickMinutes: 1,
    });
  });

  it.each(Object.keys((cdkJson.context.platform as { environments: object }).environments))(
    'synthesizes environment "%s" of cdk.json for the real pipeline without any AWS lookup (offline, no credentials)',
    async (environment) => {
      const app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
      const debeziumPlugin = pipeline.cdcSources.length > 0 ? await debeziumPluginDirectory() : undefined;
      addPlatformStacks(app, pipeline, parseDeploymentConfig(cdkJson.context.platform, environment), {
        debeziumPluginDirectory: debeziumPlugin,
      });

      expect(app.synth().manifest.missing).toBeUndefined();
    },
    PLUGIN_RESOLUTION_TIMEOUT_MS,
  );

  it('names the environments it knows when asked for another', () => {
    expect(configProblems(() => parseDeploymentConfig(TEST_ENVIRONMENTS, 'staging'))).toEqual([
      'no such environment in cdk.json context "platform.environments" (known: dev, prod, nat, existing)',
    ]);
  });

  it('reports every invalid setting together, with what is expected', () => {
    const problems = configProblems(() =>
      parseDeploymentConfig(
        {
          environments: {
            bad: {
              account: '42',
              region: 'Europe',
              network: { mode: 'existing', vpcId: 'vpc-1', availabilityZones: ['a'] },
              kafka: { mode: 'provisioned', kafkaVersion: '3.6.0', brokerNodes: 3, instanceType: 'm5.large' },
            },
          },
        },
        'bad',
      ),
    );

    expect(problems).toEqual([
      'account must be a 12-digit AWS account id, got "42"',
      'region must be an AWS region such as "eu-west-1", got "Europe"',
      'network.vpcId must be a VPC id such as "vpc-0123456789abcdef0", got "vpc-1"',
      'network.availabilityZones must list at least 2 zones',
      'network.privateSubnetIds must list subnet ids such as "subnet-0123…"',
      'network.awsApiAccess is required with network.mode "existing": "nat" when the private subnets route to a NAT gateway, or { "endpointSecurityGroupIds": ["sg-…"] } naming the security groups of the VPC\'s STS, Lambda, MSK and (with registry credentials) Secrets Manager interface endpoints',
      'kafka.kafkaVersion must be one of 3.9.x.kraft, 4.0.x.kraft, 4.1.x.kraft (KRaft, Kafka ≥ 3.9), got "3.6.0"',
      'kafka.instanceType must be an MSK instance type such as "kafka.m7g.large", got "m5.large"',
    ]);
  });

  it('wants the schema registry as an http(s) URL, and its credentials secret by its complete ARN, which IAM matches', () => {
    const problems = configProblems(() =>
      parseDeploymentConfig(
        {
          environments: {
            bad: {
              schemaRegistryUrl: 'registry:8081',
              schemaRegistryCredentialsSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry',
            },
          },
        },
        'bad',
      ),
    );

    expect(problems).toEqual([
      'schemaRegistryCredentialsSecretArn must be a complete Secrets Manager secret ARN (ending in the 6 characters Secrets Manager adds), got "arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry"',
      'schemaRegistryUrl must be an http(s) URL, got "registry:8081"',
    ]);
  });

  it('wants the zones named when account and region are set, so synth never looks them up', () => {
    expect(
      configProblems(() => parseDeploymentConfig({ environments: { p: { account: '123456789012', region: 'eu-west-1' } } }, 'p')),
    ).toEqual(['network.availabilityZones is required when account and region are set (e.g. ["eu-west-1a", "eu-west-1b", "eu-west-1c"])']);
    expect(
      configProblems(() =>
        parseDeploymentConfig(
          { environments: { p: { region: 'eu-west-1', network: { availabilityZones: ['us-east-1a', 'us-east-1b'] } } } },
          'p',
        ),
      ),
    ).toEqual(['network.availabilityZones must be zones of eu-west-1']);
  });

  it('refuses an existing cluster without the security group its consumers must be let in through', () => {
    expect(
      configProblems(() =>
        parseDeploymentConfig(
          { environments: { x: { kafka: { mode: 'existing', clusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/c/u-1' } } } },
          'x',
        ),
      ),
    ).toEqual([
      'kafka.securityGroupId is required with kafka.mode "existing" (consumers are allowed in through it)',
      'kafka.mode "existing" needs network.mode "existing": the cluster lives in a VPC of its own, which the functions must join',
    ]);
  });

  it('refuses registry credentials that would travel over plain http', () => {
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry-AbCdEf';

    expect(
      configProblems(() =>
        parseDeploymentConfig(
          { environments: { x: { schemaRegistryUrl: 'http://registry.internal:8081', schemaRegistryCredentialsSecretArn: secret } } },
          'x',
        ),
      ),
    ).toEqual([
      'schemaRegistryUrl must use https:// when schemaRegistryCredentialsSecretArn is set: basic-auth credentials would cross the network in clear text',
    ]);
    expect(
      parseDeploymentConfig({ environments: { x: { schemaRegistryUrl: 'http://registry.internal:8081' } } }, 'x').schemaRegistryUrl,
    ).toBe('http://registry.internal:8081');
  });

  it('asks an existing VPC how the pollers reach STS and Lambda instead of guessing, and takes a NAT gateway or endpoint groups', () => {
    const existing = (awsApiAccess: unknown) => ({
      environments: {
        x: {
          network: {
            mode: 'existing',
            vpcId: 'vpc-0123456789abcdef0',
            availabilityZones: ['eu-west-1a', 'eu-west-1b'],
            privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
            awsApiAccess,
          },
        },
      },
    });

    expect(configProblems(() => parseDeploymentConfig(existing(undefined), 'x'))[0]).toMatch(
      /^network.awsApiAccess is required with network.mode "existing"/,
    );
    expect(configProblems(() => parseDeploymentConfig(existing({ endpointSecurityGroupIds: ['not-a-group'] }), 'x'))[0]).toMatch(
      /^network.awsApiAccess is required/,
    );
    expect(parseDeploymentConfig(existing('nat'), 'x').network.awsApiAccess).toEqual({ kind: 'nat' });
    expect(parseDeploymentConfig(existing({ endpointSecurityGroupIds: ['sg-0123456789abcdef0'] }), 'x').network.awsApiAccess).toEqual({
      kind: 'existing-endpoints',
      endpointSecurityGroupIds: ['sg-0123456789abcdef0'],
    });
    expect(
      configProblems(() => parseDeploymentConfig({ environments: { x: { network: { awsApiAccess: 'carrier-pigeon' } } } }, 'x')),
    ).toEqual(['network.awsApiAccess must be "endpoints" or "nat" with network.mode "new", got "carrier-pigeon"']);
  });

  it('refuses a pipeline the environment cannot hold: replication above the broker count, sub-second batching windows, pollers for unknown consumers', () => {
    const config = parseDeploymentConfig(
      { environments: { small: { kafka: { brokerNodes: 2 }, provisionedPollers: { 'no-such-consumer': { minimum: 1, maximum: 2 } } } } },
      'small',
    );
    const pipeline = definePipeline({
      name: 'tiny',
      topics: [{ name: 'orders', kind: 'event', replicationFactor: 3 }],
      consumers: [
        {
          name: 'audit',
          handler: { entry: deployablePipeline.consumers[0]!.handler.entry },
          topic: 'orders',
          eventSource: { maximumBatchingWindowMs: 50 },
        },
      ],
    });

    expect(configProblems(() => addPlatformStacks(new App(), pipeline, config))).toEqual([
      'topic "orders" needs replication factor 3, but kafka.brokerNodes is 2',
      'consumer "audit": maximumBatchingWindowMs 50 cannot be deployed: AWS takes whole seconds (or 500 ms, its default)',
      'provisionedPollers names consumer "no-such-consumer", which pipeline "tiny" does not declare',
    ]);
  });
});
