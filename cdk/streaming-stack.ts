import { Stack, type StackProps } from 'aws-cdk-lib';
import { Peer, Port, SecurityGroup, type ISecurityGroup, type IVpc, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnCluster, CfnTopic } from 'aws-cdk-lib/aws-msk';
import type { Construct } from 'constructs';
import type { Pipeline, Topic } from '../shared/pipeline';
import type { KafkaClusterConfig } from './config';
import { MskResourceArns } from './constructs/msk-resource-arns';

export interface StreamingStackProps extends StackProps {
  readonly pipeline: Pipeline;
  readonly kafka: KafkaClusterConfig;
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  /** The functions' group, let in to the brokers. */
  readonly functionSecurityGroup: ISecurityGroup;
}

/** MSK's IAM-authenticated TLS listener. */
export const MSK_IAM_PORT = 9098;

/**
 * The Kafka cluster and the pipeline's topics. A new cluster is MSK
 * Provisioned in KRaft mode with IAM client authentication only, TLS between
 * clients and brokers and inside the cluster, a customer-managed key at rest
 * and broker logs in CloudWatch; or an existing cluster, by ARN. Every
 * declared topic is an `AWS::MSK::Topic` with the configuration the local
 * broker also gets (compaction for entity topics, retention), dead-letter
 * topics included.
 */
export class StreamingStack extends Stack {
  readonly clusterArn: string;
  readonly arns: MskResourceArns;

  constructor(scope: Construct, id: string, props: StreamingStackProps) {
    super(scope, id, props);
    const { kafka, vpc } = props;
    const clients = Peer.securityGroupId(props.functionSecurityGroup.securityGroupId);

    if (kafka.mode === 'existing') {
      this.clusterArn = kafka.clusterArn;
      const clusterGroup = SecurityGroup.fromSecurityGroupId(this, 'ClusterGroup', kafka.securityGroupId, { mutable: true });
      clusterGroup.addIngressRule(clients, Port.tcp(MSK_IAM_PORT), 'Kafka over IAM/TLS from the functions');
    } else {
      const clusterGroup = new SecurityGroup(this, 'ClusterGroup', { vpc, description: 'MSK brokers', allowAllOutbound: false });
      clusterGroup.addIngressRule(clients, Port.tcp(MSK_IAM_PORT), 'Kafka over IAM/TLS from the functions');
      const key = new Key(this, 'DataKey', { description: 'MSK data at rest', enableKeyRotation: true });
      const brokerLogs = new LogGroup(this, 'BrokerLogs', { retention: RetentionDays.ONE_MONTH });
      const cluster = new CfnCluster(this, 'Cluster', {
        clusterName: `${props.pipeline.name}-kafka`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64),
        kafkaVersion: kafka.kafkaVersion,
        numberOfBrokerNodes: kafka.brokerNodes,
        brokerNodeGroupInfo: {
          instanceType: kafka.instanceType,
          clientSubnets: vpc.selectSubnets(props.privateSubnets).subnetIds,
          securityGroups: [clusterGroup.securityGroupId],
          storageInfo: { ebsStorageInfo: { volumeSize: kafka.volumeSizeGiB } },
        },
        clientAuthentication: { sasl: { iam: { enabled: true } }, unauthenticated: { enabled: false } },
        encryptionInfo: {
          encryptionAtRest: { dataVolumeKmsKeyId: key.keyArn },
          encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
        },
        loggingInfo: { brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: brokerLogs.logGroupName } } },
        enhancedMonitoring: 'PER_TOPIC_PER_PARTITION',
      });
      this.clusterArn = cluster.attrArn;
    }
    this.arns = new MskResourceArns(this.clusterArn);

    for (const topic of props.pipeline.topics) {
      new CfnTopic(this, `Topic-${topic.name}`, {
        clusterArn: this.clusterArn,
        topicName: topic.name,
        partitionCount: topic.partitions,
        replicationFactor: topic.replicationFactor,
        configs: encodeTopicConfigs(topic),
      });
    }
  }
}

/** `AWS::MSK::Topic` takes topic configuration as Base64-encoded JSON of Kafka config names to values. */
export function encodeTopicConfigs(topic: Topic): string {
  return Buffer.from(JSON.stringify(topic.config)).toString('base64');
}
