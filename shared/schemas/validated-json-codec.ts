import { CodecError } from '../fk-join/errors';
import type { ValueCodec } from '../fk-join/codec';
import { withDefaults } from './record-values';
import type { SubjectSchemas } from './schema-catalog';

/**
 * JSON values checked against a topic's Avro schema (its current version) on
 * the way in and out: a record that does not match is refused with every
 * problem by field path, so a join dead-letters it with those reasons. Fields
 * the schema gives a default may be left out, in nested records too; they
 * read as their default.
 */
export function validatedJsonCodec<T>(schemas: SubjectSchemas): ValueCodec<T> {
  const { type } = schemas.latest;
  const check = (value: unknown): T => {
    const filled = withDefaults(type, value);
    const problems: string[] = [];
    type.isValid(filled, {
      errorHook: (path, invalid) => problems.push(`${path.join('.') || '(value)'}: ${JSON.stringify(invalid) ?? 'missing'}`),
    });
    if (problems.length > 0)
      throw new CodecError(`value does not match schema ${schemas.subject} v${schemas.latest.version}: ${problems.join('; ')}`);
    return filled as T;
  };
  return {
    encode: (value) => Buffer.from(JSON.stringify(check(value))),
    decode: (bytes) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new CodecError(`value is not valid JSON (${(error as Error).message}): ${bytes.toString('utf8').slice(0, 120)}`);
      }
      return check(parsed);
    },
  };
}
