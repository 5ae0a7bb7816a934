import type { Type } from 'avsc';

interface RecordField {
  readonly name: string;
  readonly type: Type;
  defaultValue(): unknown;
}

/**
 * The fields of the record a JSON value stands for under `type`: the record
 * itself, or the record branch of a union (avsc unwraps a union of null and one
 * record, so a plain object is that branch). Undefined when it stands for none.
 */
function recordFieldsOf(type: Type, value: unknown): readonly RecordField[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record =
    type.typeName === 'union:unwrapped' || type.typeName === 'union:wrapped'
      ? (type as Type & { types: Type[] }).types.find((candidate) => candidate.typeName === 'record')
      : type;
  return record?.typeName === 'record' ? (record as Type & { fields: RecordField[] }).fields : undefined;
}

/** A value with every missing record field set to its schema default, in nested records and unions too. */
export function withDefaults(type: Type, value: unknown): unknown {
  const fields = recordFieldsOf(type, value);
  if (!fields) return value;
  const filled: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of fields) {
    if (filled[field.name] !== undefined) filled[field.name] = withDefaults(field.type, filled[field.name]);
    else if (field.defaultValue() !== undefined) filled[field.name] = field.defaultValue();
  }
  return filled;
}

/** The fields of a value that its schema does not declare, by path (nested records too): a misspelt field would otherwise be dropped. */
export function undeclaredFields(type: Type, value: unknown, path = ''): string[] {
  const fields = recordFieldsOf(type, value);
  if (!fields) return [];
  const declared = new Map(fields.map((field) => [field.name, field.type]));
  return Object.entries(value as Record<string, unknown>).flatMap(([key, nested]) => {
    const fieldType = declared.get(key);
    const fieldPath = path === '' ? key : `${path}.${key}`;
    return fieldType ? undeclaredFields(fieldType, nested, fieldPath) : [fieldPath];
  });
}
