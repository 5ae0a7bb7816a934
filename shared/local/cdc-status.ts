import { Client } from 'pg';
import type { ConnectorState, ConnectorStatus } from './connect/connect-worker';

/** How one CDC source's capture stands: its connector's state and how far its replication slot trails the database's WAL. */
export interface CdcSourceStatus {
  readonly source: string;
  /**
   * The connector's state as its runtime names it (a Connect worker: RUNNING, FAILED, PAUSED…; MSK Connect:
   * RUNNING, CREATING, UPDATING, FAILED…), UNREACHABLE when the runtime does not answer, MISSING when it has no such connector.
   */
  readonly connector: ConnectorState | 'UNREACHABLE' | 'MISSING' | (string & {});
  readonly task: ConnectorState | undefined;
  /** A failed connector's or task's reason, the first line of its trace. */
  readonly failure: string | undefined;
  /**
   * WAL bytes written since the position the connector last confirmed: what it has still to read (and
   * what PostgreSQL keeps on disk for it). Undefined when the slot does not exist (yet) or the server does not answer.
   */
  readonly lagBytes: number | undefined;
  /** Whether a connector is attached to the slot right now. */
  readonly slotActive: boolean | undefined;
}

/**
 * Reads the status of each source's capture: the connector from the Connect
 * worker's REST API, the lag from PostgreSQL's `pg_replication_slots` (the
 * slot is named after the source). Never throws: a service that does not
 * answer shows as such.
 */
export async function cdcSourceStatuses(
  sources: readonly string[],
  services: { readonly connectUrl: string; readonly postgres: { readonly host: string; readonly port: number; readonly user: string } },
): Promise<CdcSourceStatus[]> {
  const slots = await replicationSlots(services.postgres).catch(() => new Map<string, { lagBytes: number; active: boolean }>());
  return Promise.all(
    sources.map(async (source): Promise<CdcSourceStatus> => {
      const status = await connectorStatus(services.connectUrl, source);
      const slot = slots.get(source);
      const failed =
        status && status !== 'UNREACHABLE' ? [status.connector, ...status.tasks].find((part) => part.state === 'FAILED') : undefined;
      return {
        source,
        connector: status === undefined ? 'MISSING' : status === 'UNREACHABLE' ? 'UNREACHABLE' : status.connector.state,
        task: status && status !== 'UNREACHABLE' ? status.tasks[0]?.state : undefined,
        failure: failed?.trace?.split('\n')[0],
        lagBytes: slot?.lagBytes,
        slotActive: slot?.active,
      };
    }),
  );
}

/** One line per source for a live view: `monolith  RUNNING (task RUNNING)  slot lag 1.2 KB`. */
export function describeCdcSourceStatus(status: CdcSourceStatus): string {
  const task = status.task ? ` (task ${status.task})` : '';
  const lag = status.lagBytes === undefined ? 'slot lag –' : `slot lag ${formatBytes(status.lagBytes)}`;
  return `${status.source}  ${status.connector}${task}  ${lag}${status.failure ? `  ${status.failure}` : ''}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function connectorStatus(connectUrl: string, name: string): Promise<ConnectorStatus | 'UNREACHABLE' | undefined> {
  try {
    const response = await fetch(`${connectUrl}/connectors/${encodeURIComponent(name)}/status`, { signal: AbortSignal.timeout(3_000) });
    if (response.status === 404) return undefined;
    if (!response.ok) return 'UNREACHABLE';
    return (await response.json()) as ConnectorStatus;
  } catch {
    return 'UNREACHABLE';
  }
}

async function replicationSlots(postgres: {
  host: string;
  port: number;
  user: string;
}): Promise<Map<string, { lagBytes: number; active: boolean }>> {
  const client = new Client({
    host: postgres.host,
    port: postgres.port,
    user: postgres.user,
    database: 'postgres',
    connectionTimeoutMillis: 3_000,
  });
  await client.connect();
  try {
    const result = await client.query<{ slot_name: string; active: boolean; behind: string | null }>(
      `SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS behind
         FROM pg_replication_slots WHERE slot_type = 'logical'`,
    );
    return new Map(result.rows.map((row) => [row.slot_name, { lagBytes: Math.max(0, Number(row.behind ?? 0)), active: row.active }]));
  } finally {
    await client.end().catch(() => undefined);
  }
}
