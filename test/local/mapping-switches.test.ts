import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disabledMappings, isMappingEnabled, setMappingEnabled, watchMappingSwitches } from '../../shared/local/mapping-switches';

describe('Module: mapping switches', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'mapping-switches-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('has every mapping enabled until one is disabled, and lists the disabled ones', () => {
    expect(isMappingEnabled(stateDir, 'items-with-flyer.left')).toBe(true);

    setMappingEnabled(stateDir, 'items-with-flyer.left', false);

    expect(isMappingEnabled(stateDir, 'items-with-flyer.left')).toBe(false);
    expect(isMappingEnabled(stateDir, 'offers.right')).toBe(true);
    expect(disabledMappings(stateDir)).toEqual(['items-with-flyer.left']);
    setMappingEnabled(stateDir, 'items-with-flyer.left', true);
    expect(disabledMappings(stateDir)).toEqual([]);
  });

  it('tells a watcher when a switch flips, once per flip', async () => {
    const seen: Array<[string, boolean]> = [];
    const stop = watchMappingSwitches(stateDir, ['prices', 'stocks'], (name, enabled) => seen.push([name, enabled]), 20);
    try {
      setMappingEnabled(stateDir, 'prices', false);
      await new Promise((resolve) => setTimeout(resolve, 100));
      setMappingEnabled(stateDir, 'prices', true);
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
