import { debeziumConnectorConfig } from '../../shared/cdc';
import type { PostgresServer } from '../../shared/local/postgres/postgres-server';

/**
 * The connector configuration the local runtime gives a source, for a test's own
 * PostgreSQL and worker: `source` names the connector, slot, publication and
 * change-topic prefix (lower case, letters, digits, "_"); the tables are `schema.table`.
 */
export function testConnectorConfig(
  postgres: PostgresServer,
  source: string,
  tables: readonly string[],
  database = 'postgres',
): Record<string, string> {
  return debeziumConnectorConfig(
    { name: source, database },
    tables.map((table) => ({ table })),
    { hostname: postgres.host, port: postgres.port, user: postgres.superuser, password: 'local' },
    { exactlyOnce: true, replicationFactor: 1 },
  );
}
