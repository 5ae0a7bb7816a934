import { join } from 'node:path';
import { loadSubjectSchemas, type SubjectSchemas } from './subject-schemas';

/** Where a deployed function finds the schemas shipped with its bundle (the CDK construct sets it). */
export const SCHEMAS_DIR_VARIABLE = 'PLATFORM_SCHEMAS_DIR';

let loaded: Map<string, SubjectSchemas> | undefined;

/**
 * The schemas versioned in the repository's `schemas/` folder, read once. A
 * deployed function reads the copy its bundle carries, named by
 * PLATFORM_SCHEMAS_DIR (an ESM bundle has no `__dirname`).
 */
export function repositorySchemas(env: NodeJS.ProcessEnv = process.env): Map<string, SubjectSchemas> {
  loaded ??= loadSubjectSchemas(
    env[SCHEMAS_DIR_VARIABLE] ?? join(typeof __dirname === 'string' ? join(__dirname, '..', '..') : process.cwd(), 'schemas'),
  );
  return loaded;
}
