import { Type, type Schema } from 'avsc';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPATIBILITY_LEVELS, compatibilityProblems, type CompatibilityLevel } from './compatibility';
import { InvalidSchemaError } from './errors';

/** One version of a subject's schema, as kept in the repository. */
export interface SchemaVersion {
  readonly version: number;
  readonly schema: Schema;
  readonly type: Type;
}

/** A subject (`<topic>-value`, Confluent's topic-name strategy) and its versions, oldest first. */
export interface SubjectSchemas {
  readonly subject: string;
  readonly compatibility: CompatibilityLevel;
  readonly versions: readonly SchemaVersion[];
  /** The newest version: what producers write and consumers read into. */
  readonly latest: SchemaVersion;
}

/** The subject of a topic's values under Confluent's default (topic-name) strategy. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * Reads the schemas versioned in the repository:
 *
 *   schemas/compatibility.json          { "default": "BACKWARD", "subjects": { "<subject>": "FULL" } }
 *   schemas/<subject>/v1.avsc, v2.avsc  Avro schemas, numbered from 1 without gaps
 *
 * @throws InvalidSchemaError naming the file at fault
 */
export function loadSubjectSchemas(directory: string): Map<string, SubjectSchemas> {
  const levels = readLevels(directory);
  const subjects = new Map<string, SubjectSchemas>();
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const subject = entry.name;
    const files = readdirSync(join(directory, subject)).filter((file) => file.endsWith('.avsc'));
    const versions = files
      .map((file) => {
        const match = /^v([1-9][0-9]*)\.avsc$/.exec(file);
        if (!match) throw new InvalidSchemaError(`schemas/${subject}/${file}: schema files are named v1.avsc, v2.avsc, …`);
        return { version: Number(match[1]), file };
      })
      .sort((a, b) => a.version - b.version)
      .map(({ version, file }, index) => {
        if (version !== index + 1)
          throw new InvalidSchemaError(`schemas/${subject}: versions must run 1, 2, 3… without gaps; v${index + 1}.avsc is missing`);
        return parseVersion(join(directory, subject, file), `schemas/${subject}/${file}`, version);
      });
    if (versions.length === 0) continue;
    subjects.set(subject, { subject, compatibility: levels.subjects[subject] ?? levels.default, versions, latest: versions.at(-1)! });
  }
  for (const subject of Object.keys(levels.subjects)) {
    if (!subjects.has(subject)) throw new InvalidSchemaError(`schemas/compatibility.json names subject "${subject}", which has no schemas`);
  }
  return subjects;
}

/** Every version in the set that breaks its subject's compatibility rule with the versions before it. */
export function subjectsCompatibilityProblems(subjects: ReadonlyMap<string, SubjectSchemas>): string[] {
  return [...subjects.values()].flatMap((subject) =>
    subject.versions.slice(1).flatMap((candidate, index) =>
      compatibilityProblems(
        subject.compatibility,
        subject.versions.slice(0, index + 1).map((version) => version.type),
        candidate.type,
      ).map((problem) => `${subject.subject} v${candidate.version} (${subject.compatibility}): ${problem}`),
    ),
  );
}

function parseVersion(path: string, label: string, version: number): SchemaVersion {
  let schema: Schema;
  try {
    schema = JSON.parse(readFileSync(path, 'utf8')) as Schema;
  } catch (error) {
    throw new InvalidSchemaError(`${label} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return { version, schema, type: Type.forSchema(schema) };
  } catch (error) {
    throw new InvalidSchemaError(`${label} is not a valid Avro schema: ${(error as Error).message}`);
  }
}

function readLevels(directory: string): { default: CompatibilityLevel; subjects: Record<string, CompatibilityLevel> } {
  const path = join(directory, 'compatibility.json');
  if (!existsSync(path)) return { default: 'BACKWARD', subjects: {} };
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { default?: unknown; subjects?: Record<string, unknown> };
  const level = (value: unknown, where: string): CompatibilityLevel => {
    if (!COMPATIBILITY_LEVELS.includes(value as CompatibilityLevel)) {
      throw new InvalidSchemaError(
        `schemas/compatibility.json: ${where} must be one of ${COMPATIBILITY_LEVELS.join(', ')}, got ${JSON.stringify(value)}`,
      );
    }
    return value as CompatibilityLevel;
  };
  return {
    default: raw.default === undefined ? 'BACKWARD' : level(raw.default, '"default"'),
    subjects: Object.fromEntries(
      Object.entries(raw.subjects ?? {}).map(([subject, value]) => [subject, level(value, `subject "${subject}"`)]),
    ),
  };
}
