import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
  type AlarmProps,
  type IAlarmAction,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { MetricType, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KafkaDlq, ManagedKafkaEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { SCHEMA_REGISTRY_VARIABLES } from '../../shared/schemas/registry-from-environment';
import { READ_RANGE_GROUP_PREFIX } from '../../shared/kafka/read-partition-range';
import { DEAD_LETTERED_METRIC } from '../../shared/observability';
import { effectiveMaximumRetryAttempts, type Consumer } from '../../shared/pipeline';
import type { MskResourceArns } from './msk-resource-arns';
import { PlatformFunction } from './platform-function';

/** The DynamoDB item actions the platform's stores use; never Scan, never table administration. */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
];

export const AWS_DEFAULT_KAFKA_BATCHING_WINDOW_MS = 500;

/** How long a consumer may be silent (while its topic receives records) before it alarms: three of these. */
export const SILENCE_PERIOD = Duration.minutes(5);

type AlarmShape = Pick<AlarmProps, 'comparisonOperator' | 'treatMissingData' | 'evaluationPeriods' | 'datapointsToAlarm'>;

export interface KafkaConsumerProps {
  readonly pipelineName: string;
  readonly consumer: Consumer;
  readonly clusterArn: string;
  readonly arns: MskResourceArns;
  /** Physical tables by declared name. */
  readonly tables: ReadonlyMap<string, ITable>;
  readonly vpc: IVpc;
  readonly vpcSubnets: SubnetSelection;
  readonly securityGroups: readonly ISecurityGroup[];
  readonly provisionedPollers: { readonly minimum: number; readonly maximum: number } | undefined;
  /** Reads its own input again outside the event source (a hot stream replaying a lost buffer): the reader's name. */
  readonly rangeReader: string | undefined;
  /** Where the function finds the schemas of Avro values by id (SCHEMA_REGISTRY_URL). */
  readonly schemaRegistryUrl: string | undefined;
  /** Read at cold start for the registry's basic auth (SCHEMA_REGISTRY_CREDENTIALS_SECRET_ARN). */
  readonly schemaRegistryCredentialsSecretArn: string | undefined;
  readonly alarmAction: IAlarmAction;
  /**
   * Records arriving at the consumer's topic (MSK's per-broker topic metrics, summed), when the cluster's brokers
   * are known: a mapping that is never invoked while this is above zero is not connected. Without it the consumer
   * alarms when its mapping reports no offset lag at all, which a connected mapping does every minute.
   */
  readonly topicActivity: IMetric | undefined;
}

/**
 * One declared consumer in AWS: its function, its MSK event source mapping
 * with the declared settings, exactly the permissions it needs, and its alarms.
 */
export class KafkaConsumer extends Construct {
  readonly function: PlatformFunction;
  readonly metrics: ConsumerMetrics;
  readonly alarms: readonly Alarm[];
  /** Whether the mapping sends records it gave up on to an on-failure destination (the consumer's dead-letter topic). */
  readonly hasOnFailureDestination: boolean;

  constructor(scope: Construct, id: string, props: KafkaConsumerProps) {
    super(scope, id);
    const { consumer } = props;
    const settings = consumer.eventSource;
    this.hasOnFailureDestination = settings.onFailure !== undefined;
    const environment: Record<string, string> = {
      ...consumer.environment,
      KAFKA_CLUSTER_ARN: props.clusterArn,
      KAFKA_AUTH: 'aws-iam',
      // Look-up only: schemas are published by a release step before the deploy, so functions need no write access.
      ...(props.schemaRegistryUrl
        ? { [SCHEMA_REGISTRY_VARIABLES.url]: props.schemaRegistryUrl, [SCHEMA_REGISTRY_VARIABLES.autoRegister]: 'false' }
        : {}),
      ...(props.schemaRegistryCredentialsSecretArn
        ? { [SCHEMA_REGISTRY_VARIABLES.credentialsSecretArn]: props.schemaRegistryCredentialsSecretArn }
        : {}),
    };
    for (const table of consumer.tables) environment[table.environmentVariable] = props.tables.get(table.name)!.tableName;

    this.function = new PlatformFunction(this, 'Function', {
      entry: consumer.handler.entry,
      exportName: consumer.handler.exportName,
      timeout: Duration.seconds(consumer.timeoutSeconds),
      memorySizeMb: consumer.memorySizeMb,
      environment,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      serviceName: consumer.name,
      metricsNamespace: props.pipelineName,
    });

    // Retry controls and partial batch responses work only with provisioned pollers: one per partition at most.
    const pollers =
      props.provisionedPollers ?? (usesRetryControls(consumer) ? { minimum: 1, maximum: consumer.topic.partitions } : undefined);
    const eventSource = new ManagedKafkaEventSource({
      clusterArn: props.clusterArn,
      topic: consumer.topic.name,
      consumerGroupId: settings.consumerGroupId,
      startingPosition: StartingPosition[settings.startingPosition],
      ...(settings.startingPositionTimestampMs !== undefined
        ? { startingPositionTimestamp: Math.floor(settings.startingPositionTimestampMs / 1000) }
        : {}),
      batchSize: settings.batchSize,
      // AWS takes whole seconds; its Kafka default, 500 ms, is what leaving it unset gives (checked at synth).
      ...(settings.maximumBatchingWindowMs === AWS_DEFAULT_KAFKA_BATCHING_WINDOW_MS
        ? {}
        : { maxBatchingWindow: Duration.seconds(settings.maximumBatchingWindowMs / 1000) }),
      ...(effectiveMaximumRetryAttempts(settings) !== -1 || pollers ? { retryAttempts: effectiveMaximumRetryAttempts(settings) } : {}),
      ...(settings.maximumRecordAgeSeconds !== -1 ? { maxRecordAge: Duration.seconds(settings.maximumRecordAgeSeconds) } : {}),
      ...(settings.bisectBatchOnFunctionError ? { bisectBatchOnError: true } : {}),
      ...(settings.reportBatchItemFailures ? { reportBatchItemFailures: true } : {}),
      ...(settings.onFailure ? { onFailure: new KafkaDlq(settings.onFailure.topic) } : {}),
      ...(pollers ? { provisionedPollerConfig: { minimumPollers: pollers.minimum, maximumPollers: pollers.maximum } } : {}),
      metricsConfig: { metrics: [MetricType.EVENT_COUNT, MetricType.ERROR_COUNT, MetricType.KAFKA_METRICS] },
    });
    this.function.addEventSource(eventSource);
    this.grantLeastPrivilege(props);

    this.metrics = consumerMetrics(this.function.functionName, eventSource.eventSourceMappingId, props.pipelineName, consumer.name);
    const timeoutMs = consumer.timeoutSeconds * 1000;
    const alarm = (name: string, metric: IMetric, threshold: number, description: string, options: Partial<AlarmShape> = {}) => {
      const created = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Counts and latencies: no data means nothing happened. The alarms below that must notice silence say so.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...options,
        alarmDescription: `${consumer.name}: ${description}`,
      });
      created.addAlarmAction(props.alarmAction);
      return created;
    };
    const neverConsumes = props.topicActivity
      ? alarm(
          'NotConsuming',
          new MathExpression({
            expression: 'IF(activity > 0 AND FILL(invocations, 0) == 0, 1, 0)',
            usingMetrics: { activity: props.topicActivity, invocations: this.metrics.invocations.with({ period: SILENCE_PERIOD }) },
            period: SILENCE_PERIOD,
            label: 'Records arrive, no invocation',
          }),
          1,
          `records arrive at topic ${consumer.topic.name} but the function is never invoked: check the event source mapping's state (a mapping that cannot reach the brokers, STS or Lambda says "PROBLEM: Connection error")`,
          { evaluationPeriods: 3, datapointsToAlarm: 3 },
        )
      : alarm(
          'NotConsuming',
          this.metrics.offsetLag.with({ period: SILENCE_PERIOD }),
          -1,
          `the event source mapping reports no offset lag: it is not polling ${consumer.topic.name} (check its state; "PROBLEM: Connection error" means the pollers cannot reach the brokers, STS or Lambda)`,
          // Only silence breaches: no real lag is below -1.
          {
            comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
            treatMissingData: TreatMissingData.BREACHING,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
          },
        );
    this.alarms = [
      alarm('OffsetLag', this.metrics.offsetLag, 10_000, 'the consumer is falling behind its topic'),
      alarm('Errors', this.metrics.errors, 1, 'invocations fail (the event source retries them)'),
      alarm('Throttles', this.metrics.throttles, 1, 'invocations are throttled'),
      alarm('DurationNearTimeout', this.metrics.durationP99, Math.round(timeoutMs * 0.8), 'p99 duration is above 80% of the timeout'),
      alarm('DeadLettered', this.metrics.deadLettered, 1, 'records were dead-lettered (by the event source or the handler)'),
      neverConsumes,
    ];
  }

  private grantLeastPrivilege(props: KafkaConsumerProps): void {
    const { consumer, arns } = props;
    const role = this.function.role!;
    const groups = [arns.group(consumer.eventSource.consumerGroupId)];
    const written = [
      ...new Set([
        ...consumer.produces.map((topic) => topic.name),
        ...(consumer.eventSource.onFailure ? [consumer.eventSource.onFailure.topic] : []),
      ]),
    ];
    // Every function produces idempotently (orderedProducer): MSK IAM wants that granted on the cluster.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ConnectToCluster',
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration', 'kafka-cluster:WriteDataIdempotently'],
        resources: [props.clusterArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadInput',
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: [arns.topic(consumer.topic.name)],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'OwnConsumerGroup',
        actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
        resources: groups,
      }),
    );
    if (props.rangeReader !== undefined) {
      // Throwaway groups that never commit, deleted after each read.
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'ReplayGroups',
          actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup', 'kafka-cluster:DeleteGroup'],
          resources: [arns.group(`${READ_RANGE_GROUP_PREFIX}${props.rangeReader}.*`)],
        }),
      );
    }
    if (written.length > 0) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'WriteOutputs',
          actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
          resources: written.map((topic) => arns.topic(topic)),
        }),
      );
    }
    if (props.schemaRegistryCredentialsSecretArn) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'ReadSchemaRegistryCredentials',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.schemaRegistryCredentialsSecretArn],
        }),
      );
    }
    if (consumer.tables.length > 0) {
      const resources = consumer.tables.flatMap((declared) => {
        const table = props.tables.get(declared.name)!;
        return [table.tableArn, ...(declared.globalIndexes ?? []).map((index) => `${table.tableArn}/index/${index.name}`)];
      });
      role.addToPrincipalPolicy(new PolicyStatement({ sid: 'OwnTables', actions: TABLE_ACTIONS, resources }));
    }
  }
}

/** Whether a consumer's settings need provisioned pollers (retry controls, partial batch responses). */
export function usesRetryControls(consumer: Consumer): boolean {
  const settings = consumer.eventSource;
  return (
    effectiveMaximumRetryAttempts(settings) !== -1 ||
    settings.maximumRecordAgeSeconds !== -1 ||
    settings.bisectBatchOnFunctionError ||
    settings.reportBatchItemFailures
  );
}

export interface ConsumerMetrics {
  readonly offsetLag: Metric;
  readonly errors: Metric;
  readonly throttles: Metric;
  readonly durationP99: Metric;
  /** Dead-lettered by the event source (on-failure destination) plus by the handler itself. */
  readonly deadLettered: MathExpression;
  readonly invocations: Metric;
}

function consumerMetrics(functionName: string, eventSourceMappingId: string, namespace: string, consumerName: string): ConsumerMetrics {
  const lambda = (metricName: string, statistic: string) =>
    new Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { FunctionName: functionName },
      statistic,
      period: Duration.minutes(1),
    });
  const byEventSource = new Metric({
    namespace: 'AWS/Lambda',
    metricName: 'OnFailureDestinationDeliveredEventCount',
    dimensionsMap: { EventSourceMappingUUID: eventSourceMappingId },
    statistic: 'Sum',
    period: Duration.minutes(1),
  });
  const byHandler = new Metric({
    namespace,
    metricName: DEAD_LETTERED_METRIC,
    dimensionsMap: { service: consumerName },
    statistic: 'Sum',
    period: Duration.minutes(1),
  });
  return {
    offsetLag: lambda('OffsetLag', 'Maximum'),
    errors: lambda('Errors', 'Sum'),
    throttles: lambda('Throttles', 'Sum'),
    durationP99: lambda('Duration', 'p99'),
    invocations: lambda('Invocations', 'Sum'),
    deadLettered: new MathExpression({
      expression: 'FILL(bySource, 0) + FILL(byHandler, 0)',
      usingMetrics: { bySource: byEventSource, byHandler },
      label: 'Dead-lettered records',
      period: Duration.minutes(1),
    }),
  };
}
