import type { UpdateOrder } from './define-hot-stream';

/**
 * The largest update a hot stream takes, in bytes: its record's value on the
 * wire, and its JSON as stored. A hot-state item holds an update twice (the
 * newest and the last emitted), so two of them, the key and the bookkeeping
 * stay far below DynamoDB's 400 KB item limit, whatever was stored before; and
 * a delta stays far below the broker's 1 MB message limit. A slim price or
 * stock update is about a hundred bytes.
 */
export const MAX_UPDATE_BYTES = 128 * 1024;

/** The longest state key a hot stream takes, in UTF-8 bytes: a DynamoDB partition key (at most 2,048) with room to spare. */
export const MAX_STATE_KEY_BYTES = 512;

/**
 * Why the hot state could never store an update under a state key (DynamoDB or
 * its document client would refuse it, on every retry), or undefined when it
 * can. Checked where a record is read, so such records are dead-lettered before
 * anything is written.
 */
export function whyUnstorable(stateKey: string, update: UpdateOrder): string | undefined {
  if (stateKey === '') return 'the state key is empty (DynamoDB refuses an empty key)';
  const keyBytes = Buffer.byteLength(stateKey);
  if (keyBytes > MAX_STATE_KEY_BYTES) {
    return `state key of ${keyBytes} bytes is longer than a hot stream takes (${MAX_STATE_KEY_BYTES} bytes; it is a DynamoDB key)`;
  }
  return whyUnstorableOrder(update);
}

/**
 * Why an update's version or source timestamp cannot be stored as a DynamoDB
 * number, or undefined. The document client refuses these itself, with a plain
 * Error no retry can fix, so they are judged before it is asked.
 */
export function whyUnstorableOrder(update: UpdateOrder): string | undefined {
  for (const name of ['version', 'sourceTimestamp'] as const) {
    const problem = numberProblem(update[name] as unknown);
    if (problem) return `${name} ${problem}`;
  }
  return undefined;
}

function numberProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a finite number, not ${String(value)}`;
  if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return `${value} is beyond ±(2^53 − 1), which the DynamoDB document client refuses`;
  if (value !== 0 && Math.abs(value) < 1e-130) return `${value} is closer to 0 than DynamoDB stores (1E-130)`;
  return undefined;
}
