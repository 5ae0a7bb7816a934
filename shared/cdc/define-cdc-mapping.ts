import { jsonValueFormat, type ValueFormat } from '../schemas/value-format';
import type { Row } from './change-event';
import { CdcDeclarationError } from './errors';

/** A database whose changes a Kafka Connect connector (Debezium's, for PostgreSQL) captures. */
export interface CdcSource {
  /** Names the connector, its replication slot and publication, and prefixes its change topics. */
  readonly name: string;
  /** The database (PostgreSQL `dbname`) holding the captured tables. */
  readonly database: string;
  /**
   * Local runs only: the SQL that creates the captured tables (the monolith's
   * schema), run once when `npm start` creates the database. The connector's
   * publication names the tables, so they must exist before it starts.
   */
  readonly localSchemaSql?: string;
}

/**
 * Where one private table becomes a public entity stream: the table's row
 * changes, captured by the source's connector into an internal change topic,
 * are mapped by a consumer to the entity's public schema, keyed by the entity
 * id, full state, a tombstone on delete, never moving an entity backwards.
 */
export interface CdcMappingDeclaration<E> {
  /** Unique in the pipeline; names the consumer and its positions table. */
  readonly name: string;
  readonly source: CdcSource;
  /** `<schema>.<table>`, e.g. `public.merchants`. */
  readonly table: string;
  /** The entity topic the mapping writes (keyed, compacted; tombstone = delete). */
  readonly entityTopic: string;
  /** Where changes the mapping cannot use go, with the reason. */
  readonly deadLetterTopic: string;
  /**
   * The entity id of a row. A delete carries only the primary key's columns
   * reliably (REPLICA IDENTITY DEFAULT), so take the id from those.
   */
  entityKey(row: Row): string;
  /** The entity a row stands for: the public shape, never the table's. Throw to refuse a row (it is dead-lettered with the message). */
  toEntity(row: Row): E;
  /** The entity topic's format (Avro in the wire format, say): a mapped entity that does not match is dead-lettered. @default JSON */
  readonly entityFormat?: ValueFormat<E>;
  /**
   * Columns captured cut to this many characters (Debezium's `column.truncate.to.<n>.chars`), by column
   * name: for a column that can grow wider than a change event may be (MAX_CHANGE_EVENT_BYTES), which
   * would otherwise stop the connector's task until it is dealt with.
   */
  readonly truncateColumns?: Readonly<Record<string, number>>;
}

/** A mapping with its change topic and format resolved. */
export interface CdcMapping<E = unknown> extends CdcMappingDeclaration<E> {
  /** Debezium's topic for the table: `<source>.<schema>.<table>`. Internal: only the mapping reads it. */
  readonly changeTopic: string;
  readonly entityFormat: ValueFormat<E>;
}

/**
 * The largest change event a change topic takes (its `max.message.bytes`, and the connector producer's
 * `max.request.size`): a row a few MB wide reaches the mapping, which dead-letters what its entity
 * topic cannot take. 4 MiB, because a record travels base64-encoded in a Lambda event (4/3 of its
 * size), which must stay under 6 MB. A wider row stops the connector's task (FAILED, with the reason;
 * the slot keeps the WAL, so nothing is lost) until the table's shape or this limit is dealt with.
 */
export const MAX_CHANGE_EVENT_BYTES = 4 * 1024 * 1024;

const NAME = /^[a-z0-9_]{1,40}$/;
const TABLE = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const COLUMN = /^[a-z_][a-z0-9_]*$/;

/** Declares a table's mapping to an entity stream. Keep it in its own module, imported by the pipeline and the handler. */
export function defineCdcMapping<E>(declaration: CdcMappingDeclaration<E>): CdcMapping<E> {
  // The source name is a PostgreSQL replication slot and publication name as well as a topic prefix.
  if (!NAME.test(declaration.source.name)) {
    throw new CdcDeclarationError(`CDC source name "${declaration.source.name}" must be 1–40 lower-case letters, digits or "_"`);
  }
  if (!TABLE.test(declaration.table)) {
    throw new CdcDeclarationError(`mapping "${declaration.name}": table "${declaration.table}" must be <schema>.<table> in lower case`);
  }
  for (const [column, length] of Object.entries(declaration.truncateColumns ?? {})) {
    if (!COLUMN.test(column) || !Number.isInteger(length) || length < 1) {
      throw new CdcDeclarationError(
        `mapping "${declaration.name}": truncateColumns must map lower-case column names to a whole number of characters, got ${column}: ${length}`,
      );
    }
  }
  return Object.freeze({
    ...declaration,
    changeTopic: `${declaration.source.name}.${declaration.table}`,
    entityFormat: declaration.entityFormat ?? jsonValueFormat<E>(),
  });
}

/** The environment variable that carries a mapping's positions table name to its handler. */
export function cdcPositionsTableVariable(mappingName: string): string {
  return `${mappingName.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_CDC_POSITIONS_TABLE_NAME`;
}
