import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Topic as SnsTopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import type { Pipeline } from '../shared/pipeline';
import type { DeploymentConfig } from './config';
import { KafkaConsumer } from './constructs/kafka-consumer';
import type { MskResourceArns } from './constructs/msk-resource-arns';
import { PlatformFunction } from './constructs/platform-function';

export interface ConsumersStackProps extends StackProps {
  readonly pipeline: Pipeline;
  readonly config: DeploymentConfig;
  readonly clusterArn: string;
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

  constructor(scope: Construct, id: string, props: ConsumersStackProps) {
    super(scope, id, props);
    const { pipeline, config } = props;
    const alarmKey = new Key(this, 'AlarmTopicKey', { description: 'Alarm notifications', enableKeyRotation: true });
    const alarmTopic = new SnsTopic(this, 'Alarms', { displayName: `${pipeline.name} alarms`, masterKey: alarmKey, enforceSSL: true });
    // CloudWatch alarms publish to the encrypted topic.
    alarmKey.grantEncryptDecrypt(new ServicePrincipal('cloudwatch.amazonaws.com'));
    if (config.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));
    const alarmAction = new SnsAction(alarmTopic);

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
        }),
      );
    }
    this.consumers = consumers;
    this.flushTicker = pipeline.hotStreams.length > 0 ? this.flushTickerFor(props) : undefined;

    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${pipeline.name}-consumers`.replace(/[^A-Za-z0-9_-]/g, '-') });
    dashboard.addWidgets(new TextWidget({ markdown: `# ${pipeline.name}: consumers\nOffset lag, errors, throttles, p99 duration and dead-lettered records per consumer.`, width: 24, height: 2 }));
    for (const [name, consumer] of consumers) {
      const { metrics } = consumer;
      dashboard.addWidgets(
        new GraphWidget({ title: `${name}: offset lag`, left: [metrics.offsetLag], width: 6 }),
        new GraphWidget({ title: `${name}: invocations, errors, throttles`, left: [metrics.invocations, metrics.errors, metrics.throttles], width: 6 }),
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

  /** Sends every hot input partition a flush tick on a schedule (see functions/hot-flush-ticker). */
  private flushTickerFor(props: ConsumersStackProps): PlatformFunction {
    const inputTopics = props.pipeline.hotStreams.map((hot) => hot.stream.inputTopic);
    const ticker = new PlatformFunction(this, 'HotFlushTicker', {
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
      new PolicyStatement({ sid: 'ConnectToCluster', actions: ['kafka-cluster:Connect', 'kafka-cluster:WriteDataIdempotently'], resources: [props.clusterArn] }),
    );
    ticker.addToRolePolicy(
      new PolicyStatement({ sid: 'TickHotInputs', actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], resources: inputTopics.map((topic) => props.arns.topic(topic)) }),
    );
    ticker.addToRolePolicy(new PolicyStatement({ sid: 'FindBrokers', actions: ['kafka:GetBootstrapBrokers'], resources: [props.clusterArn] }));
    new Schedule(this, 'HotFlushSchedule', {
      description: `Flush ticks for ${inputTopics.join(', ')}`,
      schedule: ScheduleExpression.rate(Duration.minutes(props.config.flushTickMinutes)),
      target: new LambdaInvoke(ticker, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
    });
    return ticker;
  }
}
