import { defineHotStream, HotPathError } from '../../shared/hot-path';
import { definePriceStream, parsePriceUpdate, type PriceUpdate } from '../../example';

const base = {
  name: 'prices',
  inputTopic: 'prices.updates',
  outputTopic: 'prices.deltas',
  deadLetterTopic: 'prices.dlq',
  minEmitIntervalMs: 1_000,
  parse: parsePriceUpdate,
  stateKey: (itemId: string) => itemId,
  sameValue: (a: PriceUpdate, b: PriceUpdate) => a.amountMinor === b.amountMinor,
};

describe('defineHotStream', () => {
  it('coalesces within a batch only unless a coalesce window is declared', () => {
    expect(defineHotStream(base).coalesceWindowMs).toBe(0);
    expect(defineHotStream({ ...base, coalesceWindowMs: 5_000 }).coalesceWindowMs).toBe(5_000);
  });

  it('refuses a coalesce window that is negative, fractional or longer than 15 minutes', () => {
    for (const coalesceWindowMs of [-1, 1.5, 15 * 60_000 + 1]) {
      expect(() => defineHotStream({ ...base, coalesceWindowMs })).toThrow(
        /coalesceWindowMs must be a whole number of milliseconds from 0 to 900000/,
      );
    }
  });

  it('refuses a pass-through rule without mayPassThrough when updates are held back, since it could not be judged in time', () => {
    const declaration = {
      ...base,
      coalesceWindowMs: 1_000,
      passThrough: (_previous: PriceUpdate | null, next: PriceUpdate) => next.amountMinor === 0,
    };

    expect(() => defineHotStream(declaration)).toThrow(HotPathError);
    expect(() => defineHotStream(declaration)).toThrow(/a passThrough needs mayPassThrough too/);
    expect(defineHotStream({ ...declaration, mayPassThrough: (next) => next.amountMinor === 0 }).mayPassThrough(next0())).toBe(true);
  });

  it('lets urgent price updates skip the buffer in the price stream defaults', () => {
    const stream = definePriceStream({
      name: 'p',
      inputTopic: 'p.in',
      outputTopic: 'p.out',
      deadLetterTopic: 'p.dlq',
      minEmitIntervalMs: 1_000,
      coalesceWindowMs: 1_000,
    });

    expect(stream.mayPassThrough({ ...next0(), urgent: true })).toBe(true);
    expect(stream.mayPassThrough(next0())).toBe(false);
  });
});

function next0(): PriceUpdate {
  return { version: 1, sourceTimestamp: 1, amountMinor: 0, currency: 'EUR' };
}
