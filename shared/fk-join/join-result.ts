import type { FkJoin } from './define-join';

/**
 * Where a join result comes from: the left record's offset and the right
 * record's offset (−1 without a right row). A left key's offsets all come from
 * one partition, and so do a right key's, so comparing positions orders the
 * results for a left key: a later left record wins; for the same left record
 * (hence the same foreign key), a later right record wins. Equal positions
 * mean equal results, since the joiner is pure.
 */
export interface JoinPosition {
  readonly leftOffset: number;
  readonly rightOffset: number;
}

export function isAfter(candidate: JoinPosition, current: JoinPosition | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.leftOffset !== current.leftOffset) return candidate.leftOffset > current.leftOffset;
  return candidate.rightOffset > current.rightOffset;
}

/** The position as join outputs carry it in their `x-join-position` header: `<leftOffset>:<rightOffset>`. */
export function formatJoinPosition(position: JoinPosition): string {
  return `${position.leftOffset}:${position.rightOffset}`;
}

/** Reads an `x-join-position` header; undefined when it is not one. */
export function parseJoinPosition(text: string): JoinPosition | undefined {
  const match = /^(\d+):(-1|\d+)$/.exec(text);
  return match ? { leftOffset: Number(match[1]), rightOffset: Number(match[2]) } : undefined;
}

/** The join output for a left key, or null when the join has no row for it (a tombstone). */
export type JoinOutput = unknown;

/**
 * The join of one left value with its right value, as Kafka Streams defines it
 * (with KIP-962: a left join with no foreign key still emits `joiner(left, null)`).
 *
 * A joiner that returns null deletes the key's row, as in Kafka Streams.
 *
 * @param left the left value as the join keeps it (JSON text), or null when the left row is deleted
 * @param right the right value as the join keeps it (JSON text), or null when there is no right row
 */
export function joinOutput(
  join: FkJoin,
  left: Buffer | null,
  right: Buffer | null,
  decoded: DecodedValues = new DecodedValues(),
): JoinOutput {
  if (left === null) return null;
  if (right === null && join.type === 'inner') return null;
  const leftValue = decoded.of(left);
  const rightValue = right === null ? null : decoded.of(right);
  return join.joiner(leftValue, rightValue) ?? null;
}

/**
 * The join's kept values (JSON text) parsed once per batch: a right row joins with every left row
 * that refers to it, and a left record of the batch was decoded already, to find its foreign key.
 * Keyed by the bytes' identity.
 */
export class DecodedValues {
  private readonly values = new Map<Buffer, unknown>();

  /** Remembers what `bytes` decode to. */
  set(bytes: Buffer, value: unknown): void {
    this.values.set(bytes, value);
  }

  of(bytes: Buffer): unknown {
    if (this.values.has(bytes)) return this.values.get(bytes);
    // Text the join wrote itself, from a value that decoded: it parses.
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    this.values.set(bytes, value);
    return value;
  }
}
