import { UnreadableValueError, SchemaValidationError } from './errors';
import { withDefaults } from './record-values';
import type { SubjectSchemas } from './subject-schemas';
import { parseJsonValue, type ValueFormat } from './value-format';

/**
 * JSON values checked against a topic's Avro schema (its current version) on
 * the way in and out: a value that does not match is refused with every
 * problem by field path (reading it, as unreadable, so a consumer dead-letters
 * it with those reasons). Fields the schema gives a default may be left out, in
 * nested records too; they read as their default.
 */
export function validatedJsonValueFormat<T>(schemas: SubjectSchemas): ValueFormat<T> {
  const { type } = schemas.latest;
  const problemsOf = (value: unknown): { filled: unknown; problems: string[] } => {
    const filled = withDefaults(type, value);
    const problems: string[] = [];
    type.isValid(filled, {
      errorHook: (path, invalid) => problems.push(`${path.join('.') || '(value)'}: ${JSON.stringify(invalid) ?? 'missing'}`),
    });
    return { filled, problems };
  };
  return Object.freeze({
    description: `JSON checked against ${schemas.subject} v${schemas.latest.version}`,
    async decode(bytes: Buffer): Promise<T> {
      const { filled, problems } = problemsOf(parseJsonValue(bytes));
      if (problems.length > 0) {
        throw new UnreadableValueError(
          'DESERIALIZATION_ERROR',
          `value does not match schema ${schemas.subject} v${schemas.latest.version}: ${problems.join('; ')}`,
        );
      }
      return filled as T;
    },
    async encode(value: T): Promise<Buffer> {
      const { filled, problems } = problemsOf(value);
      if (problems.length > 0) throw new SchemaValidationError(schemas.subject, problems);
      return Buffer.from(JSON.stringify(filled));
    },
  });
}
