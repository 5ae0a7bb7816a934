/**
 * The READMEs are the project's documentation: a relative link in one of them
 * must lead somewhere. Every README.md of the repository (node_modules,
 * .local and cdk.out aside) is read; every relative Markdown link must name a
 * file or folder that exists, and an anchor into a Markdown file must name one
 * of its headings as GitHub slugs them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const REPOSITORY_ROOT = resolve(__dirname, '../..');
const SKIPPED_FOLDERS = new Set(['node_modules', '.local', 'cdk.out', '.git']);
const ROOT_README_MAX_LINES = 200;

/** Every README.md under `folder`, skipping the folders that hold no documentation of ours. */
function findReadmes(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(entry.name)) found.push(...findReadmes(path));
    } else if (entry.isFile() && entry.name === 'README.md') {
      found.push(path);
    }
  }
  return found.sort();
}

/** The Markdown with fenced code blocks blanked out (lines kept, so nothing in code reads as a link or a heading). */
function withoutFencedCode(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const opening = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
      if (fence === undefined) {
        if (opening) {
          fence = opening[1]!;
          return '';
        }
        return line;
      }
      if (opening && opening[1]![0] === fence[0] && opening[1]!.length >= fence.length && line.trim() === opening[1]) fence = undefined;
      return '';
    })
    .join('\n');
}

/** A line with its inline code spans removed. */
function withoutInlineCode(line: string): string {
  return line.replace(/(`+)[\s\S]*?\1/g, '');
}

/** GitHub's heading anchor: lowercase, punctuation other than hyphens and spaces dropped, spaces turned into hyphens. */
function githubSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading counts by its text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a Markdown file's headings get, duplicates numbered as GitHub numbers them (`-1`, `-2`, …). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFencedCode(markdown).split('\n')) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = githubSlug(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every link target in the Markdown: inline links `[text](target)` and images, and reference definitions `[ref]: target`. */
function linkTargetsOf(markdown: string): string[] {
  const targets: string[] = [];
  for (const rawLine of withoutFencedCode(markdown).split('\n')) {
    const line = withoutInlineCode(rawLine);
    for (const match of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      targets.push(match[1]!.replace(/^<|>$/g, ''));
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line);
    if (definition) targets.push(definition[1]!.replace(/^<|>$/g, ''));
  }
  return targets;
}

/** Links to other sites and mail addresses are not checked; nor is anything with a URL scheme. */
function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('//');
}

interface BrokenLink {
  readonly readme: string;
  readonly link: string;
  readonly why: string;
}

/** Checks every relative link of every README; `anchors` says whether anchors into Markdown files are checked too. */
function brokenLinks(readmes: readonly string[], check: 'targets' | 'anchors'): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const readme of readmes) {
    const markdown = readFileSync(readme, 'utf8');
    for (const link of linkTargetsOf(markdown)) {
      if (!isRelative(link)) continue;
      const hashAt = link.indexOf('#');
      const pathPart = decodeURIComponent(hashAt === -1 ? link : link.slice(0, hashAt));
      const anchor = hashAt === -1 ? undefined : decodeURIComponent(link.slice(hashAt + 1));
      const target =
        pathPart === '' ? readme : pathPart.startsWith('/') ? join(REPOSITORY_ROOT, pathPart) : resolve(dirname(readme), pathPart);
      const where = relative(REPOSITORY_ROOT, readme).split(sep).join('/');
      if (!existsSync(target)) {
        if (check === 'targets') broken.push({ readme: where, link, why: 'no such file or folder' });
        continue;
      }
      if (check !== 'anchors' || anchor === undefined || anchor === '') continue;
      if (!statSync(target).isFile() || !target.endsWith('.md')) continue;
      if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
        broken.push({
          readme: where,
          link,
          why: `no heading with the anchor "#${anchor}" in ${relative(REPOSITORY_ROOT, target).split(sep).join('/')}`,
        });
      }
    }
  }
  return broken;
}

/** Fails with one line per broken link: `README path: link (why)`. */
function expectNoBrokenLinks(broken: readonly BrokenLink[], what: string): void {
  if (broken.length === 0) return;
  const lines = broken.map(({ readme, link, why }) => `  ${readme}: ${link}   (${why})`);
  throw new Error(`${broken.length} ${what}:\n${lines.join('\n')}`);
}

describe('README files', () => {
  const readmes = findReadmes(REPOSITORY_ROOT);

  it('are found at the root and beside the modules, never under node_modules, .local or cdk.out', () => {
    // Assess
    const found = readmes.map((path) => relative(REPOSITORY_ROOT, path).split(sep).join('/'));
    expect(found).toContain('README.md');
    expect(found.length).toBeGreaterThan(1);
    expect(found.filter((path) => /(^|\/)(node_modules|\.local|cdk\.out)\//.test(path))).toEqual([]);
  });

  it('link only to files and folders that exist, relative to the README’s own folder', () => {
    // Act
    const broken = brokenLinks(readmes, 'targets');

    // Assess
    expectNoBrokenLinks(broken, 'relative link(s) in README files lead nowhere');
  });

  it('link into a Markdown file only at a heading that file has', () => {
    // Act
    const broken = brokenLinks(readmes, 'anchors');

    // Assess
    expectNoBrokenLinks(broken, 'anchor(s) in README links name no heading of their target');
  });

  it(`keep the root README to at most ${ROOT_README_MAX_LINES} lines, the details being beside the modules`, () => {
    // Prepare
    const rootReadme = readFileSync(join(REPOSITORY_ROOT, 'README.md'), 'utf8');

    // Act
    const lines = rootReadme.replace(/\n$/, '').split('\n').length;

    // Assess
    expect(lines).toBeLessThanOrEqual(ROOT_README_MAX_LINES);
  });
});

describe('Function: githubSlug', () => {
  it('lowercases a heading, drops punctuation other than hyphens, and turns spaces into hyphens as GitHub does', () => {
    // Assess
    expect(githubSlug('The event-source emulator: what matches AWS')).toBe('the-event-source-emulator-what-matches-aws');
    expect(githubSlug('Foreign-key joins (`shared/fk-join`)')).toBe('foreign-key-joins-sharedfk-join');
    expect(githubSlug('Coalescing across batches (`coalesceWindowMs`)')).toBe('coalescing-across-batches-coalescewindowms');
    expect(githubSlug('Worked example: item → flyer → merchant')).toBe('worked-example-item--flyer--merchant');
    expect(githubSlug('Semantics, guarantees and cost')).toBe('semantics-guarantees-and-cost');
  });

  it('keeps underscores, as GitHub does, and counts a link in a heading by its text', () => {
    // Assess
    expect(githubSlug('MAX_UPDATE_BYTES and [the probe](#probe)')).toBe('max_update_bytes-and-the-probe');
  });
});
