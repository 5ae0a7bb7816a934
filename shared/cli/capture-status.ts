import { KafkaConnectClient, ListConnectorsCommand } from '@aws-sdk/client-kafkaconnect';
import { connectorNameOf } from '../../cdk/deployed-outputs';
import { cdcSourceStatuses, type CdcSourceStatus } from '../local/cdc-status';
import { readLocalServicesConfig } from '../local/config';
import type { CliContext } from './context';

/**
 * How each CDC source's capture stands where the CLI points: locally the
 * Connect worker's and PostgreSQL's own answers (state and slot lag); with
 * --env MSK Connect's connector state (MSK Connect reports no lag: the slot's
 * is read on the database, `pg_replication_slots`).
 */
export async function captureStatuses(context: CliContext): Promise<CdcSourceStatus[]> {
  const sources = context.pipeline.cdcSources.map(({ source }) => source.name);
  if (sources.length === 0) return [];
  const { deployment } = context.target;
  if (deployment === undefined) {
    const config = readLocalServicesConfig(context.env);
    return cdcSourceStatuses(sources, {
      connectUrl: `http://127.0.0.1:${config.connectPort}`,
      postgres: { host: '127.0.0.1', port: config.postgresPort, user: 'postgres' },
    });
  }
  const client = new KafkaConnectClient(context.target.awsRegion === undefined ? {} : { region: context.target.awsRegion });
  try {
    return await Promise.all(
      sources.map(async (source): Promise<CdcSourceStatus> => {
        const name = connectorNameOf(context.pipeline.name, deployment.name, source);
        const listed = await client
          .send(new ListConnectorsCommand({ connectorNamePrefix: name }))
          .then((answer) => answer.connectors?.find((connector) => connector.connectorName === name))
          .catch((error: unknown) => ({ failure: error instanceof Error ? error.message : String(error) }));
        const failure = listed && 'failure' in listed ? listed.failure : undefined;
        const state = listed && !('failure' in listed) ? listed.connectorState : undefined;
        return {
          source,
          connector: failure !== undefined ? 'UNREACHABLE' : state === undefined ? 'MISSING' : state,
          task: undefined,
          failure,
          lagBytes: undefined,
          slotActive: undefined,
        };
      }),
    );
  } finally {
    client.destroy();
  }
}
