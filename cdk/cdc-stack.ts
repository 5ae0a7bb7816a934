import { Stack, type StackProps } from 'aws-cdk-lib';
import type { IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import type { Construct, IConstruct } from 'constructs';
import type { Pipeline } from '../shared/pipeline';
import type { CdcSourceConfig } from './config';
import { CdcConnector } from './constructs/cdc-connector';
import { DebeziumPlugin } from './constructs/debezium-plugin-asset';
import type { MskResourceArns } from './constructs/msk-resource-arns';
import { connectorNameOf } from './deployed-outputs';

export interface CdcStackProps extends StackProps {
  readonly pipeline: Pipeline;
  /** The deployment environment's name: MSK Connect's names are per account and region, so they carry it. */
  readonly environment: string;
  /** Every declared source's database (platform.ts checks that the two agree). */
  readonly databases: Readonly<Record<string, CdcSourceConfig>>;
  /** The resolved Debezium plugin jars (resolveDebeziumPlugin). */
  readonly pluginDirectory: string;
  readonly clusterArn: string;
  readonly arns: MskResourceArns;
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  readonly connectorSecurityGroups: ReadonlyMap<string, ISecurityGroup>;
  readonly alarmAction: IAlarmAction;
}

/**
 * Change data capture in MSK Connect: one custom plugin (Debezium's PostgreSQL connector, the jars the local
 * worker loads) and one connector per declared source ({@link CdcConnector}). The mapping consumers that turn
 * the change topics into entity streams are ordinary consumers of the consumers stack.
 */
export class CdcStack extends Stack {
  readonly plugin: DebeziumPlugin;
  readonly connectors: ReadonlyMap<string, CdcConnector>;
  /** Looks the cluster's IAM bootstrap brokers up at deploy time (MSK's CloudFormation resource does not return them). */
  readonly bootstrapBrokers: AwsCustomResource;

  constructor(scope: Construct, id: string, props: CdcStackProps) {
    super(scope, id, props);
    const { pipeline } = props;
    this.plugin = new DebeziumPlugin(this, 'DebeziumPlugin', {
      directory: props.pluginDirectory,
      namePrefix: `${pipeline.name}-${props.environment}`,
    });
    this.bootstrapBrokers = new AwsCustomResource(this, 'BootstrapBrokers', {
      onUpdate: {
        service: 'Kafka',
        action: 'getBootstrapBrokers',
        parameters: { ClusterArn: props.clusterArn },
        physicalResourceId: PhysicalResourceId.of(props.clusterArn),
        outputPaths: ['BootstrapBrokerStringSaslIam'],
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [props.clusterArn] }),
      logGroup: new LogGroup(this, 'BootstrapBrokersLogs', { retention: RetentionDays.ONE_MONTH }),
      installLatestAwsSdk: false,
    });
    const bootstrapServers = this.bootstrapBrokers.getResponseField('BootstrapBrokerStringSaslIam');
    const subnetIds = props.vpc.selectSubnets(props.privateSubnets).subnetIds;

    const connectors = new Map<string, CdcConnector>();
    for (const source of pipeline.cdcSources) {
      const name = source.source.name;
      connectors.set(
        name,
        new CdcConnector(this, `Connector-${name}`, {
          connectorName: connectorNameOf(pipeline.name, props.environment, name),
          source,
          database: props.databases[name]!,
          plugin: this.plugin,
          clusterArn: props.clusterArn,
          arns: props.arns,
          bootstrapServers,
          subnetIds,
          securityGroup: props.connectorSecurityGroups.get(name)!,
          alarmAction: props.alarmAction,
        }),
      );
    }
    this.connectors = connectors;
  }

  /** The Lambda function (one per stack) behind {@link bootstrapBrokers}, for its cdk-nag acknowledgements. */
  bootstrapBrokersFunction(): IConstruct {
    return this.node.findChild(`AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
  }
}
