import { InvalidChangeError } from './errors';

/** A table row as Debezium's JSON converter writes it (no schema envelope): column name → value. */
export type Row = Readonly<Record<string, unknown>>;

/**
 * One row change as Debezium's PostgreSQL connector writes it: `r` a snapshot
 * read, `c` an insert, `u` an update, `d` a delete. After a delete Debezium also
 * writes a tombstone (no value) for the row's key, which only compaction needs.
 */
export interface ChangeEvent {
  readonly op: 'r' | 'c' | 'u' | 'd';
  /** Under REPLICA IDENTITY DEFAULT a delete's `before` holds only the primary key's columns reliably. */
  readonly before: Row | null;
  readonly after: Row | null;
  readonly position: ChangePosition;
}

/**
 * Where a change stands in its row's history. Changes of one row reach the
 * topic in commit order, and a later one has a higher LSN, except that every
 * snapshot read carries the LSN the snapshot was taken at, which a change
 * streamed after it can be below: streaming always follows the snapshot.
 */
export interface ChangePosition {
  readonly lsn: number;
  readonly snapshot: boolean;
}

/** Whether `incoming` is newer than `stored` in its row's history (a redelivered or repeated change is not). */
export function isNewerChange(incoming: ChangePosition, stored: ChangePosition | undefined): boolean {
  if (stored === undefined) return true;
  if (!incoming.snapshot && stored.snapshot) return true;
  return incoming.lsn > stored.lsn;
}

/** The change a record's value holds. @throws InvalidChangeError when it is not a Debezium change event */
export function parseChangeEvent(value: Buffer): ChangeEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new InvalidChangeError(`not JSON (${(error as Error).message}): ${value.toString('utf8').slice(0, 120)}`);
  }
  const event = parsed as { op?: unknown; before?: unknown; after?: unknown; source?: { lsn?: unknown; snapshot?: unknown } };
  if (event === null || typeof event !== 'object') throw new InvalidChangeError('not a Debezium change event: not an object');
  const { op, source } = event;
  const before = event.before ?? null;
  const after = event.after ?? null;
  if (op !== 'r' && op !== 'c' && op !== 'u' && op !== 'd') {
    throw new InvalidChangeError(`not a row change: op ${JSON.stringify(op)} (a truncate or a message is not mapped)`);
  }
  if (!isRowOrNull(before) || !isRowOrNull(after))
    throw new InvalidChangeError('not a Debezium change event: before and after must be rows or null');
  if ((op === 'd' ? before : after) === null)
    throw new InvalidChangeError(`a change with op "${op}" and no ${op === 'd' ? 'before' : 'after'} row`);
  const lsn = source?.lsn;
  if (typeof lsn !== 'number' || !Number.isSafeInteger(lsn))
    throw new InvalidChangeError('not a Debezium change event: source.lsn is missing');
  // Debezium writes the snapshot marker as a string ("first", "true", "last", "false"); older versions wrote a boolean.
  const snapshot = source?.snapshot !== undefined && source.snapshot !== false && source.snapshot !== 'false';
  return { op, before, after, position: { lsn, snapshot } };
}

function isRowOrNull(value: unknown): value is Row | null {
  return value === null || (typeof value === 'object' && !Array.isArray(value));
}
