import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import examplePipeline from '../../pipeline';
import { parseDeploymentConfig } from '../../cdk/config';
import { addPlatformStacks } from '../../cdk/platform';
import { deployablePipeline } from '../fixtures/deployable-pipeline';
import { environmentsFor, PLUGIN_RESOLUTION_TIMEOUT_MS, resources, synthesize, type Synthesized, type TemplateJson } from './synthesize';

/** The IAM statements of the policies attached to a consumer's role, by Sid. */
function statementsOf(synthesized: Synthesized, consumer: string): Map<string, TemplateJson> {
  const role = synthesized.stacks.consumers.consumers.get(consumer)!.function.role!;
  const roleId = synthesized.stacks.consumers.getLogicalId(role.node.defaultChild as never);
  const policies = resources(synthesized.templates.consumers, 'AWS::IAM::Policy').filter((policy) =>
    (policy.Roles as Array<{ Ref: string }>).some((ref) => ref.Ref === roleId),
  );
  return new Map(
    policies
      .flatMap((policy) => policy.PolicyDocument.Statement as Array<TemplateJson>)
      .filter((statement) => statement.Sid)
      .map((statement) => [statement.Sid as string, statement]),
  );
}

describe('CDK: the platform stacks', () => {
  let dev: Synthesized;
  let existing: Synthesized;
  beforeAll(async () => {
    [dev, existing] = await Promise.all([synthesize('dev'), synthesize('existing')]);
  }, PLUGIN_RESOLUTION_TIMEOUT_MS);

  it('passes cdk-nag AwsSolutions and Serverless: no unacknowledged error or warning in any stack', async () => {
    for (const { stacks } of [dev, existing, await synthesize('nat', examplePipeline)]) {
      for (const stack of Object.values(stacks).filter((candidate) => candidate !== undefined)) {
        const findings = [
          ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('(AwsSolutions|Serverless)-')),
          ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('(AwsSolutions|Serverless)-')),
        ];
        expect(findings.map((finding) => `${finding.id}: ${String(finding.entry.data)}`)).toEqual([]);
      }
    }
  });

  it('creates every declared topic, dead-letter topics included, with its partitions, replication and configuration', () => {
    const topics = resources(dev.templates.streaming, 'AWS::MSK::Topic');

    expect(topics.map((topic) => topic.TopicName).sort()).toEqual(deployablePipeline.topics.map((topic) => topic.name).sort());
    const byName = new Map(topics.map((topic) => [topic.TopicName as string, topic]));
    expect(byName.get('items')).toMatchObject({ PartitionCount: 12, ReplicationFactor: 3 });
    expect(JSON.parse(Buffer.from(byName.get('items')!.Configs, 'base64').toString())).toEqual({
      'cleanup.policy': 'compact',
      'delete.retention.ms': '86400000',
    });
    expect(JSON.parse(Buffer.from(byName.get('price-updates')!.Configs, 'base64').toString())).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': String(3 * 24 * 3_600_000),
    });
    expect(byName.get('merchants.dlq')).toMatchObject({ PartitionCount: 1 });
    // Dead letters wait for a person: two weeks unless the topic declares otherwise.
    expect(JSON.parse(Buffer.from(byName.get('merchants.dlq')!.Configs, 'base64').toString())).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': String(14 * 24 * 3_600_000),
    });
  });

  it('creates an MSK Provisioned cluster in KRaft mode with IAM authentication only, TLS everywhere, encryption at rest and broker logs', () => {
    dev.templates.streaming.hasResourceProperties('AWS::MSK::Cluster', {
      KafkaVersion: '3.9.x.kraft',
      NumberOfBrokerNodes: 3,
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } }, Unauthenticated: { Enabled: false } },
      EncryptionInfo: {
        EncryptionAtRest: { DataVolumeKMSKeyId: Match.anyValue() },
        EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true },
      },
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: { Enabled: true } } },
    });
    existing.templates.streaming.resourceCountIs('AWS::MSK::Cluster', 0);
    existing.templates.streaming.hasResourceProperties('AWS::MSK::Topic', {
      ClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/shared-kafka/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2',
    });
  });

  it('maps each consumer to an MSK event source with its declared settings, stable consumer group and dead-letter topic', () => {
    const mappings = resources(dev.templates.consumers, 'AWS::Lambda::EventSourceMapping');
    const byTopic = new Map(mappings.map((mapping) => [mapping.Topics[0] as string, mapping]));

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
    expect(byTopic.get('items')).toMatchObject({
      BatchSize: 500,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: -1,
    });
    expect(byTopic.get('items')!.DestinationConfig).toBeUndefined();
    expect(byTopic.get('price-updates')).toMatchObject({
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 5,
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 12 },
    });
  });

  it('spreads the brokers evenly over the client subnets, as MSK requires', () => {
    const cluster = resources(dev.templates.streaming, 'AWS::MSK::Cluster')[0]!;

    expect(cluster.NumberOfBrokerNodes % cluster.BrokerNodeGroupInfo.ClientSubnets.length).toBe(0);
    expect(cluster.BrokerNodeGroupInfo.ClientSubnets).toHaveLength(3);
  });

  it('gives provisioned pollers to every consumer using retry controls or partial batch responses, which need them', () => {
    const mappings = resources(existing.templates.consumers, 'AWS::Lambda::EventSourceMapping');
    const byTopic = new Map(mappings.map((mapping) => [mapping.Topics[0] as string, mapping]));

    expect(byTopic.get('merchants')!.ProvisionedPollerConfig).toEqual({ MinimumPollers: 1, MaximumPollers: 6 });
    expect(byTopic.get('items')!.ProvisionedPollerConfig).toEqual({ MinimumPollers: 1, MaximumPollers: 12 });
    // Hot streams retry until success from the first record not done (partial batch responses), without bisecting.
    expect(byTopic.get('price-updates')).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], MaximumRetryAttempts: -1 });
    expect(byTopic.get('price-updates')!.ProvisionedPollerConfig).toEqual({ MinimumPollers: 1, MaximumPollers: 12 });
    expect(byTopic.get('price-updates')!.BisectBatchOnFunctionError).toBeUndefined();
  });

  it('runs every function on Node 22, arm64, with MSK IAM auth configured and its tables passed by physical name', () => {
    const functions = resources(dev.templates.consumers, 'AWS::Lambda::Function');

    for (const fn of functions)
      expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Environment: { Variables: { KAFKA_AUTH: 'aws-iam' } } });
    const prices = functions.find((fn) => fn.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'prices')!;
    expect(prices.Environment.Variables.PRICES_HOT_STATE_TABLE_NAME).toEqual({
      'Fn::ImportValue': expect.stringContaining('Tablepriceshotstate'),
    });
  });

  it('tells every function of a pipeline with Avro topics where the schema registry is (to look schemas up, not register them), and refuses an environment without one', async () => {
    const withRegistry = await synthesize('dev', examplePipeline);
    const withoutRegistry = () =>
      addPlatformStacks(new App(), examplePipeline, parseDeploymentConfig(environmentsFor(examplePipeline), 'prod'), {
        debeziumPluginDirectory: __dirname,
      });

    const consumerFunctions = resources(withRegistry.templates.consumers, 'AWS::Lambda::Function').filter((fn) =>
      examplePipeline.consumers.some((consumer) => consumer.name === fn.Environment.Variables.POWERTOOLS_SERVICE_NAME),
    );
    expect(consumerFunctions.length).toBe(examplePipeline.consumers.length);
    for (const fn of consumerFunctions) {
      expect(fn.Environment.Variables).toMatchObject({
        SCHEMA_REGISTRY_URL: 'https://registry.dev.example.com',
        SCHEMA_REGISTRY_AUTO_REGISTER: 'false',
      });
    }
    expect(withoutRegistry).toThrow(/topics merchants, flyers, .* carry Avro in the Confluent wire format: set schemaRegistryUrl/);
  });

  it('lets every consumer read the schema registry’s credentials secret, and only that secret, through a Secrets Manager endpoint', () => {
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry-AbCdEf';

    for (const consumer of deployablePipeline.consumers) {
      expect(statementsOf(dev, consumer.name).get('ReadSchemaRegistryCredentials')).toMatchObject({
        Action: 'secretsmanager:GetSecretValue',
        Resource: secret,
      });
      const fn = dev.stacks.consumers.consumers.get(consumer.name)!.function;
      const variables = resources(dev.templates.consumers, 'AWS::Lambda::Function').find(
        (candidate) => candidate.Environment.Variables.POWERTOOLS_SERVICE_NAME === consumer.name,
      )!.Environment.Variables;
      expect([fn.node.id, variables.SCHEMA_REGISTRY_CREDENTIALS_SECRET_ARN]).toEqual([fn.node.id, secret]);
    }
    const endpoints = resources(dev.templates.network, 'AWS::EC2::VPCEndpoint').map((endpoint) => JSON.stringify(endpoint.ServiceName));
    expect(endpoints.some((name) => name.includes('secretsmanager'))).toBe(true);
    expect(
      resources(existing.templates.consumers, 'AWS::IAM::Policy').some((policy) => JSON.stringify(policy).includes('secretsmanager')),
    ).toBe(false);
  });

  it('lets each function touch only its own topics, consumer group and tables', () => {
    const cluster = 'arn:aws:kafka:eu-west-1:123456789012';
    const clusterPath = 'shared-kafka/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2';
    const merchants = statementsOf(existing, 'merchant-directory');

    expect(merchants.get('ConnectToCluster')!.Resource).toBe(`${cluster}:cluster/${clusterPath}`);
    expect(merchants.get('ConnectToCluster')!.Action).toContain('kafka-cluster:WriteDataIdempotently');
    expect(merchants.get('ReadInput')).toMatchObject({
      Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      Resource: `${cluster}:topic/${clusterPath}/merchants`,
    });
    expect(merchants.get('OwnConsumerGroup')!.Resource).toBe(`${cluster}:group/${clusterPath}/shop.merchant-directory`);
    expect(merchants.get('WriteOutputs')!.Resource).toBe(`${cluster}:topic/${clusterPath}/merchants.dlq`);
    expect(merchants.get('OwnTables')!.Action).not.toContain('dynamodb:Scan');

    const join = statementsOf(existing, 'items-with-flyer.right');
    expect(join.get('ReadInput')!.Resource).toBe(`${cluster}:topic/${clusterPath}/flyers`);
    expect(join.get('WriteOutputs')!.Resource).toEqual([
      `${cluster}:topic/${clusterPath}/items-enriched`,
      `${cluster}:topic/${clusterPath}/items-with-flyer.dlq`,
    ]);

    const prices = statementsOf(existing, 'prices');
    expect(prices.get('OwnConsumerGroup')!.Resource).toBe(`${cluster}:group/${clusterPath}/shop.prices`);
    expect(prices.get('ReplayGroups')).toMatchObject({ Resource: `${cluster}:group/${clusterPath}/platform.read-range.prices.*` });
    expect([...prices.get('ReplayGroups')!.Action].sort()).toEqual([
      'kafka-cluster:AlterGroup',
      'kafka-cluster:DeleteGroup',
      'kafka-cluster:DescribeGroup',
    ]);
    expect(merchants.get('ReplayGroups')).toBeUndefined();
    // Every function's producer is idempotent, which MSK IAM grants on the cluster.
    expect(merchants.get('ConnectToCluster')!.Action).toContain('kafka-cluster:WriteDataIdempotently');
    expect(JSON.stringify(prices.get('OwnTables')!.Resource)).toContain('/index/pending');
    expect(JSON.stringify(prices.get('OwnTables')!.Resource)).not.toContain('index/*');
  });

  it('creates every table with its keys, on-demand billing, point-in-time recovery and TTL, kept and protected only in production', async () => {
    const tables = resources(dev.templates.state, 'AWS::DynamoDB::Table');

    expect(tables).toHaveLength(deployablePipeline.tables.length);
    for (const table of tables)
      expect(table).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    dev.templates.state.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    dev.templates.state.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'pending',
          KeySchema: [
            { AttributeName: 'pendingPartition', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
        },
      ],
    });
    dev.templates.state.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    const production = await synthesize('prod');
    production.templates.state.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });

  it('alarms on offset lag, errors, throttles, duration near the timeout, dead letters and silence for every consumer, on one dashboard', () => {
    const alarms = resources(dev.templates.consumers, 'AWS::CloudWatch::Alarm');
    const descriptions = alarms.map((alarm) => alarm.AlarmDescription as string);

    for (const consumer of deployablePipeline.consumers) {
      expect(descriptions.filter((description) => description.startsWith(`${consumer.name}:`))).toHaveLength(6);
    }
    expect(alarms.find((alarm) => alarm.AlarmDescription === 'merchant-directory: p99 duration is above 80% of the timeout')).toMatchObject(
      { Threshold: 24_000, ExtendedStatistic: 'p99' },
    );
    expect(alarms.filter((alarm) => alarm.MetricName === 'OffsetLag')).toHaveLength(deployablePipeline.consumers.length);
    dev.templates.consumers.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('alarms when records arrive at a topic of its own cluster but the consumer is never invoked, as a mapping that cannot connect is', () => {
    const notConsuming = resources(dev.templates.consumers, 'AWS::CloudWatch::Alarm').find((alarm) =>
      String(alarm.AlarmDescription).startsWith('merchant-directory: records arrive at topic merchants'),
    )!;
    const metrics = notConsuming.Metrics as Array<TemplateJson>;
    const brokers = metrics.filter((metric) => metric.MetricStat?.Metric.MetricName === 'MessagesInPerSec');

    expect(notConsuming).toMatchObject({ Threshold: 1, TreatMissingData: 'notBreaching', EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    expect(metrics.find((metric) => metric.ReturnData !== false)!.Expression).toBe('IF(activity > 0 AND FILL(invocations, 0) == 0, 1, 0)');
    expect(brokers.map((metric) => metric.MetricStat.Metric.Dimensions)).toEqual(
      [1, 2, 3].map((broker) => [
        { Name: 'Broker ID', Value: String(broker) },
        { Name: 'Cluster Name', Value: 'shop-kafka' },
        { Name: 'Topic', Value: 'merchants' },
      ]),
    );
  });

  it('alarms when a consumer of an existing cluster reports no offset lag at all: only silence breaches', () => {
    const silent = resources(existing.templates.consumers, 'AWS::CloudWatch::Alarm').find((alarm) =>
      String(alarm.AlarmDescription).startsWith('merchant-directory: the event source mapping reports no offset lag'),
    )!;

    expect(silent).toMatchObject({
      MetricName: 'OffsetLag',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: -1,
      TreatMissingData: 'breaching',
      Period: 300,
    });
  });

  it('alarms on DynamoDB throttling for every table, and on each broker’s disk of a cluster it creates', () => {
    const alarms = resources(dev.templates.consumers, 'AWS::CloudWatch::Alarm');
    const throttling = alarms.filter((alarm) => String(alarm.AlarmDescription).startsWith('table '));
    const disk = alarms.filter((alarm) => String(alarm.AlarmDescription).includes("a broker's data disk"));

    expect(throttling).toHaveLength(deployablePipeline.tables.length);
    expect(JSON.stringify(throttling[0]!.Metrics)).toContain('WriteThrottleEvents');
    expect(disk).toHaveLength(1);
    expect(disk[0]).toMatchObject({ Threshold: 80, TreatMissingData: 'breaching' });
    expect((disk[0]!.Metrics as unknown[]).filter((metric) => JSON.stringify(metric).includes('KafkaDataLogsDiskUsed'))).toHaveLength(3);
    expect(
      resources(existing.templates.consumers, 'AWS::CloudWatch::Alarm').some((alarm) =>
        String(alarm.AlarmDescription).includes('data disk'),
      ),
    ).toBe(false);
  });

  it('retries flush ticks, keeps those the scheduler gives up on in an encrypted queue, and alarms on failures, give-ups and a silent schedule', () => {
    dev.templates.consumers.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: {
        RetryPolicy: { MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^HotFlushDeadLetters'), 'Arn'] } },
      },
    });
    dev.templates.consumers.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const tickerAlarms = resources(dev.templates.consumers, 'AWS::CloudWatch::Alarm').filter((alarm) =>
      String(alarm.AlarmDescription).startsWith('hot-flush-ticker:'),
    );
    expect(tickerAlarms.map((alarm) => [alarm.MetricName, alarm.TreatMissingData]).sort()).toEqual([
      ['ApproximateNumberOfMessagesVisible', 'notBreaching'],
      ['Errors', 'notBreaching'],
      ['Invocations', 'breaching'],
    ]);
  });

  it('runs every function with active X-Ray tracing, and grants nothing on "*" but X-Ray’s actions, which have no resources', () => {
    for (const fn of resources(dev.templates.consumers, 'AWS::Lambda::Function')) expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    const onEverything = resources(dev.templates.consumers, 'AWS::IAM::Policy')
      .flatMap((policy) => policy.PolicyDocument.Statement as Array<TemplateJson>)
      .filter((statement) => statement.Resource === '*')
      .flatMap((statement) => [statement.Action].flat());
    expect(onEverything.length).toBeGreaterThan(0);
    expect([...new Set(onEverything)].sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('runs the hot-path flush ticker on an EventBridge Scheduler schedule', () => {
    dev.templates.consumers.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^HotFlushTicker'), 'Arn'] } },
    });
  });

  it('builds a VPC without NAT, with the endpoints the consumers need, or uses an existing one', () => {
    dev.templates.network.resourceCountIs('AWS::EC2::NatGateway', 0);
    const endpoints = resources(dev.templates.network, 'AWS::EC2::VPCEndpoint').map((endpoint) => JSON.stringify(endpoint.ServiceName));
    for (const service of ['.sts', '.lambda', '.kafka', '.dynamodb']) expect(endpoints.some((name) => name.includes(service))).toBe(true);
    existing.templates.network.resourceCountIs('AWS::EC2::VPC', 0);
  });
});
