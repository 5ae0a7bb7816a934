import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalConfigError } from '../../local/errors';
import { LOCAL_STATE_DIR, PROJECT_ROOT } from '../../local/paths';

/** What `npm start` was asked to do: its flags and the one variable only it reads, read and checked once. */
export interface StartOptions {
  readonly help: boolean;
  /** The pipeline module; the project's `pipeline.ts` unless --pipeline names another. */
  readonly pipelinePath: string;
  readonly usingDefaultPipeline: boolean;
  /** With --persist: where broker data and tables are kept across restarts (LOCAL_PERSIST_DIR). @default .local/state */
  readonly persistDir: string | undefined;
  /** Whether LOCAL_PERSIST_DIR is set while --persist is not (it then has no effect). */
  readonly persistDirUnused: boolean;
  /** Demo traffic, unless --no-demo; it feeds the example domain, so it runs with the project's own pipeline only. */
  readonly demo: boolean;
  readonly merchants: number;
  readonly flyers: number;
  readonly items: number;
  /** Price and stock updates a second; 0: seed the catalog (when empty) and send nothing after. */
  readonly ticksPerSecond: number;
  readonly seed: number;
}

export const PERSIST_DIR_VARIABLE = 'LOCAL_PERSIST_DIR';

export const START_USAGE =
  'Usage: npm start [-- --pipeline <module.ts>] [--persist] [--no-demo] [--merchants 50] [--flyers 500] [--items 5000] ' +
  '[--ticks 300 (price/stock updates a second; 0: seed only)] [--seed 1]\n' +
  `       ${PERSIST_DIR_VARIABLE}=<dir> npm start -- --persist   keep broker data and tables in <dir> instead of .local/state`;

/**
 * Reads `npm start`'s flags and LOCAL_PERSIST_DIR; throws {@link LocalConfigError} on a bad value.
 * Relative paths are meant from where the user typed the command (npm runs scripts from the package root).
 */
export function readStartOptions(args: readonly string[], env: NodeJS.ProcessEnv): StartOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      pipeline: { type: 'string' },
      persist: { type: 'boolean', default: false },
      'no-demo': { type: 'boolean', default: false },
      merchants: { type: 'string', default: '50' },
      flyers: { type: 'string', default: '500' },
      items: { type: 'string', default: '5000' },
      ticks: { type: 'string', default: '300' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const userCwd = env.INIT_CWD ?? process.cwd();
  const persistDirSetting = env[PERSIST_DIR_VARIABLE]?.trim() || undefined;
  return {
    help: values.help,
    pipelinePath: values.pipeline ? resolve(userCwd, values.pipeline) : resolve(PROJECT_ROOT, 'pipeline.ts'),
    usingDefaultPipeline: values.pipeline === undefined,
    persistDir: values.persist ? persistDir(persistDirSetting, userCwd) : undefined,
    persistDirUnused: !values.persist && persistDirSetting !== undefined,
    demo: !values['no-demo'],
    merchants: count(values.merchants, 'merchants', 1),
    flyers: count(values.flyers, 'flyers', 1),
    items: count(values.items, 'items', 1),
    ticksPerSecond: count(values.ticks, 'ticks', 0),
    seed: count(values.seed, 'seed', 1),
  };
}

function persistDir(setting: string | undefined, userCwd: string): string {
  if (setting === undefined) return resolve(LOCAL_STATE_DIR, 'state');
  const dir = resolve(userCwd, setting);
  let isDirectory = true;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // Not there yet: the broker and dynalite create it.
  }
  if (!isDirectory)
    throw new LocalConfigError(`${PERSIST_DIR_VARIABLE} must name a directory (or where to make one), but ${dir} is a file`);
  return dir;
}

function count(value: string | undefined, flag: string, min: number): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min)
    throw new LocalConfigError(`--${flag} must be a whole number ≥ ${min}, got "${value}"`);
  return parsed;
}
