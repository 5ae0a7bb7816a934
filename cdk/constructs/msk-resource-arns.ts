import { Fn, Token } from 'aws-cdk-lib';

/**
 * ARNs of a cluster's topics and consumer groups, for `kafka-cluster:*` IAM
 * statements. An MSK cluster ARN is `arn:…:kafka:<region>:<account>:cluster/<name>/<uuid>`;
 * its topics are `…:topic/<name>/<uuid>/<topic>` and groups `…:group/<name>/<uuid>/<group>`.
 * Works on tokens, so it serves a cluster created in the same deployment and one imported by ARN.
 */
export class MskResourceArns {
  private readonly prefix: string;
  private readonly clusterPath: string;

  constructor(readonly clusterArn: string) {
    const [prefix, clusterPath] = Token.isUnresolved(clusterArn)
      ? [Fn.select(0, Fn.split(':cluster/', clusterArn)), Fn.select(1, Fn.split(':cluster/', clusterArn))]
      : clusterArn.split(':cluster/');
    this.prefix = prefix!;
    this.clusterPath = clusterPath!;
  }

  /** A topic's ARN; `name` may end in `*` for a prefix. */
  topic(name: string): string {
    return `${this.prefix}:topic/${this.clusterPath}/${name}`;
  }

  /** A consumer group's ARN; `groupId` may end in `*` for a prefix. */
  group(groupId: string): string {
    return `${this.prefix}:group/${this.clusterPath}/${groupId}`;
  }
}
