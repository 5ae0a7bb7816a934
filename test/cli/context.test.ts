import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileError, loadPipeline } from '../../shared/cli/context';
import { CliError, UsageError } from '../../shared/cli/errors';

/** What @swc-node/register throws for a module that does not parse: swc's diagnostic, then a native backtrace. */
const SWC_REPORT = [
  'Error:   x Expression expected',
  '   ,-[/work/my-pipeline.ts:2:1]',
  ' 1 | import { definePipeline } from "./shared/pipeline";',
  ' 2 | export default definePipeline({ name: "x", topics: [ }) ;',
  '   :                                                      ^',
  '   `----',
  '',
  '',
  'Caused by:',
  '    Syntax Error',
  '',
  'Stack backtrace:',
  '   0: <unknown>',
  '   7: _ZN6v8impl12_GLOBAL__N_123FunctionCallbackWrapper6InvokeERKN2v820FunctionCallbackInfoINS2_5ValueEEE',
].join('\n');

describe('Function: compileError', () => {
  it('reads file, line, column and what from the compiler’s report, leaving the backtrace out', () => {
    const message = compileError(SWC_REPORT);

    expect(message).toBe(
      '/work/my-pipeline.ts:2:54: Expression expected\n  export default definePipeline({ name: "x", topics: [ }) ;\n                                                       ^',
    );
    expect(message).not.toMatch(/backtrace|_ZN/);
  });

  it('is undefined for an error that is not a compiler report', () => {
    expect(compileError('x is not a function')).toBeUndefined();
  });
});

describe('Function: loadPipeline', () => {
  it('makes a missing module a usage error, and one that throws while loading a failure with its message', () => {
    const directory = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const throwing = join(directory, 'throws.js');
    writeFileSync(throwing, 'throw new TypeError("definePipelin is not a function");');

    expect(() => loadPipeline(join(directory, 'none.ts'), true)).toThrow(UsageError);
    expect(() => loadPipeline(join(directory, 'none.ts'), true)).toThrow(/^--pipeline .*none\.ts: no such module$/);
    expect(() => loadPipeline(throwing, true)).toThrow(CliError);
    expect(() => loadPipeline(throwing, true)).toThrow(/throws\.js failed while loading: TypeError: definePipelin is not a function$/);
  });
});
