import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import examplePipeline from '../../pipeline';
import { parseDeploymentConfig } from '../../cdk/config';
import { addPlatformStacks } from '../../cdk/platform';
import { deployablePipeline } from '../fixtures/deployable-pipeline';
import { synthesize, TEST_ENVIRONMENTS, type Synthesized } from './synthesize';

/** The resources of a type in a template, by logical id. */
function resources(template: Synthesized['templates'][keyof Synthesized['templates']], type: string): Array<Record<string, any>> {
  return Object.values(template.findResources(type)).map((resource) => resource['Properties'] as Record<string, any>);
}

/** The IAM statements of the policies attached to a consumer's role, by Sid. */
function statementsOf(synthesized: Synthesized, consumer: string): Map<string, Record<string, any>> {
  const role = synthesized.stacks.consumers.consumers.get(consumer)!.function.role!;
  const roleId = synthesized.stacks.consumers.getLogicalId(role.node.defaultChild as never);
  const policies = resources(synthesized.templates.consumers, 'AWS::IAM::Policy').filter((policy) => (policy['Roles'] as Array<{ Ref: string }>).some((ref) => ref.Ref === roleId));
  return new Map(policies.flatMap((policy) => policy['PolicyDocument'].Statement as Array<Record<string, any>>).filter((statement) => statement['Sid']).map((statement) => [statement['Sid'] as string, statement]));
}

describe('CDK: the platform stacks', () => {
  const dev = synthesize('dev');
  const existing = synthesize('existing');

  it('passes cdk-nag AwsSolutions: no unacknowledged error or warning in any stack', () => {
    for (const { stacks } of [dev, existing]) {
      for (const stack of Object.values(stacks)) {
        const findings = [
          ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-')),
          ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
        ];
        expect(findings.map((finding) => `${finding.id}: ${String(finding.entry.data)}`)).toEqual([]);
      }
    }
  });

  it('creates every declared topic, dead-letter topics included, with its partitions, replication and configuration', () => {
    const topics = resources(dev.templates.streaming, 'AWS::MSK::Topic');

    expect(topics.map((topic) => topic['TopicName']).sort()).toEqual(deployablePipeline.topics.map((topic) => topic.name).sort());
    const byName = new Map(topics.map((topic) => [topic['TopicName'] as string, topic]));
    expect(byName.get('items')).toMatchObject({ PartitionCount: 12, ReplicationFactor: 3 });
    expect(JSON.parse(Buffer.from(byName.get('items')!['Configs'], 'base64').toString())).toEqual({ 'cleanup.policy': 'compact', 'delete.retention.ms': '86400000' });
    expect(JSON.parse(Buffer.from(byName.get('price-updates')!['Configs'], 'base64').toString())).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': String(3 * 24 * 3_600_000) });
    expect(byName.get('merchants.dlq')).toMatchObject({ PartitionCount: 1 });
  });

  it('creates an MSK Provisioned cluster in KRaft mode with IAM authentication only, TLS everywhere, encryption at rest and broker logs', () => {
    dev.templates.streaming.hasResourceProperties('AWS::MSK::Cluster', {
      KafkaVersion: '3.9.x.kraft',
      NumberOfBrokerNodes: 3,
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } }, Unauthenticated: { Enabled: false } },
      EncryptionInfo: { EncryptionAtRest: { DataVolumeKMSKeyId: Match.anyValue() }, EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true } },
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: { Enabled: true } } },
    });
    existing.templates.streaming.resourceCountIs('AWS::MSK::Cluster', 0);
    existing.templates.streaming.hasResourceProperties('AWS::MSK::Topic', { ClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2' });
  });

  it('maps each consumer to an MSK event source with its declared settings, stable consumer group and dead-letter topic', () => {
    const mappings = resources(dev.templates.consumers, 'AWS::Lambda::EventSourceMapping');
    const byTopic = new Map(mappings.map((mapping) => [mapping['Topics'][0] as string, mapping]));

    expect(mappings).toHaveLength(deployablePipeline.consumers.length);
    expect(byTopic.get('merchants')).toMatchObject({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      StartingPosition: 'TRIM_HORIZON',
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'shop.merchant-directory' },
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 3_600,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: 'kafka://merchants.dlq' } },
    });
    expect(byTopic.get('items')).toMatchObject({ BatchSize: 500, FunctionResponseTypes: ['ReportBatchItemFailures'], MaximumRetryAttempts: -1 });
    expect(byTopic.get('items')!['DestinationConfig']).toBeUndefined();
    expect(byTopic.get('price-updates')).toMatchObject({ BatchSize: 10_000, MaximumBatchingWindowInSeconds: 5, ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 12 } });
  });

  it('spreads the brokers evenly over the client subnets, as MSK requires', () => {
    const cluster = resources(dev.templates.streaming, 'AWS::MSK::Cluster')[0]!;

    expect(cluster['NumberOfBrokerNodes'] % cluster['BrokerNodeGroupInfo'].ClientSubnets.length).toBe(0);
    expect(cluster['BrokerNodeGroupInfo'].ClientSubnets).toHaveLength(3);
  });

  it('gives provisioned pollers to every consumer using retry controls or partial batch responses, which need them', () => {
    const mappings = resources(existing.templates.consumers, 'AWS::Lambda::EventSourceMapping');
    const byTopic = new Map(mappings.map((mapping) => [mapping['Topics'][0] as string, mapping]));

    expect(byTopic.get('merchants')!['ProvisionedPollerConfig']).toEqual({ MinimumPollers: 1, MaximumPollers: 6 });
    expect(byTopic.get('items')!['ProvisionedPollerConfig']).toEqual({ MinimumPollers: 1, MaximumPollers: 12 });
    // Hot streams retry until success without bisecting: on-demand pollers, and no default-valued settings in the template.
    expect(byTopic.get('price-updates')!['ProvisionedPollerConfig']).toBeUndefined();
    expect(byTopic.get('price-updates')!['BisectBatchOnFunctionError']).toBeUndefined();
    expect(byTopic.get('price-updates')!['MaximumRetryAttempts']).toBeUndefined();
  });

  it('runs every function on Node 22, arm64, with MSK IAM auth configured and its tables passed by physical name', () => {
    const functions = resources(dev.templates.consumers, 'AWS::Lambda::Function');

    for (const fn of functions) expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Environment: { Variables: { KAFKA_AUTH: 'aws-iam' } } });
    const prices = functions.find((fn) => fn['Environment'].Variables.POWERTOOLS_SERVICE_NAME === 'prices')!;
    expect(prices['Environment'].Variables.PRICES_HOT_STATE_TABLE_NAME).toEqual({ 'Fn::ImportValue': expect.stringContaining('Tablepriceshotstate') });
  });

  it('tells every function of a pipeline with Avro topics where the schema registry is (to look schemas up, not register them), and refuses an environment without one', () => {
    const withRegistry = synthesize('dev', examplePipeline);
    const withoutRegistry = () => addPlatformStacks(new App(), examplePipeline, parseDeploymentConfig(TEST_ENVIRONMENTS, 'prod'));

    const consumerFunctions = resources(withRegistry.templates.consumers, 'AWS::Lambda::Function').filter((fn) =>
      examplePipeline.consumers.some((consumer) => consumer.name === fn['Environment'].Variables.POWERTOOLS_SERVICE_NAME),
    );
    expect(consumerFunctions.length).toBe(examplePipeline.consumers.length);
    for (const fn of consumerFunctions) {
      expect(fn['Environment'].Variables).toMatchObject({ SCHEMA_REGISTRY_URL: 'https://registry.dev.example.com', SCHEMA_REGISTRY_AUTO_REGISTER: 'false' });
    }
    expect(withoutRegistry).toThrow(/topics merchants, flyers, .* carry Avro in the Confluent wire format: set schemaRegistryUrl/);
  });

  it('lets every consumer read the schema registry’s credentials secret, and only that secret, through a Secrets Manager endpoint', () => {
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry-AbCdEf';

    for (const consumer of deployablePipeline.consumers) {
      expect(statementsOf(dev, consumer.name).get('ReadSchemaRegistryCredentials')).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: secret });
      const fn = dev.stacks.consumers.consumers.get(consumer.name)!.function;
      const variables = resources(dev.templates.consumers, 'AWS::Lambda::Function').find(
        (candidate) => candidate['Environment'].Variables.POWERTOOLS_SERVICE_NAME === consumer.name,
      )!['Environment'].Variables;
      expect([fn.node.id, variables.SCHEMA_REGISTRY_CREDENTIALS_SECRET_ARN]).toEqual([fn.node.id, secret]);
    }
    const endpoints = resources(dev.templates.network, 'AWS::EC2::VPCEndpoint').map((endpoint) => JSON.stringify(endpoint['ServiceName']));
    expect(endpoints.some((name) => name.includes('secretsmanager'))).toBe(true);
    expect(resources(existing.templates.consumers, 'AWS::IAM::Policy').some((policy) => JSON.stringify(policy).includes('secretsmanager'))).toBe(false);
  });

  it('lets each function touch only its own topics, consumer group and tables', () => {
    const cluster = 'arn:aws:kafka:eu-west-1:123456789012';
    const clusterPath = 'shared-kafka/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2';
    const merchants = statementsOf(existing, 'merchant-directory');

    expect(merchants.get('ConnectToCluster')!['Resource']).toBe(`${cluster}:cluster/${clusterPath}`);
    expect(merchants.get('ConnectToCluster')!['Action']).toContain('kafka-cluster:WriteDataIdempotently');
    expect(merchants.get('ReadInput')).toMatchObject({ Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], Resource: `${cluster}:topic/${clusterPath}/merchants` });
    expect(merchants.get('OwnConsumerGroup')!['Resource']).toBe(`${cluster}:group/${clusterPath}/shop.merchant-directory`);
    expect(merchants.get('WriteOutputs')!['Resource']).toBe(`${cluster}:topic/${clusterPath}/merchants.dlq`);
    expect(merchants.get('OwnTables')!['Action']).not.toContain('dynamodb:Scan');

    const join = statementsOf(existing, 'items-with-flyer.right');
    expect(join.get('ReadInput')!['Resource']).toBe(`${cluster}:topic/${clusterPath}/flyers`);
    expect(join.get('WriteOutputs')!['Resource']).toEqual([`${cluster}:topic/${clusterPath}/items-enriched`, `${cluster}:topic/${clusterPath}/items-with-flyer.dlq`]);

    const prices = statementsOf(existing, 'prices');
    expect(prices.get('OwnConsumerGroup')!['Resource']).toBe(`${cluster}:group/${clusterPath}/shop.prices`);
    expect(prices.get('ReplayGroups')).toMatchObject({
      Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup', 'kafka-cluster:DeleteGroup'],
      Resource: `${cluster}:group/${clusterPath}/platform.read-range.prices.*`,
    });
    expect(merchants.get('ReplayGroups')).toBeUndefined();
    // Every function's producer is idempotent, which MSK IAM grants on the cluster.
    expect(merchants.get('ConnectToCluster')!['Action']).toContain('kafka-cluster:WriteDataIdempotently');
    expect(JSON.stringify(prices.get('OwnTables')!['Resource'])).toContain('/index/pending');
    expect(JSON.stringify(prices.get('OwnTables')!['Resource'])).not.toContain('index/*');
  });

  it('creates every table with its keys, on-demand billing, point-in-time recovery and TTL, kept and protected only in production', () => {
    const tables = resources(dev.templates.state, 'AWS::DynamoDB::Table');

    expect(tables).toHaveLength(deployablePipeline.tables.length);
    for (const table of tables) expect(table).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, SSESpecification: { SSEEnabled: true } });
    dev.templates.state.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    dev.templates.state.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [{ IndexName: 'pending', KeySchema: [{ AttributeName: 'pendingPartition', KeyType: 'HASH' }, { AttributeName: 'dueAt', KeyType: 'RANGE' }] }],
    });
    dev.templates.state.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    const production = synthesize('prod');
    production.templates.state.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ DeletionProtectionEnabled: true }) });
  });

  it('alarms on offset lag, errors, throttles, duration near the timeout and dead letters for every consumer, on one dashboard', () => {
    const alarms = resources(dev.templates.consumers, 'AWS::CloudWatch::Alarm');

    expect(alarms).toHaveLength(5 * deployablePipeline.consumers.length);
    const descriptions = alarms.map((alarm) => alarm['AlarmDescription'] as string);
    for (const consumer of deployablePipeline.consumers) {
      expect(descriptions.filter((description) => description.startsWith(`${consumer.name}:`))).toHaveLength(5);
    }
    expect(alarms.find((alarm) => alarm['AlarmDescription'] === 'merchant-directory: p99 duration is above 80% of the timeout')).toMatchObject({ Threshold: 24_000, ExtendedStatistic: 'p99' });
    expect(alarms.filter((alarm) => alarm['MetricName'] === 'OffsetLag')).toHaveLength(deployablePipeline.consumers.length);
    dev.templates.consumers.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('runs the hot-path flush ticker on an EventBridge Scheduler schedule', () => {
    dev.templates.consumers.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^HotFlushTicker'), 'Arn'] } },
    });
  });

  it('builds a VPC without NAT, with the endpoints the consumers need, or uses an existing one', () => {
    dev.templates.network.resourceCountIs('AWS::EC2::NatGateway', 0);
    const endpoints = resources(dev.templates.network, 'AWS::EC2::VPCEndpoint').map((endpoint) => JSON.stringify(endpoint['ServiceName']));
    for (const service of ['.sts', '.lambda', '.kafka', '.dynamodb']) expect(endpoints.some((name) => name.includes(service))).toBe(true);
    existing.templates.network.resourceCountIs('AWS::EC2::VPC', 0);
  });
});
