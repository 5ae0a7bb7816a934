import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  importCycles,
  importGraph,
  importsNotRunningDown,
  moduleOf,
  reachableFrom,
  ROOT,
  sourceFiles,
  type ImportGraph,
} from './import-graph';

/**
 * The house's layers, bottom first. A module may import only modules of a
 * lower layer: never one beside it, never one above it. A new folder under
 * shared/ (or at the root) must be placed here before its code can land.
 */
const LAYERS: readonly (readonly string[])[] = [
  // The ground: no imports of the project's own.
  ['shared/errors', 'shared/concurrency', 'shared/random', 'shared/maven'],
  // Configuration, the Lambda MSK contract, telemetry, trace context, DynamoDB metering.
  ['shared/config', 'shared/msk', 'shared/tracing', 'shared/observability', 'shared/dynamodb'],
  // Kafka clients and the schemas (value formats, registries).
  ['shared/kafka', 'shared/schemas'],
  // Writing records: dead letters, the entity producer, the entity projection.
  ['shared/dead-letter', 'shared/production', 'shared/entity-projection'],
  // The processing libraries: joins, hot streams, change-data-capture mappings.
  ['shared/fk-join', 'shared/hot-path', 'shared/cdc'],
  // The pipeline declaration's types and validation.
  ['shared/pipeline'],
  // The example domain, built on the library.
  ['example'],
  // The pipeline declaration.
  ['pipeline.ts'],
  // What is deployed: the handlers and the stacks.
  ['functions', 'cdk'],
  // What only runs locally: the local runtime and its event-source emulator.
  ['shared/local'],
  // The command line (npm start is one of its commands).
  ['shared/cli'],
  ['bin'],
];

/** The folders and files that hold the house's code (tests, fixtures and schemas aside). */
const SOURCE_ROOTS = ['shared', 'functions', 'cdk', 'example', 'bin', 'pipeline.ts'];

const graph = importGraph(sourceFiles(SOURCE_ROOTS));

describe('The import layers', () => {
  it('place every source folder in a layer', () => {
    const declared = LAYERS.flat();
    const folders = [
      ...readdirSync(join(ROOT, 'shared'), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `shared/${entry.name}`),
      ...SOURCE_ROOTS.filter((root) => root !== 'shared'),
    ];

    expect(folders.filter((folder) => !declared.includes(folder))).toEqual([]);
    expect(declared.filter((module) => !folders.includes(module))).toEqual([]);
  });

  it('run every import down to a lower layer', () => {
    expect(importsNotRunningDown(graph, LAYERS)).toEqual([]);
  });

  it('hold no import cycle between files', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('keep the local runtime and the command line out of everything that is deployed', () => {
    const deployedEntries = sourceFiles(['functions', 'cdk']);
    const reached = [...reachableFrom(graph, deployedEntries)];

    expect(deployedEntries.length).toBeGreaterThan(5);
    expect(reached.filter((file) => moduleOf(file, ['shared/local', 'shared/cli']) !== undefined)).toEqual([]);
  });
});

describe('The layer check itself', () => {
  const toy: ImportGraph = new Map([
    ['shared/errors/index.ts', []],
    ['shared/msk/event.ts', ['shared/errors/index.ts']],
    ['shared/fk-join/a.ts', ['shared/msk/event.ts', 'shared/fk-join/b.ts']],
    ['shared/fk-join/b.ts', ['shared/fk-join/a.ts']],
    ['shared/msk/records.ts', ['shared/fk-join/a.ts']],
  ]);
  const toyLayers = [['shared/errors'], ['shared/msk'], ['shared/fk-join']];

  it('finds an import that runs back up, naming both files and layers', () => {
    expect(importsNotRunningDown(toy, toyLayers)).toEqual([
      'shared/msk/records.ts → shared/fk-join/a.ts (shared/msk, layer 1 → shared/fk-join, layer 2)',
    ]);
  });

  it('finds an import between two modules of the same layer', () => {
    expect(importsNotRunningDown(toy, [['shared/errors'], ['shared/msk', 'shared/fk-join']])).toHaveLength(2);
  });

  it('finds a cycle of files', () => {
    expect(importCycles(toy)).toEqual([['shared/fk-join/a.ts', 'shared/fk-join/b.ts']]);
  });

  it('reads the imports of a real file, resolved to files', () => {
    expect(graph.get('shared/msk/index.ts')).toEqual(
      expect.arrayContaining(['shared/msk/batch-response.ts', 'shared/msk/event.ts', 'shared/msk/records.ts']),
    );
  });
});
