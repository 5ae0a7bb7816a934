import { join, resolve } from 'node:path';

/** The repository root, whether this file runs from source or from a test transform. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** Git-ignored home of everything the local runtime writes: resolved jars, broker data, logs. */
export const LOCAL_STATE_DIR = join(PROJECT_ROOT, '.local');
