import type { Type } from 'avsc';

/** Confluent Schema Registry's compatibility levels, with their meaning. */
export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/**
 * Whether `candidate` may follow `previous` (oldest first) under `level`, as
 * Confluent Schema Registry decides for Avro:
 *
 * - BACKWARD: consumers on the new schema read data written with the last one
 *   (the default: upgrade consumers first);
 * - FORWARD: consumers on the last schema read data written with the new one;
 * - FULL: both; `_TRANSITIVE`: against every earlier version, not just the last.
 *
 * Decided by Avro schema resolution (avsc's resolvers), so a field added
 * without a default, a removed field without one, or a type that cannot be
 * promoted is caught.
 * @returns the problems; empty when compatible
 */
export function compatibilityProblems(level: CompatibilityLevel, previous: readonly Type[], candidate: Type): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE')
    ? previous.map((type, index) => [type, index + 1] as const)
    : [[previous.at(-1)!, previous.length] as const];
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const problems: string[] = [];
  for (const [earlier, version] of against) {
    if (backward) {
      const problem = unreadable(candidate, earlier);
      if (problem) problems.push(`the new schema cannot read data written with version ${version}: ${problem}`);
    }
    if (forward) {
      const problem = unreadable(earlier, candidate);
      if (problem) problems.push(`version ${version} cannot read data written with the new schema: ${problem}`);
    }
  }
  return problems;
}

/** Why `reader` cannot read what `writer` wrote, or undefined when it can. */
function unreadable(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
