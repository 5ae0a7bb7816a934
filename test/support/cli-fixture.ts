import { join } from 'node:path';
import type { Pipeline } from '../../shared/pipeline';

/** The command-line tests' pipeline: the example domain under the prefix in CLI_TEST_PREFIX. */
export const CLI_PIPELINE = join(__dirname, '..', 'fixtures', 'cli-pipeline.ts');

/**
 * The fixture pipeline under `prefix`, as `platform --pipeline` run with CLI_TEST_PREFIX=`prefix`
 * loads it: sets the variable in this process too, and loads the module afresh (it reads the
 * prefix once, when it is loaded).
 */
export function loadCliPipeline(prefix: string): Pipeline {
  process.env.CLI_TEST_PREFIX = prefix;
  let pipeline: Pipeline | undefined;
  jest.isolateModules(() => {
    pipeline = (require(CLI_PIPELINE) as { default: Pipeline }).default;
  });
  return pipeline!;
}
