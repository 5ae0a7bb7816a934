/**
 * `npm run bench` (fourth part): the size of every function's bundle, built
 * with the project's bundling options, against the 500 KB budget the tests enforce.
 */
import { buildSync } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BUNDLE_SIZE_BUDGET_BYTES, platformEsbuildOptions } from '../../cdk/constructs/platform-function';

export async function benchFunctionBundles(): Promise<void> {
  const root = join(__dirname, '..', '..');
  const functions = join(root, 'functions');
  const rows = readdirSync(functions).map((name) => {
    const entry = join(functions, name, 'handler.ts');
    const started = process.hrtime.bigint();
    const result = buildSync({ ...platformEsbuildOptions(entry), logLevel: 'silent' });
    const bundle = (result.outputFiles ?? []).find((file) => file.path.endsWith('.mjs'))!;
    return {
      function: relative(root, entry),
      'minified KB': Number((bundle.contents.byteLength / 1024).toFixed(1)),
      'of budget': `${((100 * bundle.contents.byteLength) / BUNDLE_SIZE_BUDGET_BYTES).toFixed(0)}%`,
      'build ms': Number((Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)),
    };
  });
  console.log(
    `\nFunction bundles (ESM, minified, node22, AWS SDK v3 from the runtime); budget ${BUNDLE_SIZE_BUDGET_BYTES / 1024} KB each.`,
  );
  console.table(rows);
}
