import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sourceFiles } from './import-graph';

/**
 * Where a process reads its environment: once, at its entry, and hands it down.
 * Each entry here says why it reads `process.env`; library code takes the
 * environment (or the configuration parsed from it) as a parameter.
 */
const READS_THE_ENVIRONMENT: Readonly<Record<string, string>> = {
  'functions/items-with-flyer/handler.ts': 'a deployed function: its handler module reads the environment at cold start',
  'functions/offers/handler.ts': 'a deployed function',
  'functions/prices/handler.ts': 'a deployed function',
  'functions/stocks/handler.ts': 'a deployed function',
  'functions/merchant-directory/handler.ts': 'a deployed function',
  'functions/hot-flush-ticker/handler.ts': 'a deployed function',
  'functions/merchants-from-monolith/handler.ts': 'a deployed function',
  'shared/cli/context.ts': 'the CLI: every command gets the environment from its context',
  'shared/cli/start/start.ts': 'npm start: the local runtime is configured from here',
  'example/catalog.ts': 'the declaration: its formats find the registry the running process names, on first use',
  'shared/local/run-pipeline.ts': 'the local stand-in for Lambda sets the environment of the functions it runs',
  'shared/schemas/repository-schemas.ts': 'where the schemas folder is: a deployed bundle carries its copy (PLATFORM_SCHEMAS_DIR)',
};

/** Source text without comments, so a doc comment that names `process.env` does not count as a read. */
function code(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('Reading the environment', () => {
  const files = sourceFiles(['shared', 'functions', 'cdk', 'example', 'bin', 'pipeline.ts']);

  it('happens only at the entry points that say why', () => {
    const readers = files.filter((file) => /\bprocess\.env\b/.test(code(file)));

    expect(readers.filter((file) => READS_THE_ENVIRONMENT[file] === undefined)).toEqual([]);
  });

  it('lists no entry point that no longer reads it', () => {
    const stale = Object.keys(READS_THE_ENVIRONMENT).filter((file) => !/\bprocess\.env\b/.test(code(file)));

    expect(stale).toEqual([]);
  });
});
