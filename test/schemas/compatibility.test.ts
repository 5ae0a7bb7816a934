import { Type, type Schema } from 'avsc';
import { compatibilityProblems } from '../../shared/schemas';

const record = (fields: unknown[]): Type => Type.forSchema({ type: 'record', name: 'Item', fields } as Schema);
const v1 = record([
  { name: 'itemId', type: 'string' },
  { name: 'name', type: 'string' },
]);

describe('compatibilityProblems', () => {
  it('accepts a field added with a default under BACKWARD and FULL: new consumers read old data, old consumers ignore it', () => {
    const v2 = record([
      { name: 'itemId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'category', type: 'string', default: 'none' },
    ]);

    expect(compatibilityProblems('BACKWARD', [v1], v2)).toEqual([]);
    expect(compatibilityProblems('FULL', [v1], v2)).toEqual([]);
  });

  it('refuses a field added without a default under BACKWARD: old data has no value for it', () => {
    const v2 = record([
      { name: 'itemId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'category', type: 'string' },
    ]);

    const problems = compatibilityProblems('BACKWARD', [v1], v2);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^the new schema cannot read data written with version 1: .*category/);
  });

  it('refuses under FORWARD the removal of a field old consumers need, though BACKWARD allows it', () => {
    const v2 = record([{ name: 'itemId', type: 'string' }]);

    expect(compatibilityProblems('BACKWARD', [v1], v2)).toEqual([]);
    expect(compatibilityProblems('FORWARD', [v1], v2)).toEqual([
      expect.stringMatching(/^version 1 cannot read data written with the new schema: .*name/),
    ]);
  });

  it('allows an int widened to a long for new readers, but not a string turned into a number', () => {
    const count = (type: string) => record([{ name: 'count', type }]);

    expect(compatibilityProblems('BACKWARD', [count('int')], count('long'))).toEqual([]);
    expect(compatibilityProblems('BACKWARD', [count('string')], count('long'))).toHaveLength(1);
  });

  it('checks every earlier version under a transitive level, only the last one otherwise', () => {
    const v2 = record([
      { name: 'itemId', type: 'string' },
      { name: 'name', type: 'string', default: '' },
    ]);
    const v3 = record([
      { name: 'itemId', type: 'string' },
      { name: 'name', type: 'string', default: '' },
      { name: 'category', type: 'string' },
    ]);
    const v2WithoutName = record([{ name: 'itemId', type: 'string' }]);
    const v3WithName = record([
      { name: 'itemId', type: 'string' },
      { name: 'name', type: 'string' },
    ]);

    expect(compatibilityProblems('BACKWARD', [v1, v2], v3)).toHaveLength(1);
    expect(compatibilityProblems('FORWARD', [v1, v2WithoutName], v3WithName)).toEqual([]);
    expect(compatibilityProblems('FORWARD_TRANSITIVE', [v1, v2WithoutName], v3WithName)).toEqual([]);
    expect(compatibilityProblems('BACKWARD_TRANSITIVE', [v1, v2WithoutName], v3WithName)).toEqual([
      expect.stringMatching(/version 2: .*name/),
    ]);
  });

  it('allows anything under NONE', () => {
    expect(compatibilityProblems('NONE', [v1], record([{ name: 'other', type: 'int' }]))).toEqual([]);
  });
});
