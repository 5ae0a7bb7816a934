import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnCluster, CfnTopic } from 'aws-cdk-lib/aws-msk';
import type { Construct } from 'constructs';
import type { Pipeline, Topic } from '../shared/pipeline';
import type { KafkaClusterConfig } from './config';
import type { KnownCluster } from './constructs/cluster-metrics';
import { MskResourceArns } from './constructs/msk-resource-arns';
import { DEPLOYED_OUTPUTS } from './deployed-outputs';

export interface StreamingStackProps extends StackProps {
  readonly pipeline: Pipeline;
  readonly kafka: KafkaClusterConfig;
  readonly vpc: IVpc;
  readonly privateSubnets: SubnetSelection;
  /** The brokers' group, with its rules (NetworkStack); ignored for an existing cluster, which has its own. */
  readonly clusterSecurityGroup: ISecurityGroup;
}

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
  /** The cluster this stack creates, by name and broker count, for broker metrics; undefined for an existing cluster. */
  readonly knownCluster: KnownCluster | undefined;

  constructor(scope: Construct, id: string, props: StreamingStackProps) {
    super(scope, id, props);
    const { kafka, vpc } = props;
    if (kafka.mode === 'existing') {
      this.clusterArn = kafka.clusterArn;
      this.knownCluster = undefined;
    } else {
      const clusterName = `${props.pipeline.name}-kafka`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64);
      const key = new Key(this, 'DataKey', { description: 'MSK data at rest', enableKeyRotation: true });
      const brokerLogs = new LogGroup(this, 'BrokerLogs', { retention: RetentionDays.ONE_MONTH });
      const cluster = new CfnCluster(this, 'Cluster', {
        clusterName,
        kafkaVersion: kafka.kafkaVersion,
        numberOfBrokerNodes: kafka.brokerNodes,
        brokerNodeGroupInfo: {
          instanceType: kafka.instanceType,
          clientSubnets: vpc.selectSubnets(props.privateSubnets).subnetIds,
          securityGroups: [props.clusterSecurityGroup.securityGroupId],
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
      this.knownCluster = { name: clusterName, brokerNodes: kafka.brokerNodes };
    }
    new CfnOutput(this, DEPLOYED_OUTPUTS.clusterArn, {
      value: this.clusterArn,
      description: 'The MSK cluster (platform --env finds its brokers through it)',
    });
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
