import { CHECKPOINT_VERSION, checkpointVerdict, type Checkpoint, type CheckpointScope } from '../../shared/cli/liberate/checkpoint';

const scope: CheckpointScope = {
  size: 120,
  modifiedMs: 1_767_225_600_000,
  clusterId: 'cluster-a',
  topic: 'merchants',
  keyField: 'merchantId',
  subject: 'merchants-value',
  endOffsets: { '0': '10', '1': '4', '2': '7' },
};

/** A checkpoint as a run against `scope` that produced 5 records leaves it. */
const saved: Checkpoint = {
  version: CHECKPOINT_VERSION,
  file: '/data/merchants.csv',
  size: 120,
  modifiedMs: 1_767_225_600_000,
  clusterId: 'cluster-a',
  topic: 'merchants',
  keyField: 'merchantId',
  subject: 'merchants-value',
  endOffsets: { '0': '8', '1': '4', '2': '7' },
  linesDone: 6,
  produced: 5,
  rejected: 0,
  completed: true,
};

describe('Function: checkpointVerdict', () => {
  it('applies on the same cluster while the topic holds at least what it recorded', () => {
    expect(checkpointVerdict(saved, scope)).toEqual({ applies: true, checkpoint: saved });
    expect(checkpointVerdict(saved, { ...scope, endOffsets: { ...saved.endOffsets, '3': '0' } })).toMatchObject({ applies: true });
  });

  it('does not apply on another cluster', () => {
    expect(checkpointVerdict(saved, { ...scope, clusterId: 'cluster-b' })).toEqual({
      applies: false,
      reason: 'it was written against cluster cluster-a, and this is cluster cluster-b',
    });
  });

  it('does not apply when the topic holds fewer records than it recorded (a fresh topic)', () => {
    const verdict = checkpointVerdict(saved, { ...scope, endOffsets: { '0': '0', '1': '0', '2': '0' } });

    expect(verdict).toEqual({
      applies: false,
      reason: expect.stringContaining('partition 0 of "merchants" ends at offset 0, short of the 8 it reached with the 5 record(s)'),
    });
  });

  it('does not apply when a recorded partition is gone', () => {
    expect(checkpointVerdict(saved, { ...scope, endOffsets: { '0': '10' } })).toMatchObject({
      applies: false,
      reason: expect.stringContaining('partition 1'),
    });
  });

  it('does not apply to another topic, key field, schema or a changed file', () => {
    expect(checkpointVerdict(saved, { ...scope, topic: 'flyers' })).toMatchObject({
      applies: false,
      reason: 'it records a liberation into topic "merchants"',
    });
    expect(checkpointVerdict(saved, { ...scope, keyField: 'id' })).toMatchObject({ applies: false });
    expect(checkpointVerdict(saved, { ...scope, subject: 'merchants-v2' })).toMatchObject({ applies: false });
    expect(checkpointVerdict(saved, { ...scope, size: 121 })).toMatchObject({
      applies: false,
      reason: expect.stringContaining('the file changed'),
    });
    expect(checkpointVerdict(saved, { ...scope, modifiedMs: 1 })).toMatchObject({
      applies: false,
      reason: expect.stringContaining('the file changed'),
    });
  });

  it('does not apply when written by an older liberate, which recorded no cluster, or when it cannot be read', () => {
    const { version: _version, clusterId: _cluster, endOffsets: _offsets, ...older } = saved;

    expect(checkpointVerdict(older, scope)).toMatchObject({
      applies: false,
      reason: expect.stringContaining('an older version of liberate'),
    });
    expect(checkpointVerdict({ unreadable: true }, scope)).toEqual({ applies: false, reason: 'it cannot be read' });
    expect(checkpointVerdict({ ...saved, endOffsets: { '0': 'many' } }, scope)).toEqual({ applies: false, reason: 'it cannot be read' });
  });
});
