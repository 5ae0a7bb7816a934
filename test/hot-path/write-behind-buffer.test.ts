import { definePriceStream, type PriceUpdate } from '../../example';
import { WriteBehindBuffer, type HotUpdateRecord } from '../../shared/hot-path';

const stream = definePriceStream({
  name: 'p',
  inputTopic: 'p.in',
  outputTopic: 'p.out',
  deadLetterTopic: 'p.dlq',
  minEmitIntervalMs: 1_000,
  coalesceWindowMs: 1_000,
});
const record = (recordKey: string, version: number, offset: number, partition = 0): HotUpdateRecord<PriceUpdate> => ({
  recordKey,
  offset,
  partition,
  update: { version, sourceTimestamp: version, amountMinor: version * 10, currency: 'EUR' },
});

describe('WriteBehindBuffer', () => {
  it('keeps the newest update per key of a partition across additions', () => {
    const buffer = new WriteBehindBuffer(stream, 1_000, 100);
    buffer.add([record('a', 1, 0), record('a', 3, 1)], 0);
    buffer.add([record('a', 2, 2), record('b', 1, 3)], 10);

    const taken = buffer.take(0);

    expect([...taken!.updates].map(([key, held]) => [key, held.update.version])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(taken!.since).toBe(0);
    expect(buffer.take(0)).toBeUndefined();
  });

  it('is due when the window since the oldest held update has passed, or the partition holds too many keys', () => {
    const buffer = new WriteBehindBuffer(stream, 1_000, 2);
    buffer.add([record('a', 1, 0)], 0);
    buffer.add([record('x', 1, 0, 1)], 0);
    buffer.add([record('y', 1, 1, 1)], 0);

    expect(buffer.isDue(0, 999)).toBe(false);
    expect(buffer.isDue(0, 1_000)).toBe(true);
    expect(buffer.isDue(1, 0)).toBe(true);
    expect(buffer.isDue(2, 5_000)).toBe(false);
  });

  it('holds updates put back without letting them override newer ones buffered meanwhile, and keeps the older window start', () => {
    const buffer = new WriteBehindBuffer(stream, 1_000, 100);
    buffer.add([record('a', 1, 0)], 0);
    const taken = buffer.take(0)!;
    buffer.add([record('a', 2, 1)], 500);

    buffer.putBack(taken, taken.updates.values());

    const held = buffer.take(0);
    expect(held?.updates.get('a')?.update.version).toBe(2);
    expect(held?.since).toBe(0);
  });
});
