import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subjectsCompatibilityProblems, InvalidSchemaError, loadSubjectSchemas } from '../../shared/schemas';

const REPOSITORY_SCHEMAS = join(__dirname, '..', '..', 'schemas');

/** A schemas/ folder with the given files, for the catalog's own checks. */
function schemasFolder(files: Record<string, unknown>): string {
  const directory = mkdtempSync(join(tmpdir(), 'schemas-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(directory, path, '..'), { recursive: true });
    writeFileSync(join(directory, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return directory;
}

const item = (fields: unknown[]) => ({ type: 'record', name: 'Item', fields });

describe('The schemas versioned in the repository', () => {
  it('every version of every subject keeps its compatibility rule with the versions before it', () => {
    const catalog = loadSubjectSchemas(REPOSITORY_SCHEMAS);

    expect(catalog.size).toBeGreaterThan(0);
    expect(subjectsCompatibilityProblems(catalog)).toEqual([]);
  });

  it('keeps the Core Events fully compatible in both directions across all versions', () => {
    const catalog = loadSubjectSchemas(REPOSITORY_SCHEMAS);

    for (const subject of ['offers-value', 'price-deltas-value', 'stock-deltas-value'])
      expect(catalog.get(subject)?.compatibility).toBe('FULL_TRANSITIVE');
    expect(catalog.get('items-value')?.compatibility).toBe('BACKWARD');
  });
});

describe('loadSubjectSchemas', () => {
  it('finds a breaking change in a subject’s history, naming subject, version and rule', () => {
    const directory = schemasFolder({
      'items-value/v1.avsc': item([{ name: 'itemId', type: 'string' }]),
      'items-value/v2.avsc': item([
        { name: 'itemId', type: 'string' },
        { name: 'flyerId', type: 'string' },
      ]),
    });

    expect(subjectsCompatibilityProblems(loadSubjectSchemas(directory))).toEqual([
      expect.stringMatching(/^items-value v2 \(BACKWARD\): the new schema cannot read data written with version 1/),
    ]);
  });

  it('accepts the same change made compatible with a default', () => {
    const directory = schemasFolder({
      'items-value/v1.avsc': item([{ name: 'itemId', type: 'string' }]),
      'items-value/v2.avsc': item([
        { name: 'itemId', type: 'string' },
        { name: 'flyerId', type: ['null', 'string'], default: null },
      ]),
    });

    expect(subjectsCompatibilityProblems(loadSubjectSchemas(directory))).toEqual([]);
  });

  it('refuses a gap in the version numbers, a file that is not Avro, and a level that does not exist', () => {
    expect(() => loadSubjectSchemas(schemasFolder({ 'a-value/v1.avsc': item([]), 'a-value/v3.avsc': item([]) }))).toThrow(
      /v2\.avsc is missing/,
    );
    expect(() => loadSubjectSchemas(schemasFolder({ 'a-value/v1.avsc': { type: 'record', fields: 3 } }))).toThrow(InvalidSchemaError);
    expect(() => loadSubjectSchemas(schemasFolder({ 'a-value/v1.avsc': item([]), 'compatibility.json': { default: 'SIDEWAYS' } }))).toThrow(
      /must be one of BACKWARD/,
    );
  });
});
