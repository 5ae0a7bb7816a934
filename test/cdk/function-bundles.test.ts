import { buildSync } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_SIZE_BUDGET_BYTES, platformEsbuildOptions } from '../../cdk/constructs/platform-function';
import pipeline from '../../pipeline';

const ROOT = join(__dirname, '..', '..');
const FUNCTIONS = join(ROOT, 'functions');
const entries = readdirSync(FUNCTIONS).map((name) => join(FUNCTIONS, name, 'handler.ts'));

/** Every variable any function reads at cold start, as the stacks set them. */
const COLD_START_ENVIRONMENT = {
  ...Object.assign({}, ...pipeline.consumers.map((consumer) => consumer.environment)),
  KAFKA_BROKERS: '127.0.0.1:9',
  HOT_FLUSH_TOPICS: 'price-updates',
  AWS_REGION: 'eu-west-1',
};

describe('CDK: function bundles', () => {
  it.each(entries)('bundles %s with the project options within the 500 KB budget, and the bundle loads as an ESM module', (entry) => {
    const result = buildSync({ ...platformEsbuildOptions(entry), logLevel: 'silent' });
    const bundle = (result.outputFiles ?? []).find((file) => file.path.endsWith('.mjs'))!;

    expect(result.errors).toEqual([]);
    expect(bundle.contents.byteLength).toBeGreaterThan(1_000);
    expect(bundle.contents.byteLength).toBeLessThanOrEqual(BUNDLE_SIZE_BUDGET_BYTES);

    // Cold start as in Lambda: the bundle alone (schemas beside it, as the construct ships them), no TypeScript.
    const directory = mkdtempSync(join(tmpdir(), 'bundle-'));
    writeFileSync(join(directory, 'index.mjs'), bundle.contents);
    cpSync(join(ROOT, 'schemas'), join(directory, 'schemas'), { recursive: true });
    // The one package the Lambda runtime provides (kept out of the bundle): the AWS SDK v3.
    mkdirSync(join(directory, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules', '@aws-sdk'), join(directory, 'node_modules', '@aws-sdk'));
    const loaded = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('./index.mjs'); console.log(Object.keys(m).sort().join(','));"],
      {
        cwd: directory,
        env: {
          PATH: process.env.PATH,
          ...COLD_START_ENVIRONMENT,
          PLATFORM_SCHEMAS_DIR: join(directory, 'schemas'),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        encoding: 'utf8',
      },
    );
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toMatch(/^(handler|left,right)$/);
  });
});
