import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disabledMappings, isMappingEnabled, setMappingEnabled, watchMappingSwitches } from '../../shared/local/mapping-switches';

describe('Module: mapping switches', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mapping-switches-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has every mapping enabled until one is disabled, and lists the disabled ones', () => {
    expect(isMappingEnabled(dir, 'items-with-flyer.left')).toBe(true);

    setMappingEnabled(dir, 'items-with-flyer.left', false);

    expect(isMappingEnabled(dir, 'items-with-flyer.left')).toBe(false);
    expect(isMappingEnabled(dir, 'offers.right')).toBe(true);
    expect(disabledMappings(dir)).toEqual(['items-with-flyer.left']);
    setMappingEnabled(dir, 'items-with-flyer.left', true);
    expect(disabledMappings(dir)).toEqual([]);
  });

  it('tells a watcher when a switch flips, once per flip', async () => {
    const seen: Array<[string, boolean]> = [];
    const stop = watchMappingSwitches(dir, ['prices', 'stocks'], (name, enabled) => seen.push([name, enabled]), 20);
    try {
      setMappingEnabled(dir, 'prices', false);
      await new Promise((resolve) => setTimeout(resolve, 100));
      setMappingEnabled(dir, 'prices', true);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      stop();
    }
    expect(seen).toEqual([
      ['prices', false],
      ['prices', true],
    ]);
  });
});
