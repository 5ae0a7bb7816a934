import type { Type } from 'avsc';
import { CodecError } from '../fk-join/errors';
import type { ValueCodec } from '../fk-join/codec';
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
    type.isValid(filled, { errorHook: (path, invalid) => problems.push(`${path.join('.') || '(value)'}: ${JSON.stringify(invalid) ?? 'missing'}`) });
    if (problems.length > 0) throw new CodecError(`value does not match schema ${schemas.subject} v${schemas.latest.version}: ${problems.join('; ')}`);
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

/** A value with every missing record field set to its schema default, in nested records and unions too. */
export function withDefaults(type: Type, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const name = type.typeName;
  if (name === 'union:unwrapped' || name === 'union:wrapped') {
    // The record branch a plain object stands for; avsc unwraps a union of null and one record.
    const branch = (type as Type & { types: Type[] }).types.find((candidate) => candidate.typeName === 'record');
    return branch ? withDefaults(branch, value) : value;
  }
  const fields = (type as Type & { fields?: Array<{ name: string; type: Type; defaultValue(): unknown }> }).fields;
  if (name !== 'record' || !fields) return value;
  const filled: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of fields) {
    if (filled[field.name] === undefined && field.defaultValue() !== undefined) filled[field.name] = field.defaultValue();
    else if (filled[field.name] !== undefined) filled[field.name] = withDefaults(field.type, filled[field.name]);
  }
  return filled;
}

/** The fields of a value that its schema does not declare, by path (nested records too): a misspelt field would otherwise be dropped. */
export function undeclaredFields(type: Type, value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const name = type.typeName;
  if (name === 'union:unwrapped' || name === 'union:wrapped') {
    const branch = (type as Type & { types: Type[] }).types.find((candidate) => candidate.typeName === 'record');
    return branch ? undeclaredFields(branch, value, path) : [];
  }
  const fields = (type as Type & { fields?: Array<{ name: string; type: Type }> }).fields;
  if (name !== 'record' || !fields) return [];
  const declared = new Map(fields.map((field) => [field.name, field.type]));
  return Object.entries(value as Record<string, unknown>).flatMap(([key, nested]) => {
    const fieldType = declared.get(key);
    const fieldPath = path === '' ? key : `${path}.${key}`;
    return fieldType ? undeclaredFields(fieldType, nested, fieldPath) : [fieldPath];
  });
}
