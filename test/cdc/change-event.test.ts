import { InvalidChangeError, isNewerChange, parseChangeEvent } from '../../shared/cdc';

const event = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields));
const source = (lsn: number, snapshot: string | boolean = 'false') => ({ lsn, snapshot, table: 'merchants' });

describe('Function: parseChangeEvent', () => {
  it('reads a snapshot read, an insert, an update and a delete with their positions', () => {
    expect(parseChangeEvent(event({ op: 'r', before: null, after: { id: 'm-1' }, source: source(100, 'first') }))).toEqual({
      op: 'r',
      before: null,
      after: { id: 'm-1' },
      position: { lsn: 100, snapshot: true },
    });
    expect(parseChangeEvent(event({ op: 'u', before: null, after: { id: 'm-1' }, source: source(120) })).position).toEqual({
      lsn: 120,
      snapshot: false,
    });
    expect(parseChangeEvent(event({ op: 'd', before: { id: 'm-1' }, after: null, source: source(130) })).before).toEqual({ id: 'm-1' });
  });

  it.each([
    ['a value that is not JSON', Buffer.from('{"op'), /not JSON/],
    ['a truncate', event({ op: 't', source: source(1) }), /op "t"/],
    ['an insert without its row', event({ op: 'c', before: null, after: null, source: source(1) }), /no after row/],
    ['a delete without the deleted row', event({ op: 'd', before: null, after: null, source: source(1) }), /no before row/],
    ['a change without its LSN', event({ op: 'c', before: null, after: { id: 1 }, source: {} }), /source\.lsn/],
  ])('refuses %s as an invalid change, saying why', (_case, bytes, reason) => {
    expect(() => parseChangeEvent(bytes)).toThrow(InvalidChangeError);
    expect(() => parseChangeEvent(bytes)).toThrow(reason);
  });
});

describe('Function: isNewerChange', () => {
  it('takes a higher LSN as newer, and the same or a lower one as a repeat', () => {
    expect(isNewerChange({ lsn: 5, snapshot: false }, undefined)).toBe(true);
    expect(isNewerChange({ lsn: 6, snapshot: false }, { lsn: 5, snapshot: false })).toBe(true);
    expect(isNewerChange({ lsn: 5, snapshot: false }, { lsn: 5, snapshot: false })).toBe(false);
    expect(isNewerChange({ lsn: 4, snapshot: false }, { lsn: 5, snapshot: false })).toBe(false);
  });

  it('lets a streamed change follow a snapshot read even with a lower LSN, and a snapshot read never undo a streamed change', () => {
    expect(isNewerChange({ lsn: 90, snapshot: false }, { lsn: 100, snapshot: true })).toBe(true);
    expect(isNewerChange({ lsn: 100, snapshot: true }, { lsn: 120, snapshot: false })).toBe(false);
    // A snapshot taken again later (its connector's offsets lost) is newer than what streamed before it.
    expect(isNewerChange({ lsn: 200, snapshot: true }, { lsn: 120, snapshot: false })).toBe(true);
  });
});
