import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { AttributeType as DeclaredAttributeType, Pipeline } from '../shared/pipeline';
import { DEPLOYED_OUTPUTS } from './deployed-outputs';

export interface StateStackProps extends StackProps {
  readonly pipeline: Pipeline;
  /** Keeps tables when the stack is deleted and turns on deletion protection. */
  readonly production: boolean;
}

/**
 * Every table of the pipeline — declared ones, join state, hot state — with the
 * keys, indexes and TTL the declaration gives them: on-demand billing,
 * point-in-time recovery, encryption with an AWS-managed key, and in
 * production deletion protection and RETAIN.
 */
export class StateStack extends Stack {
  /** By declared (logical) table name. */
  readonly tables: ReadonlyMap<string, ITable>;

  constructor(scope: Construct, id: string, props: StateStackProps) {
    super(scope, id, props);
    const tables = new Map<string, ITable>();
    for (const declared of props.pipeline.tables) {
      const table = new Table(this, `Table-${declared.name}`, {
        partitionKey: { name: declared.partitionKey.name, type: ATTRIBUTE_TYPES[declared.partitionKey.type] },
        ...(declared.sortKey ? { sortKey: { name: declared.sortKey.name, type: ATTRIBUTE_TYPES[declared.sortKey.type] } } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        deletionProtection: props.production,
        removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        ...(declared.timeToLiveAttribute ? { timeToLiveAttribute: declared.timeToLiveAttribute } : {}),
      });
      for (const index of declared.globalIndexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey.name, type: ATTRIBUTE_TYPES[index.partitionKey.type] },
          ...(index.sortKey ? { sortKey: { name: index.sortKey.name, type: ATTRIBUTE_TYPES[index.sortKey.type] } } : {}),
          projectionType: ProjectionType.KEYS_ONLY,
        });
      }
      tables.set(declared.name, table);
      new CfnOutput(this, DEPLOYED_OUTPUTS.tableName(declared.name), {
        value: table.tableName,
        description: `Table "${declared.name}" (platform state --env reads it)`,
      });
    }
    this.tables = tables;
  }
}

const ATTRIBUTE_TYPES: Record<DeclaredAttributeType, AttributeType> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};
