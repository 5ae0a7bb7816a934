import { join, resolve } from 'node:path';

/** The repository root, whether this file runs from source or from a test transform. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** Git-ignored home of everything the local runtime writes: resolved jars, broker data, logs. */
export const LOCAL_STATE_DIR = join(PROJECT_ROOT, '.local');

/** The file-backed schema registry `npm start`, its functions and the CLI share unless SCHEMA_REGISTRY_URL or _FILE says otherwise. */
export const LOCAL_SCHEMA_REGISTRY_FILE = join(LOCAL_STATE_DIR, 'schema-registry.json');
