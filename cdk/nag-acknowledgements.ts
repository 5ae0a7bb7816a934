import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { READ_RANGE_GROUP_PREFIX } from '../shared/kafka/read-partition-range';
import type { PlatformStacks } from './platform';

/**
 * Every cdk-nag AwsSolutions finding the platform accepts, each with the
 * reason. Anything not listed here fails `cdk synth` and the tests.
 */
export function acknowledgeNagFindings(stacks: PlatformStacks): void {
  const functions: IConstruct[] = [...[...stacks.consumers.consumers.values()].map((consumer) => consumer.function), ...(stacks.consumers.flushTicker ? [stacks.consumers.flushTicker] : [])];
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
        {
          id: 'AwsSolutions-L1',
          reason: 'Node.js 22 is the deployment runtime on purpose: the test suite and the local runtime run on the Node 20/22 line, not 24.',
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            `Hot-stream consumers replay a lost write-behind buffer from their input topic with a throwaway consumer group that never commits ` +
            `and is deleted after the read; each stream's groups share the prefix "${READ_RANGE_GROUP_PREFIX}<stream>." and the wildcard grants nothing else.`,
          appliesTo: [{ regex: `/^Resource::.*:group\\/.*\\/${READ_RANGE_GROUP_PREFIX.replace(/\./g, '\\.')}[A-Za-z0-9._-]+\\.\\*$/g` }],
        },
      ],
      true,
    );
  }
  if (stacks.consumers.flushTicker) {
    NagSuppressions.addResourceSuppressionsByPath(
      stacks.consumers,
      stacks.consumers.schedulerRolePolicyPaths(),
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'EventBridge Scheduler may invoke the flush ticker function; CDK grants it the function ARN and its versions (":*"), nothing else.',
          appliesTo: [{ regex: '/^Resource::<HotFlushTicker[A-Za-z0-9]*\\.Arn>:\\*$/g' }],
        },
      ],
    );
  }
}
