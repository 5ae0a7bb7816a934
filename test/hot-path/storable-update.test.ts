import { MAX_STATE_KEY_BYTES, MAX_UPDATE_BYTES, whyUnstorable } from '../../shared/hot-path';

const order = { version: 3, sourceTimestamp: 1_767_225_600_000 };

describe('Function: whyUnstorable', () => {
  it('takes a non-empty key up to the limit and whole or fractional numbers DynamoDB holds', () => {
    expect(whyUnstorable('item-1', order)).toBeUndefined();
    expect(whyUnstorable('é'.repeat(MAX_STATE_KEY_BYTES / 2), order)).toBeUndefined();
    expect(whyUnstorable('item-1', { version: 0, sourceTimestamp: 1.5 })).toBeUndefined();
  });

  it('refuses an empty state key, which DynamoDB refuses as a key', () => {
    expect(whyUnstorable('', order)).toBe('the state key is empty (DynamoDB refuses an empty key)');
  });

  it('refuses a state key longer than the limit in UTF-8 bytes, not characters', () => {
    expect(whyUnstorable('é'.repeat(MAX_STATE_KEY_BYTES / 2 + 1), order)).toMatch(
      /^state key of 514 bytes is longer than a hot stream takes \(512 bytes/,
    );
  });

  it.each([
    ['NaN', Number.NaN, /^version must be a finite number, not NaN/],
    ['Infinity', Number.POSITIVE_INFINITY, /^version must be a finite number, not Infinity/],
    ['a string', '7', /^version must be a finite number, not 7/],
    ['a number beyond 2^53 − 1', 1e200, /^version 1e\+200 is beyond ±\(2\^53 − 1\)/],
    ['a number closer to 0 than 1E-130', 1e-200, /^version 1e-200 is closer to 0 than DynamoDB stores/],
  ])('refuses a version that is %s, which the document client or DynamoDB refuses on every retry', (_label, version, reason) => {
    expect(whyUnstorable('item-1', { ...order, version: version as number })).toMatch(reason);
  });

  it('judges the source timestamp as the version', () => {
    expect(whyUnstorable('item-1', { ...order, sourceTimestamp: Number.NaN })).toMatch(/^sourceTimestamp must be a finite number/);
  });

  it('leaves two largest updates, the key and the bookkeeping well inside a 400 KB DynamoDB item', () => {
    expect(2 * MAX_UPDATE_BYTES + MAX_STATE_KEY_BYTES + 1_024).toBeLessThan(400 * 1024);
  });
});
