/** What `platform liberate` is made of: reading snapshots, its checkpoint, the topics it refuses, its progress line. */
export {
  CHECKPOINT_VERSION,
  checkpointPathOf,
  checkpointVerdict,
  endOffsetsByPartition,
  readCheckpoint,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointScope,
  type CheckpointVerdict,
} from './checkpoint';
export { CsvParser, readCsvRows, type CsvRow } from './csv-parser';
export { formatBytes, formatDuration, LiberationProgress, type ProgressOptions, type ProgressState } from './liberation-progress';
export { convert, fieldTypes, openSnapshot, type Snapshot, type SnapshotRow } from './open-snapshot';
export { writersOf } from './writers-of';
