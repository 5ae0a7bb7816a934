import { buildSync } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_SIZE_BUDGET_BYTES, platformEsbuildOptions } from '../../cdk/constructs/platform-function';

const FUNCTIONS = join(__dirname, '..', '..', 'functions');
const entries = readdirSync(FUNCTIONS).map((name) => join(FUNCTIONS, name, 'handler.ts'));

describe('CDK: function bundles', () => {
  it.each(entries)('bundles %s with the project options within the 500 KB budget', (entry) => {
    const result = buildSync({ ...platformEsbuildOptions(entry), logLevel: 'silent' });
    const bundle = (result.outputFiles ?? []).find((file) => file.path.endsWith('.mjs'))!;

    expect(result.errors).toEqual([]);
    expect(bundle.contents.byteLength).toBeGreaterThan(1_000);
    expect(bundle.contents.byteLength).toBeLessThanOrEqual(BUNDLE_SIZE_BUDGET_BYTES);
  });
});
