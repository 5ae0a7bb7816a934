import { InvalidRecordError, type MskRecord } from '../msk';
import { UnreadableValueError } from './errors';
import type { ValueFormat } from './value-format';

/**
 * A record's value, decoded once by its topic's format, or null for a
 * tombstone. What no retry can read becomes the record's own fault: every
 * consumer dead-letters an {@link InvalidRecordError} with its reason and
 * moves on, and retries anything else (the registry away).
 * @throws InvalidRecordError when the value cannot be read
 */
export async function decodeRecordValue<T>(record: MskRecord, format: ValueFormat<T>): Promise<T | null> {
  if (record.value === undefined) return null;
  try {
    return await format.decode(Buffer.from(record.value, 'base64'));
  } catch (error) {
    if (error instanceof UnreadableValueError) throw new InvalidRecordError(record, error.message, { cause: error });
    throw error;
  }
}
