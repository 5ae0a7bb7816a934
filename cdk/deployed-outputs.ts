/**
 * The CloudFormation outputs a deployed environment exposes to the tools that
 * operate it (`platform --env <name>`). Their keys are a contract: the stacks
 * write them, the CLI reads them by these names.
 */
export const DEPLOYED_OUTPUTS = {
  /** Stack `<pipeline>-<env>-streaming`: the MSK cluster's ARN (its brokers come from `kafka:GetBootstrapBrokers`). */
  clusterArn: 'ClusterArn',
  /** Stack `<pipeline>-<env>-state`: a declared table's physical name, by its declared name. */
  tableName: (declaredName: string) => `Table${declaredName.replace(/[^A-Za-z0-9]/g, '')}`,
} as const;

/** The stack name of one part of a deployment (see cdk/platform.ts). */
export function deployedStackName(
  pipelineName: string,
  environment: string,
  part: 'network' | 'streaming' | 'state' | 'consumers' | 'cdc',
): string {
  return `${pipelineName}-${environment}-${part}`.replace(/[^A-Za-z0-9-]/g, '-');
}

/**
 * A CDC source's MSK Connect connector name, `<pipeline>-<env>-<source>` in the letters, digits and dashes
 * MSK Connect takes: unique per account and region, so two environments of one account never collide.
 */
export function connectorNameOf(pipelineName: string, environment: string, sourceName: string): string {
  return `${pipelineName}-${environment}-${sourceName}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128);
}
