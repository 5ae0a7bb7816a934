import { PlatformError } from '../errors';

/** Base of the schema module's errors. */
export class SchemaError extends PlatformError {
  override readonly name: string = 'SchemaError';
}

/** A schema file that is not a valid Avro schema, or a catalog laid out wrongly. */
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
