import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/paths';
import {
  subjectsCompatibilityProblems,
  HttpSchemaRegistry,
  loadSubjectSchemas,
  SCHEMA_REGISTRY_VARIABLES,
  type SchemaRegistry,
} from '../../schemas';
import { CliError, UsageError, type CliContext } from '../context';

/**
 * `schemas check`: every version keeps its subject's compatibility rule.
 * `schemas publish [--registry-url URL]`: sets each subject's compatibility
 * level and registers every version, oldest first, with a Schema Registry
 * (--registry-url, or with --env the environment's), or the local
 * file-backed stand-in (.local/schema-registry.json).
 */
export async function schemasCommand(context: CliContext, action: string | undefined, registryUrl: string | undefined): Promise<void> {
  const subjects = loadSubjectSchemas(join(PROJECT_ROOT, 'schemas'));
  if (action === 'check') {
    const problems = subjectsCompatibilityProblems(subjects);
    context.print({ subjects: subjects.size, problems }, () =>
      problems.length === 0 ? `${subjects.size} subjects, every version compatible` : problems.join('\n'),
    );
    if (problems.length > 0) throw new CliError(`${problems.length} incompatible schema change(s)`);
    return;
  }
  if (action !== 'publish') throw new UsageError('schemas needs an action: check or publish');
  // --registry-url names one; otherwise the registry every other command uses (`npm start`'s, or with --env the environment's).
  const registry: SchemaRegistry = registryUrl
    ? new HttpSchemaRegistry(registryUrl, context.env.SCHEMA_REGISTRY_CREDENTIALS)
    : context.schemaPublisher();
  const published: Array<{ subject: string; version: number; id: number }> = [];
  for (const subject of subjects.values()) {
    // The registry enforces the repository's level on later registrations, not just its global default.
    await registry.setCompatibility?.(subject.subject, subject.compatibility);
    for (const version of subject.versions)
      published.push({ subject: subject.subject, version: version.version, id: await registry.register(subject.subject, version.schema) });
  }
  context.print(
    { registry: registryUrl || context.target.schemaPublishingEnvironment[SCHEMA_REGISTRY_VARIABLES.url] || 'local file', published },
    () => published.map((entry) => `${entry.subject} v${entry.version} → id ${entry.id}`).join('\n'),
  );
}
