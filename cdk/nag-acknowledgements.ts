import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { READ_RANGE_GROUP_PREFIX } from '../shared/kafka/read-partition-range';
import type { CdcStack } from './cdc-stack';
import type { PlatformStacks } from './platform';

/**
 * Every cdk-nag AwsSolutions finding the platform accepts, each with the
 * reason. Anything not listed here fails `cdk synth` and the tests.
 */
export function acknowledgeNagFindings(stacks: PlatformStacks): void {
  const functions: IConstruct[] = [
    ...[...stacks.consumers.consumers.values()].map((consumer) => consumer.function),
    ...(stacks.consumers.flushTicker ? [stacks.consumers.flushTicker] : []),
  ];
  for (const fn of functions) {
    NagSuppressions.addResourceSuppressions(
      fn,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            'AWS-managed Lambda execution policies: AWSLambdaBasicExecutionRole (writing its own logs), AWSLambdaVPCAccessExecutionRole ' +
            '(ENIs in the VPC; ec2:CreateNetworkInterface has no resource-level scoping) and AWSLambdaMSKExecutionRole, which the MSK event ' +
            'source mapping attaches itself. All Kafka data access (topics, groups) and DynamoDB access are separate, scoped statements.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole',
          ],
        },
        ...['AwsSolutions-L1', 'Serverless-LambdaLatestVersion'].map((id) => ({
          id,
          reason:
            'Node.js 22 is the deployment runtime on purpose: the test suite and the local runtime run on the Node 20/22 line, not 24.',
        })),
        {
          id: 'AwsSolutions-IAM5',
          reason:
            `Hot-stream consumers replay a lost write-behind buffer from their input topic with a throwaway consumer group that never commits ` +
            `and is deleted after the read; each stream's groups share the prefix "${READ_RANGE_GROUP_PREFIX}<stream>." and the wildcard grants nothing else.`,
          appliesTo: [{ regex: `/^Resource::.*:group\\/.*\\/${READ_RANGE_GROUP_PREFIX.replace(/\./g, '\\.')}[A-Za-z0-9._-]+\\.\\*$/g` }],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so CDK grants them on "*". ' +
            'A test checks that no other action is granted on "*".',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }
  for (const consumer of stacks.consumers.consumers.values()) {
    NagSuppressions.addResourceSuppressions(
      consumer.function,
      [
        {
          id: 'Serverless-LambdaDLQ',
          reason:
            'Consumers are invoked synchronously by their MSK event source mapping, never asynchronously, so a function dead-letter queue would receive nothing; ' +
            'records no retry can fix go to the consumer’s dead-letter topic, by the handler or by the mapping’s on-failure destination.',
        },
      ],
      true,
    );
    if (!consumer.hasOnFailureDestination) {
      NagSuppressions.addResourceSuppressions(
        consumer.function,
        [
          {
            id: 'Serverless-LambdaEventSourceMappingDestination',
            reason:
              'This consumer retries a failing batch until it succeeds and dead-letters, itself, each record no retry can fix (with the reason) to its dead-letter topic. ' +
              'An on-failure destination would let the mapping skip valid records that only wait for DynamoDB or the registry to come back, and break the join’s and hot path’s per-key order.',
          },
        ],
        true,
      );
    }
  }
  if (stacks.consumers.flushTickDeadLetters) {
    NagSuppressions.addResourceSuppressions(stacks.consumers.flushTickDeadLetters, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is a dead-letter queue (the flush schedule’s and the flush ticker’s asynchronous invocations’), which cdk-nag does not see.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself the last stop for flush ticks nobody could deliver; a tick is worth nothing after the next one, so it alarms rather than redrives.',
      },
    ]);
  }
  if (stacks.cdc) acknowledgeCdcFindings(stacks.cdc);
  if (stacks.consumers.flushTicker) {
    NagSuppressions.addResourceSuppressionsByPath(stacks.consumers, stacks.consumers.schedulerRolePolicyPaths(), [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'EventBridge Scheduler may invoke the flush ticker function; CDK grants it the function ARN and its versions (":*"), nothing else.',
        appliesTo: [{ regex: '/^Resource::<HotFlushTicker[A-Za-z0-9]*\\.Arn>:\\*$/g' }],
      },
    ]);
  }
}

/** The CDC stack's accepted findings: MSK Connect's own topic and group names, and CDK's custom-resource function. */
function acknowledgeCdcFindings(cdc: CdcStack): void {
  for (const connector of cdc.connectors.values()) {
    NagSuppressions.addResourceSuppressions(
      connector.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'MSK Connect names a connector’s internal topics __amazon_msk_connect_<configs|offsets|status>_<connector>_<id>, the id chosen when it ' +
            'creates the connector; the wildcard covers only this connector’s three (its kept offsets topic has the same shape).',
          appliesTo: [{ regex: '/^Resource::.*:topic\\/.*\\/__amazon_msk_connect_\\*_[A-Za-z0-9-]+_\\*$/g' }],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'The Connect worker group: MSK Connect documents its group names only as the prefix __amazon_msk_connect_ (AlterGroup and ' +
            'DescribeGroup only, no topic access).',
          appliesTo: [{ regex: '/^Resource::.*:group\\/.*\\/__amazon_msk_connect_\\*$/g' }],
        },
      ],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(
    cdc.bootstrapBrokersFunction(),
    [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          'CDK’s AwsCustomResource function (it looks the cluster’s bootstrap brokers up once per deploy) writes its own logs with ' +
          'AWSLambdaBasicExecutionRole; its one other permission is kafka:GetBootstrapBrokers on the cluster’s ARN.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      ...['Serverless-LambdaDefaultMemorySize', 'Serverless-LambdaDLQ', 'Serverless-LambdaTracing', 'AwsSolutions-L1'].map((id) => ({
        id,
        reason:
          'CDK’s AwsCustomResource function, invoked synchronously by CloudFormation once per deploy to read the bootstrap brokers: a failure ' +
          'fails the deploy itself, and its memory, runtime and tracing are CDK’s to choose.',
      })),
    ],
    true,
  );
}
