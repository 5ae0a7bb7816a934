import { PlatformError } from '../errors';

/** Base of the schema module's errors. */
export class SchemaError extends PlatformError {
  override readonly name: string = 'SchemaError';
}

/** A schema file that is not a valid Avro schema, or a schemas folder laid out wrongly. */
export class InvalidSchemaError extends SchemaError {
  override readonly name = 'InvalidSchemaError';
}

/** A value that does not match its topic's schema; `problems` name each offending field by path. */
export class SchemaValidationError extends SchemaError {
  override readonly name = 'SchemaValidationError';
  constructor(
    readonly subject: string,
    readonly problems: readonly string[],
  ) {
    super(`value does not match schema "${subject}": ${problems.join('; ')}`);
  }
}

/** Bytes that are not in the Confluent wire format (magic byte 0, 4-byte schema id, payload). */
export class WireFormatError extends SchemaError {
  override readonly name = 'WireFormatError';
}

/** A schema change that breaks the subject's compatibility rule; `problems` says what breaks. */
export class IncompatibleSchemaError extends SchemaError {
  override readonly name = 'IncompatibleSchemaError';
  constructor(
    readonly subject: string,
    readonly level: string,
    readonly problems: readonly string[],
  ) {
    super(`schema change for "${subject}" is not ${level} compatible: ${problems.join('; ')}`);
  }
}

/** A schema id the registry does not know. */
export class UnknownSchemaError extends SchemaError {
  override readonly name = 'UnknownSchemaError';
}

/**
 * The registry could not be asked (unreachable, timed out, or answered with a
 * server error): retriable, so a consumer fails the batch and tries again
 * instead of dead-lettering records that are fine.
 */
export class SchemaRegistryUnavailableError extends PlatformError {
  override readonly name = 'SchemaRegistryUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

/**
 * Why a record value can never be read, named as Lambda's schema-registry
 * integration names them when it dead-letters a record.
 */
export type UnreadableValueReason = 'NOT_WIRE_FORMAT' | 'SCHEMA_NOT_FOUND' | 'DESERIALIZATION_ERROR';

/** A record value that no retry can read: the consumer dead-letters it with this message and moves on. */
export class UnreadableValueError extends SchemaError {
  override readonly name = 'UnreadableValueError';
  constructor(
    readonly reason: UnreadableValueReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}: ${message}`, false, options);
  }
}
