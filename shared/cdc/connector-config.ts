import { MAX_CHANGE_EVENT_BYTES, type CdcMappingDeclaration, type CdcSource } from './define-cdc-mapping';

/** A table a connector captures, as its mapping declares it. */
export type CapturedTable = Pick<CdcMappingDeclaration<unknown>, 'table' | 'truncateColumns'>;

/** How the connector reaches the source database. */
export interface SourceDatabaseConnection {
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  /** The password itself locally; deployed, a CloudFormation dynamic reference to the source's secret (cdk/constructs/cdc-connector.ts). */
  readonly password: string;
}

/**
 * The Debezium PostgreSQL connector's configuration for a source and the
 * tables its mappings read: the same locally (a Kafka Connect worker) and in
 * MSK Connect. pgoutput needs no server extension; the source's name names the
 * replication slot, the publication (created for exactly these tables) and the
 * change topics' prefix, and must never change, or the connector starts over.
 */
export function debeziumConnectorConfig(
  source: CdcSource,
  captured: readonly CapturedTable[],
  connection: SourceDatabaseConnection,
  options: {
    readonly exactlyOnce: boolean;
    /** Of the topics the connector creates itself: its heartbeat topic. */
    readonly replicationFactor: number;
  },
): Record<string, string> {
  return {
    // Offsets committed in the transaction that writes the records (a worker with exactly-once source support).
    ...(options.exactlyOnce ? { 'exactly.once.support': 'required' } : {}),
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': '1',
    'database.hostname': connection.hostname,
    'database.port': String(connection.port),
    'database.user': connection.user,
    'database.password': connection.password,
    'database.dbname': source.database,
    'topic.prefix': source.name,
    'table.include.list': captured
      .map(({ table }) => table)
      .sort()
      .join(','),
    ...columnTruncation(captured),
    'plugin.name': 'pgoutput',
    'slot.name': source.name,
    'publication.name': source.name,
    'publication.autocreate.mode': 'filtered',
    // A snapshot of every row first, then the stream from the snapshot's point: no gap.
    'snapshot.mode': 'initial',
    // The pipeline creates the change topics (partitions, compaction) before the connector starts; what the
    // connector still creates is its heartbeat topic (__debezium-heartbeat.<source>), with these settings.
    'topic.creation.default.replication.factor': String(options.replicationFactor),
    'topic.creation.default.partitions': '1',
    // Numbers as JSON numbers and strings, not base64 bytes: what a mapping reads.
    'decimal.handling.mode': 'string',
    // Commits the slot's position every 10 s while changes of this database flow (not only of the captured
    // tables). A database that writes no WAL of its own on a busy server still holds the server's WAL back:
    // see "Limits" in shared/cdc/README.md.
    'heartbeat.interval.ms': '10000',
    // Back after a database restart within seconds (Debezium's default wait is 10 s).
    'retriable.restart.connector.wait.ms': '2000',
    // A wide row's change event is larger than the producer's 1 MB default; its change topic takes up to this.
    // (Connect allows connector-level client overrides by default since Kafka 3.0.)
    'producer.override.max.request.size': String(MAX_CHANGE_EVENT_BYTES),
  };
}

/** `column.truncate.to.<n>.chars`: the columns cut to n characters, `<schema>.<table>.<column>`, grouped by n. */
function columnTruncation(captured: readonly CapturedTable[]): Record<string, string> {
  const byLength = new Map<number, string[]>();
  for (const { table, truncateColumns } of captured) {
    for (const [column, length] of Object.entries(truncateColumns ?? {})) {
      byLength.set(length, [...(byLength.get(length) ?? []), `${table}.${column}`]);
    }
  }
  return Object.fromEntries([...byLength].map(([length, columns]) => [`column.truncate.to.${length}.chars`, columns.sort().join(',')]));
}
