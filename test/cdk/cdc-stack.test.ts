import { App, Stage } from 'aws-cdk-lib';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeploymentConfigError, parseDeploymentConfig } from '../../cdk/config';
import { heartbeatTopic, MSK_CONNECT_VERSION, workerProperties } from '../../cdk/constructs/cdc-connector';
import { addPlatformStacks, MissingPlatformAssetError } from '../../cdk/platform';
import { debeziumConnectorConfig } from '../../shared/cdc/connector-config';
import { cdcPositionsTableVariable } from '../../shared/cdc';
import { deadLetterTopicVariable, definePipeline } from '../../shared/pipeline';
import { deployablePipeline } from '../fixtures/deployable-pipeline';
import { problemsOf } from '../support/problems';
import {
  debeziumPluginDirectory,
  environmentsFor,
  MONOLITH_DATABASE,
  PLUGIN_RESOLUTION_TIMEOUT_MS,
  resources,
  synthesize,
  TEST_ENVIRONMENTS,
  type Synthesized,
} from './synthesize';

const CLUSTER = 'arn:aws:kafka:eu-west-1:123456789012';
const CLUSTER_PATH = 'shared-kafka/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2';
const monolith = deployablePipeline.cdcSources.find(({ source }) => source.name === 'monolith')!;

/** The one connector of a synthesized environment's CDC stack, as CloudFormation properties. */
function connectorOf(synthesized: Synthesized) {
  const [connector] = resources(synthesized.templates.cdc!, 'AWS::KafkaConnect::Connector');
  return connector!;
}

describe('CDK: change data capture in MSK Connect', () => {
  let dev: Synthesized;
  let existing: Synthesized;
  let pluginDirectory: string;
  beforeAll(async () => {
    pluginDirectory = await debeziumPluginDirectory();
    [dev, existing] = await Promise.all([synthesize('dev'), synthesize('existing')]);
  }, PLUGIN_RESOLUTION_TIMEOUT_MS);

  it('configures each source’s connector with debeziumConnectorConfig: its tables, the environment’s database, the login from its secret', () => {
    const login = (field: string) => `{{resolve:secretsmanager:${MONOLITH_DATABASE.secretArn}:SecretString:${field}::}}`;
    const expected = debeziumConnectorConfig(
      monolith.source,
      monolith.mappings.map(({ mapping }) => mapping),
      { hostname: MONOLITH_DATABASE.hostname, port: 6432, user: login('username'), password: login('password') },
      { exactlyOnce: false, replicationFactor: 3 },
    );

    expect(connectorOf(existing).ConnectorConfiguration).toEqual(expected);
    expect(connectorOf(existing).ConnectorConfiguration['database.password']).toMatch(/^\{\{resolve:secretsmanager:/);
  });

  it('runs it on MSK Connect 3.7.x with IAM authentication and TLS, in the private subnets and its own group, on one provisioned worker of the configured size, logging to a group of its own', () => {
    const connector = connectorOf(dev);

    expect(connector).toMatchObject({
      ConnectorName: 'shop-dev-monolith',
      KafkaConnectVersion: MSK_CONNECT_VERSION,
      KafkaClusterClientAuthentication: { AuthenticationType: 'IAM' },
      KafkaClusterEncryptionInTransit: { EncryptionType: 'TLS' },
      Capacity: { ProvisionedCapacity: { WorkerCount: 1, McuCount: 2 } },
    });
    expect(connector.KafkaCluster.ApacheKafkaCluster.Vpc.Subnets).toHaveLength(3);
    expect(connector.KafkaCluster.ApacheKafkaCluster.Vpc.SecurityGroups).toHaveLength(1);
    expect(JSON.stringify(connector.KafkaCluster.ApacheKafkaCluster.BootstrapServers)).toContain('BootstrapBrokerStringSaslIam');
    expect(connector.LogDelivery.WorkerLogDelivery.CloudWatchLogs.Enabled).toBe(true);
    dev.templates.cdc!.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    expect(connectorOf(existing).Capacity.ProvisionedCapacity.McuCount).toBe(1);
  });

  it('names the connector, its worker configuration and its plugin after the environment too, so two environments of one account never collide', () => {
    const names = (synthesized: typeof dev) => [
      connectorOf(synthesized).ConnectorName,
      ...resources(synthesized.templates.cdc!, 'AWS::KafkaConnect::WorkerConfiguration').map((worker) => worker.Name),
      ...resources(synthesized.templates.cdc!, 'AWS::KafkaConnect::CustomPlugin').map((plugin) => plugin.Name),
    ];
    const [devNames, existingNames] = [names(dev), names(existing)];

    expect(devNames.every((name) => String(name).startsWith('shop-dev-'))).toBe(true);
    expect(existingNames.every((name) => String(name).startsWith('shop-existing-'))).toBe(true);
  });

  it('gives the workers the local worker’s JSON converters without schema envelopes and an offsets topic named after the connector, in keys MSK Connect allows', () => {
    const [worker] = resources(dev.templates.cdc!, 'AWS::KafkaConnect::WorkerConfiguration');
    const properties = Buffer.from(worker!.PropertiesFileContent, 'base64').toString();
    const keys = properties
      .trim()
      .split('\n')
      .map((line) => line.split('=')[0]!);

    expect(properties).toBe(workerProperties('shop-dev-monolith'));
    expect(properties).toContain('value.converter=org.apache.kafka.connect.json.JsonConverter\n');
    expect(properties).toContain('value.converter.schemas.enable=false\n');
    expect(properties).toContain('offset.storage.topic=__amazon_msk_connect_offsets_shop-dev-monolith_kept\n');
    // MSK Connect refuses these in a worker configuration.
    const forbidden =
      /^(bootstrap\.servers|group\.id|plugin\.path|listeners|config\.storage\..*|status\.storage\..*|rest\..*|sasl\..*|security\..*|ssl\..*|admin\..*|worker\..*)$/;
    expect(keys.filter((key) => forbidden.test(key))).toEqual([]);
  });

  it('lets the connector’s role write only its change topics and heartbeat topic, keep its own internal topics and join its worker group, and read no secret', () => {
    const role = existing.stacks.cdc!.connectors.get('monolith')!.role;
    const roleId = existing.stacks.cdc!.getLogicalId(role.node.defaultChild as never);
    const statements = new Map(
      resources(existing.templates.cdc!, 'AWS::IAM::Policy')
        .filter((policy) => (policy.Roles as Array<{ Ref: string }>).some((ref) => ref.Ref === roleId))
        .flatMap((policy) => policy.PolicyDocument.Statement as Array<Record<string, unknown>>)
        .map((statement) => [statement.Sid as string, statement]),
    );
    const topic = (name: string) => `${CLUSTER}:topic/${CLUSTER_PATH}/${name}`;

    expect([...statements.keys()].sort()).toEqual([
      'ConnectToCluster',
      'HeartbeatTopic',
      'WorkerGroup',
      'WorkerInternalTopics',
      'WriteChangeTopics',
    ]);
    expect(statements.get('ConnectToCluster')).toMatchObject({ Resource: `${CLUSTER}:cluster/${CLUSTER_PATH}` });
    expect(statements.get('ConnectToCluster')!.Action).toEqual(
      expect.arrayContaining(['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster']),
    );
    expect(statements.get('WriteChangeTopics')).toMatchObject({
      Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      Resource: topic('monolith.public.merchants'),
    });
    expect(statements.get('HeartbeatTopic')!.Resource).toBe(topic(heartbeatTopic('monolith')));
    expect(statements.get('WorkerInternalTopics')!.Resource).toBe(topic('__amazon_msk_connect_*_shop-existing-monolith_*'));
    expect(statements.get('WorkerGroup')).toMatchObject({
      Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
      Resource: [
        `${CLUSTER}:group/${CLUSTER_PATH}/__amazon_msk_connect_*`,
        `${CLUSTER}:group/${CLUSTER_PATH}/connect-shop-existing-monolith`,
      ],
    });
    const policies = JSON.stringify(resources(existing.templates.cdc!, 'AWS::IAM::Policy'));
    expect(policies).not.toContain('secretsmanager');
    expect(policies).not.toContain('"Resource":"*"');
    expect(JSON.stringify(resources(existing.templates.cdc!, 'AWS::IAM::Role'))).toContain('aws:SourceAccount');
  });

  it('builds one custom plugin for every source from the resolved Debezium jars: the asset is that directory, zipped', () => {
    const cdc = dev.stacks.cdc!;
    const staged = join(Stage.of(cdc)!.outdir, cdc.plugin.asset.assetPath);
    const jars = readdirSync(pluginDirectory).filter((file) => file.endsWith('.jar'));

    dev.templates.cdc!.resourceCountIs('AWS::KafkaConnect::CustomPlugin', 1);
    dev.templates.cdc!.hasResourceProperties('AWS::KafkaConnect::CustomPlugin', { ContentType: 'ZIP' });
    expect(cdc.plugin.asset.isZipArchive).toBe(true);
    expect(readdirSync(staged).sort()).toEqual(jars.sort());
    expect(jars.some((jar) => jar.startsWith('debezium-connector-postgres-'))).toBe(true);
    // The worker provides Kafka's own libraries; a plugin carrying them would clash with it.
    expect(jars.filter((jar) => /^(kafka-clients|connect-api)-/.test(jar))).toEqual([]);
  });

  it('alarms when the connector’s task is not running (or reports nothing) and when it has failed', () => {
    const alarms = resources(dev.templates.cdc!, 'AWS::CloudWatch::Alarm');

    expect(alarms.map((alarm) => [alarm.Namespace, alarm.MetricName, alarm.TreatMissingData]).sort()).toEqual([
      ['AWS/KafkaConnect', 'ErroredTaskCount', 'notBreaching'],
      ['AWS/KafkaConnect', 'RunningTaskCount', 'breaching'],
    ]);
    for (const alarm of alarms) {
      expect(alarm.Dimensions).toEqual([{ Name: 'ConnectorName', Value: 'shop-dev-monolith' }]);
      expect(alarm.AlarmActions).toHaveLength(1);
    }
  });

  it('deploys each mapping consumer like every other consumer: its positions table, its dead-letter topic, its change topic read and its entity topic written', () => {
    const consumer = dev.stacks.consumers.consumers.get('merchants-from-monolith')!;
    const fn = resources(dev.templates.consumers, 'AWS::Lambda::Function').find(
      (candidate) => candidate.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'merchants-from-monolith',
    )!;
    const mapping = resources(dev.templates.consumers, 'AWS::Lambda::EventSourceMapping').find(
      (candidate) => candidate.Topics[0] === 'monolith.public.merchants',
    )!;

    expect(fn.Environment.Variables[cdcPositionsTableVariable('merchants-from-monolith')]).toEqual({
      'Fn::ImportValue': expect.stringContaining('Tablemerchantsfrommonolithcdcpositions'),
    });
    expect(fn.Environment.Variables[deadLetterTopicVariable('merchants-from-monolith')]).toBe('merchants-from-monolith.dlq');
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'shop.merchants-from-monolith' },
    });
    expect(consumer.hasOnFailureDestination).toBe(false);
    expect(JSON.stringify(resources(dev.templates.consumers, 'AWS::IAM::Policy'))).toContain('/merchants-from-monolith.dlq');
  });

  it('refuses synth naming a declared source the environment does not configure, and a configured source the pipeline does not declare', () => {
    const platform = JSON.parse(JSON.stringify(TEST_ENVIRONMENTS)) as typeof TEST_ENVIRONMENTS;
    (platform.environments.dev as { cdcSources: object }).cdcSources = { legacy: MONOLITH_DATABASE };

    expect(
      problemsOf(DeploymentConfigError, () =>
        addPlatformStacks(new App(), deployablePipeline, parseDeploymentConfig(platform, 'dev'), {
          debeziumPluginDirectory: pluginDirectory,
        }),
      ),
    ).toEqual([
      'CDC source "monolith" (database "monolith") has no database settings: add cdcSources.monolith { hostname, secretArn, securityGroupId } to environment "dev"',
      'cdcSources names source "legacy", which pipeline "shop" does not declare',
    ]);
  });

  it('needs the resolved plugin for a pipeline with CDC sources, and builds no CDC stack for one without', () => {
    const config = parseDeploymentConfig(TEST_ENVIRONMENTS, 'dev');
    const withoutCdc = definePipeline({ name: 'plain', topics: [{ name: 'orders', kind: 'event' }] });

    expect(() => addPlatformStacks(new App(), deployablePipeline, config)).toThrow(MissingPlatformAssetError);
    expect(addPlatformStacks(new App(), withoutCdc, parseDeploymentConfig(environmentsFor(withoutCdc), 'prod')).cdc).toBeUndefined();
  });

  it('reads each source’s database with defaults, and reports every invalid field', () => {
    const parsed = parseDeploymentConfig({ environments: { x: { cdcSources: { monolith: MONOLITH_DATABASE } } } }, 'x');

    expect(parsed.cdcSources.monolith).toEqual({ ...MONOLITH_DATABASE, port: 5432, addSecurityGroupRules: true, mcuCount: 1 });
    expect(
      problemsOf(DeploymentConfigError, () =>
        parseDeploymentConfig(
          {
            environments: {
              x: {
                cdcSources: {
                  monolith: {
                    hostname: 'db host',
                    port: 70_000,
                    secretArn: 'monolith',
                    securityGroupId: 'db',
                    addSecurityGroupRules: 'yes',
                    mcuCount: 3,
                  },
                  legacy: {},
                },
              },
            },
          },
          'x',
        ),
      ),
    ).toEqual([
      'cdcSources.monolith.hostname must be a DNS name or IP address, got "db host"',
      'cdcSources.monolith.secretArn must be a complete Secrets Manager secret ARN (ending in the 6 characters Secrets Manager adds), got "monolith"',
      'cdcSources.monolith.securityGroupId must be a security group id, got "db"',
      'cdcSources.monolith.addSecurityGroupRules must be true or false',
      'cdcSources.monolith.mcuCount must be one of 1, 2, 4, 8, got 3',
      'cdcSources.monolith.port must be a whole number from 1 to 65535, got 70000',
      "cdcSources.legacy.hostname is required (the database's endpoint)",
      'cdcSources.legacy.secretArn is required (a secret with JSON "username" and "password")',
      "cdcSources.legacy.securityGroupId is required (the database's security group)",
    ]);
  });
});
