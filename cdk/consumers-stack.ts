import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IAlarmAction,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Topic as SnsTopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import type { Pipeline } from '../shared/pipeline';
import type { DeploymentConfig } from './config';
import { brokerDiskUsedPercent, topicMessagesIn, type KnownCluster } from './constructs/cluster-metrics';
import { KafkaConsumer, SILENCE_PERIOD } from './constructs/kafka-consumer';
import type { MskResourceArns } from './constructs/msk-resource-arns';
import { PlatformFunction } from './constructs/platform-function';

export interface ConsumersStackProps extends StackProps {
  readonly pipeline: Pipeline;
  readonly config: DeploymentConfig;
  readonly clusterArn: string;
  /** A cluster this app creates: its brokers' metrics are alarmed on (an existing cluster's owners watch its disks). */
  readonly knownCluster: KnownCluster | undefined;
  readonly arns: MskResourceArns;
  readonly tables: ReadonlyMap<string, ITable>;
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  readonly functionSecurityGroup: ISecurityGroup;
}

/** Where the hot-path flush ticker's handler lives. */
export const FLUSH_TICKER_ENTRY = join(__dirname, '..', 'functions', 'hot-flush-ticker', 'handler.ts');

/**
 * Every consumer of the pipeline as a Lambda function on an MSK event source
 * mapping (see {@link KafkaConsumer}), the hot path's flush ticker on an
 * EventBridge Scheduler schedule, alarms to an SNS topic and one dashboard.
 */
export class ConsumersStack extends Stack {
  readonly consumers: ReadonlyMap<string, KafkaConsumer>;
  readonly flushTicker: PlatformFunction | undefined;
  /** Where the scheduler puts flush ticks it gave up on. */
  flushTickDeadLetters: Queue | undefined;
  /** Notifies the alarm topic; the CDC stack's alarms use it too. */
  readonly alarmAction: IAlarmAction;

  constructor(scope: Construct, id: string, props: ConsumersStackProps) {
    super(scope, id, props);
    const { pipeline, config } = props;
    const alarmKey = new Key(this, 'AlarmTopicKey', { description: 'Alarm notifications', enableKeyRotation: true });
    const alarmTopic = new SnsTopic(this, 'Alarms', { displayName: `${pipeline.name} alarms`, masterKey: alarmKey, enforceSSL: true });
    // CloudWatch alarms publish to the encrypted topic.
    alarmKey.grantEncryptDecrypt(new ServicePrincipal('cloudwatch.amazonaws.com'));
    if (config.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));
    const alarmAction = new SnsAction(alarmTopic);
    this.alarmAction = alarmAction;

    const hotStreamOf = new Map(pipeline.hotStreams.map((hot) => [hot.consumer.name, hot.stream.name]));
    const consumers = new Map<string, KafkaConsumer>();
    for (const consumer of pipeline.consumers) {
      consumers.set(
        consumer.name,
        new KafkaConsumer(this, `Consumer-${consumer.name}`, {
          pipelineName: pipeline.name,
          consumer,
          clusterArn: props.clusterArn,
          arns: props.arns,
          tables: props.tables,
          vpc: props.vpc,
          vpcSubnets: props.privateSubnets,
          securityGroups: [props.functionSecurityGroup],
          provisionedPollers: config.provisionedPollers[consumer.name],
          rangeReader: hotStreamOf.get(consumer.name),
          schemaRegistryUrl: config.schemaRegistryUrl,
          schemaRegistryCredentialsSecretArn: config.schemaRegistryCredentialsSecretArn,
          alarmAction,
          topicActivity: topicMessagesIn(props.knownCluster, consumer.topic.name, SILENCE_PERIOD),
        }),
      );
    }
    this.consumers = consumers;
    this.flushTicker = pipeline.hotStreams.length > 0 ? this.flushTickerFor(props, alarmAction) : undefined;
    this.tableThrottleAlarms(props, alarmAction);
    if (props.knownCluster) this.brokerDiskAlarms(props.knownCluster, alarmAction);

    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${pipeline.name}-consumers`.replace(/[^A-Za-z0-9_-]/g, '-') });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${pipeline.name}: consumers\nOffset lag, errors, throttles, p99 duration and dead-lettered records per consumer.`,
        width: 24,
        height: 2,
      }),
    );
    for (const [name, consumer] of consumers) {
      const { metrics } = consumer;
      dashboard.addWidgets(
        new GraphWidget({ title: `${name}: offset lag`, left: [metrics.offsetLag], width: 6 }),
        new GraphWidget({
          title: `${name}: invocations, errors, throttles`,
          left: [metrics.invocations, metrics.errors, metrics.throttles],
          width: 6,
        }),
        new GraphWidget({ title: `${name}: p99 duration (ms)`, left: [metrics.durationP99], width: 6 }),
        new GraphWidget({ title: `${name}: dead-lettered`, left: [metrics.deadLettered], width: 6 }),
      );
    }
  }

  /** Construct paths of the policies CDK creates for the scheduler's role(s). */
  schedulerRolePolicyPaths(): string[] {
    return this.node
      .findAll()
      .filter((construct) => /\/SchedulerRoleForTarget-[^/]+\/DefaultPolicy\/Resource$/.test(construct.node.path))
      .map((construct) => `/${construct.node.path}`);
  }

  /** Any throttled read or write on a table, in two of three minutes (the SDK retries them, but the pipeline slows). */
  private tableThrottleAlarms(props: ConsumersStackProps, alarmAction: IAlarmAction): void {
    for (const [declaredName, table] of props.tables) {
      const throttled = (metricName: string) =>
        new Metric({
          namespace: 'AWS/DynamoDB',
          metricName,
          dimensionsMap: { TableName: table.tableName },
          statistic: 'Sum',
          period: Duration.minutes(1),
        });
      const alarm = new Alarm(this, `Throttled-${declaredName}`, {
        metric: new MathExpression({
          expression: 'FILL(reads, 0) + FILL(writes, 0)',
          usingMetrics: { reads: throttled('ReadThrottleEvents'), writes: throttled('WriteThrottleEvents') },
          period: Duration.minutes(1),
          label: `${declaredName}: throttled requests`,
        }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `table ${declaredName}: DynamoDB throttles reads or writes (a hot partition key, or the table's on-demand throughput limit)`,
      });
      alarm.addAlarmAction(alarmAction);
    }
  }

  /** A broker's data disk above 80%: MSK stops accepting writes when it is full. */
  private brokerDiskAlarms(cluster: KnownCluster, alarmAction: IAlarmAction): void {
    brokerDiskUsedPercent(cluster).forEach((metric: IMetric, index) => {
      const alarm = new Alarm(this, `BrokerDisk${index + 1}`, {
        metric,
        threshold: 80,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // A broker that reports nothing for 10 minutes is as worrying as a full one.
        treatMissingData: TreatMissingData.BREACHING,
        alarmDescription: `cluster ${cluster.name}: a broker's data disk is over 80% full, or reports nothing (raise volumeSizeGiB or shorten retention)`,
      });
      alarm.addAlarmAction(alarmAction);
    });
  }

  /**
   * Sends every hot input partition a flush tick on a schedule (see functions/hot-flush-ticker). A tick is
   * idempotent (a second one flushes nothing new), so the scheduler retries; a tick it gives up on lands in an
   * encrypted queue, and failures, give-ups and a schedule that stops invoking all alarm.
   */
  private flushTickerFor(props: ConsumersStackProps, alarmAction: IAlarmAction): PlatformFunction {
    const inputTopics = props.pipeline.hotStreams.map((hot) => hot.stream.inputTopic);
    // Ticks the scheduler could not deliver, and ticks whose asynchronous invocation failed every retry.
    const givenUp = new Queue(this, 'HotFlushDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.flushTickDeadLetters = givenUp;
    const ticker = new PlatformFunction(this, 'HotFlushTicker', {
      asyncDeadLetterQueue: givenUp,
      entry: FLUSH_TICKER_ENTRY,
      timeout: Duration.seconds(30),
      memorySizeMb: 256,
      environment: { HOT_FLUSH_TOPICS: inputTopics.join(','), KAFKA_CLUSTER_ARN: props.clusterArn, KAFKA_AUTH: 'aws-iam' },
      vpc: props.vpc,
      vpcSubnets: props.privateSubnets,
      securityGroups: [props.functionSecurityGroup],
      serviceName: 'hot-flush-ticker',
      metricsNamespace: props.pipeline.name,
    });
    ticker.addToRolePolicy(
      new PolicyStatement({
        sid: 'ConnectToCluster',
        actions: ['kafka-cluster:Connect', 'kafka-cluster:WriteDataIdempotently'],
        resources: [props.clusterArn],
      }),
    );
    ticker.addToRolePolicy(
      new PolicyStatement({
        sid: 'TickHotInputs',
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: inputTopics.map((topic) => props.arns.topic(topic)),
      }),
    );
    ticker.addToRolePolicy(
      new PolicyStatement({ sid: 'FindBrokers', actions: ['kafka:GetBootstrapBrokers'], resources: [props.clusterArn] }),
    );
    const tickMinutes = props.config.flushTickMinutes;
    new Schedule(this, 'HotFlushSchedule', {
      description: `Flush ticks for ${inputTopics.join(', ')}`,
      schedule: ScheduleExpression.rate(Duration.minutes(tickMinutes)),
      // A late tick is still useful until the next one is due.
      target: new LambdaInvoke(ticker, {
        retryAttempts: 2,
        maxEventAge: Duration.minutes(Math.max(1, tickMinutes)),
        deadLetterQueue: givenUp,
      }),
    });
    const tickerMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: { FunctionName: ticker.functionName },
        statistic: 'Sum',
        period: Duration.minutes(Math.max(5, tickMinutes)),
      });
    const alarms: Array<[string, IMetric, number, ComparisonOperator, TreatMissingData, string]> = [
      [
        'HotFlushErrors',
        tickerMetric('Errors'),
        1,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        TreatMissingData.NOT_BREACHING,
        'flush ticks fail: hot buffers flush only when traffic arrives',
      ],
      [
        'HotFlushNotInvoked',
        tickerMetric('Invocations'),
        1,
        ComparisonOperator.LESS_THAN_THRESHOLD,
        TreatMissingData.BREACHING,
        'the flush schedule invokes nothing: hot buffers flush only when traffic arrives',
      ],
      [
        'HotFlushGivenUp',
        givenUp.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        1,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        TreatMissingData.NOT_BREACHING,
        'flush ticks were given up on, by the scheduler or after the function failed every retry (see the HotFlushDeadLetters queue)',
      ],
    ];
    for (const [id, metric, threshold, comparisonOperator, treatMissingData, description] of alarms) {
      new Alarm(this, id, {
        metric,
        threshold,
        comparisonOperator,
        treatMissingData,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        alarmDescription: `hot-flush-ticker: ${description}`,
      }).addAlarmAction(alarmAction);
    }
    return ticker;
  }
}
