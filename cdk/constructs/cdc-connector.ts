import { Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnConnector, CfnWorkerConfiguration } from 'aws-cdk-lib/aws-kafkaconnect';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { debeziumConnectorConfig } from '../../shared/cdc/connector-config';
import type { CdcSourceDeployment } from '../../shared/pipeline';
import type { CdcSourceConfig } from '../config';
import type { DebeziumPlugin } from './debezium-plugin-asset';
import type { MskResourceArns } from './msk-resource-arns';

/** The newest Kafka Connect MSK Connect runs (its workers run Java 17 there; see cdk/README.md). */
export const MSK_CONNECT_VERSION = '3.7.x';

/**
 * The worker settings, in the only keys MSK Connect lets a worker configuration set: the same JSON converters
 * without schema envelopes as the local worker (shared/local/connect), so the mapping consumer reads the same
 * records in both places, and an offsets topic named after the connector, so a connector created again under
 * the same name resumes from its offsets instead of taking a new snapshot.
 */
export function workerProperties(connectorName: string): string {
  return `${[
    'key.converter=org.apache.kafka.connect.json.JsonConverter',
    'value.converter=org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable=false',
    'value.converter.schemas.enable=false',
    `offset.storage.topic=${workerTopicPrefix(connectorName, 'offsets')}kept`,
    // Bounds what a restarted worker sends again (the mapping drops repeats by position).
    'offset.flush.interval.ms=10000',
  ].join('\n')}\n`;
}

/**
 * MSK Connect names a connector's internal topics `__amazon_msk_connect_<configs|offsets|status>_<connector>_<id>`;
 * the custom offsets topic above shares that shape, so one pattern per connector covers all three.
 */
function workerTopicPrefix(connectorName: string, kind: 'configs' | 'offsets' | 'status' | '*'): string {
  return `__amazon_msk_connect_${kind}_${connectorName}_`;
}

/** Debezium's heartbeat topic for a source (`topic.heartbeat.prefix` `__debezium-heartbeat`, then the topic prefix). */
export function heartbeatTopic(sourceName: string): string {
  return `__debezium-heartbeat.${sourceName}`;
}

export interface CdcConnectorProps {
  /** Stable across deployments: offsets, the slot and the internal topics are found again by it. */
  readonly connectorName: string;
  readonly source: CdcSourceDeployment;
  readonly database: CdcSourceConfig;
  readonly plugin: DebeziumPlugin;
  readonly clusterArn: string;
  readonly arns: MskResourceArns;
  /** The cluster's bootstrap brokers for IAM authentication (port 9098). */
  readonly bootstrapServers: string;
  readonly subnetIds: readonly string[];
  /** The connector's own group (NetworkStack admits it to the brokers and the database). */
  readonly securityGroup: ISecurityGroup;
  readonly alarmAction: IAlarmAction;
}

/**
 * One CDC source in MSK Connect: Debezium's PostgreSQL connector with the configuration the local worker
 * gets ({@link debeziumConnectorConfig}), on one provisioned worker (the connector runs one task), IAM
 * authentication and TLS to the cluster, the VPC's private subnets, worker logs in a log group of its own, a
 * service execution role that may touch only this source's topics, and alarms on its task.
 *
 * The database login comes from the source's secret as CloudFormation dynamic references, resolved at deploy
 * time: the template holds no password, but the connector's stored configuration does (see cdk/README.md).
 */
export class CdcConnector extends Construct {
  readonly connector: CfnConnector;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: CdcConnectorProps) {
    super(scope, id);
    const { connectorName, source, database } = props;
    const properties = workerProperties(connectorName);
    const workerConfiguration = new CfnWorkerConfiguration(this, 'WorkerConfiguration', {
      // Changed content means a new worker configuration: the name carries its hash, so the two never collide.
      name: `${connectorName}-${createHash('sha256').update(properties).digest('hex').slice(0, 8)}`,
      description: `Kafka Connect worker settings of CDC source ${source.source.name}`,
      propertiesFileContent: Buffer.from(properties).toString('base64'),
    });
    this.logGroup = new LogGroup(this, 'WorkerLogs', { retention: RetentionDays.ONE_MONTH });
    this.role = this.serviceExecutionRole(props);

    const login = (jsonField: 'username' | 'password') => SecretValue.secretsManager(database.secretArn, { jsonField }).unsafeUnwrap();
    this.connector = new CfnConnector(this, 'Connector', {
      connectorName,
      connectorDescription: `Debezium PostgreSQL: ${source.mappings.map(({ mapping }) => mapping.table).join(', ')} of database ${source.source.database}`,
      kafkaConnectVersion: MSK_CONNECT_VERSION,
      connectorConfiguration: debeziumConnectorConfig(
        source.source,
        source.mappings.map(({ mapping }) => mapping),
        { hostname: database.hostname, port: database.port, user: login('username'), password: login('password') },
        // Exactly-once source support is a worker setting MSK Connect is not documented to accept: the
        // mapping consumer drops repeated changes by their position instead.
        { exactlyOnce: false, replicationFactor: Math.max(...source.mappings.map(({ changeTopic }) => changeTopic.replicationFactor)) },
      ),
      kafkaCluster: {
        apacheKafkaCluster: {
          bootstrapServers: props.bootstrapServers,
          vpc: { subnets: [...props.subnetIds], securityGroups: [props.securityGroup.securityGroupId] },
        },
      },
      kafkaClusterClientAuthentication: { authenticationType: 'IAM' },
      kafkaClusterEncryptionInTransit: { encryptionType: 'TLS' },
      capacity: { provisionedCapacity: { workerCount: 1, mcuCount: database.mcuCount } },
      plugins: [{ customPlugin: { customPluginArn: props.plugin.plugin.attrCustomPluginArn, revision: props.plugin.plugin.attrRevision } }],
      workerConfiguration: {
        workerConfigurationArn: workerConfiguration.attrWorkerConfigurationArn,
        revision: workerConfiguration.attrRevision,
      },
      serviceExecutionRoleArn: this.role.roleArn,
      logDelivery: { workerLogDelivery: { cloudWatchLogs: { enabled: true, logGroup: this.logGroup.logGroupName } } },
    });
    // The role's policy must exist before the workers start, or their first connection is refused.
    this.connector.node.addDependency(this.role);
    this.alarms = this.taskAlarms(connectorName, props.alarmAction);
  }

  /**
   * Only what this connector's workers do on the cluster: connect; write (and describe) the change topics of
   * its tables, which the pipeline creates; create and write its heartbeat topic; keep its internal topics and
   * join its worker group. No Secrets Manager or logs permission: CloudFormation resolves the login at deploy
   * time, and MSK Connect delivers worker logs itself.
   */
  private serviceExecutionRole(props: CdcConnectorProps): Role {
    const { arns, connectorName } = props;
    const stack = Stack.of(this);
    const role = new Role(this, 'ServiceExecutionRole', {
      description: `MSK Connect connector ${connectorName}`,
      // Only MSK Connect, for this account's connector of this name (the confused-deputy conditions AWS documents).
      assumedBy: new ServicePrincipal('kafkaconnect.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:kafkaconnect:${stack.region}:${stack.account}:connector/${connectorName}/*` },
        },
      }),
    });
    const statements = [
      new PolicyStatement({
        sid: 'ConnectToCluster',
        // Kafka 3.x producers are idempotent by default, which MSK IAM grants on the cluster.
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:WriteDataIdempotently'],
        resources: [props.clusterArn],
      }),
      new PolicyStatement({
        sid: 'WriteChangeTopics',
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: props.source.mappings.map(({ changeTopic }) => arns.topic(changeTopic.name)),
      }),
      new PolicyStatement({
        sid: 'HeartbeatTopic',
        actions: ['kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: [arns.topic(heartbeatTopic(props.source.source.name))],
      }),
      new PolicyStatement({
        sid: 'WorkerInternalTopics',
        actions: [
          'kafka-cluster:CreateTopic',
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
          'kafka-cluster:ReadData',
          'kafka-cluster:WriteData',
        ],
        resources: [arns.topic(`${workerTopicPrefix(connectorName, '*')}*`)],
      }),
      new PolicyStatement({
        sid: 'WorkerGroup',
        // MSK Connect's documented group names; it does not document the worker group's exact name.
        actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
        resources: [arns.group('__amazon_msk_connect_*'), arns.group(`connect-${connectorName}`)],
      }),
    ];
    for (const statement of statements) role.addToPrincipalPolicy(statement);
    return role;
  }

  /**
   * MSK Connect publishes `RunningTaskCount` and `ErroredTaskCount` per connector (namespace AWS/KafkaConnect).
   * A source connector whose one task is not running captures nothing while the slot keeps the WAL growing.
   */
  private taskAlarms(connectorName: string, alarmAction: IAlarmAction): Alarm[] {
    const metric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'AWS/KafkaConnect',
        metricName,
        dimensionsMap: { ConnectorName: connectorName },
        statistic,
        period: Duration.minutes(5),
      });
    const alarms = [
      new Alarm(this, 'TaskNotRunning', {
        metric: metric('RunningTaskCount', 'Minimum'),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        // A connector that reports nothing captures nothing either.
        treatMissingData: TreatMissingData.BREACHING,
        alarmDescription: `${connectorName}: the connector's task is not running (or reports nothing): changes are not captured and the replication slot holds WAL`,
      }),
      new Alarm(this, 'TaskErrored', {
        metric: metric('ErroredTaskCount', 'Maximum'),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${connectorName}: the connector's task failed; see its worker logs`,
      }),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(alarmAction);
    return alarms;
  }
}
