import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Where a liberation stands, saved beside the snapshot after every acknowledged
 * chunk. It names what it is about (the file as it was, the cluster, the topic,
 * key field and schema) and what the broker held once its records were
 * acknowledged (each partition's end offset), so a later run can check that the
 * records it counts are really there before trusting it.
 */
export interface Checkpoint extends CheckpointScope {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly file: string;
  /** The last physical line of the file whose row is produced or rejected. */
  readonly linesDone: number;
  readonly produced: number;
  readonly rejected: number;
  readonly completed: boolean;
}

/** Checkpoints older than this did not record the cluster and offsets they were written against. */
export const CHECKPOINT_VERSION = 2;

/** What a checkpoint is about, and what it is checked against: this run and what the topic holds now. */
export interface CheckpointScope {
  readonly size: number;
  readonly modifiedMs: number;
  readonly clusterId: string;
  readonly topic: string;
  readonly keyField: string;
  readonly subject: string;
  /** Each partition's end offset (high watermark): now, or in a checkpoint after its last acknowledged chunk. */
  readonly endOffsets: Readonly<Record<string, string>>;
}

/** A saved checkpoint this run may continue from, or why it may not. */
export type CheckpointVerdict =
  | { readonly applies: true; readonly checkpoint: Checkpoint }
  | { readonly applies: false; readonly reason: string };

/** The checkpoint of a snapshot file: beside it, one per file. */
export function checkpointPathOf(file: string): string {
  return `${file}.liberate-checkpoint.json`;
}

/** The saved checkpoint, if there is one (unreadable JSON counts as a checkpoint that does not apply). */
export function readCheckpoint(path: string): unknown {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return { unreadable: true };
  }
}

/** Saves a checkpoint whole or not at all (a crash while writing leaves the previous one). */
export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(checkpoint));
  renameSync(`${path}.tmp`, path);
}

/**
 * Whether a saved checkpoint describes this run: the same file unchanged, the
 * same topic, key field and schema, the same cluster, and a topic holding at
 * least what it held when the checkpoint was written. A topic deleted and
 * created again, or one on another cluster, starts its offsets over, so its end
 * offsets fall short of the recorded ones: the records the checkpoint counts
 * are not there, and the snapshot must be sent again.
 */
export function checkpointVerdict(saved: unknown, scope: CheckpointScope): CheckpointVerdict {
  const refuse = (reason: string): CheckpointVerdict => ({ applies: false, reason });
  if (saved === null || typeof saved !== 'object' || (saved as { unreadable?: boolean }).unreadable === true)
    return refuse('it cannot be read');
  const checkpoint = saved as Partial<Checkpoint>;
  if (
    checkpoint.version !== CHECKPOINT_VERSION ||
    typeof checkpoint.clusterId !== 'string' ||
    typeof checkpoint.endOffsets !== 'object' ||
    checkpoint.endOffsets === null
  ) {
    return refuse('it does not record the cluster and offsets it was written against (an older version of liberate wrote it)');
  }
  if (checkpoint.topic !== scope.topic) return refuse(`it records a liberation into topic "${checkpoint.topic}"`);
  if (checkpoint.keyField !== scope.keyField) return refuse(`it records key field "${checkpoint.keyField}"`);
  if (checkpoint.subject !== scope.subject) return refuse(`it records schema "${checkpoint.subject}"`);
  if (checkpoint.size !== scope.size || checkpoint.modifiedMs !== scope.modifiedMs)
    return refuse('the file changed since it was written (size or modification time)');
  if (checkpoint.clusterId !== scope.clusterId)
    return refuse(`it was written against cluster ${checkpoint.clusterId}, and this is cluster ${scope.clusterId}`);
  for (const [partition, recorded] of Object.entries(checkpoint.endOffsets)) {
    const now = scope.endOffsets[partition];
    if (typeof recorded !== 'string' || !/^\d+$/.test(recorded)) return refuse('it cannot be read');
    if (now === undefined) return refuse(`partition ${partition} of "${scope.topic}" no longer exists (the topic was created again)`);
    if (BigInt(now) < BigInt(recorded)) {
      return refuse(
        `partition ${partition} of "${scope.topic}" ends at offset ${now}, short of the ${recorded} it reached with the ${checkpoint.produced ?? 0} record(s) the checkpoint counts: the topic was created again since`,
      );
    }
  }
  return { applies: true, checkpoint: checkpoint as Checkpoint };
}

/** A topic's end offsets by partition, as a checkpoint records them. */
export function endOffsetsByPartition(
  offsets: ReadonlyArray<{ readonly partition: number; readonly high: string }>,
): Record<string, string> {
  return Object.fromEntries(offsets.map(({ partition, high }) => [String(partition), high]));
}
