import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** The repository's root. */
export const ROOT = join(__dirname, '..', '..');

/** A file of the house (repository-relative path) and the files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Relative module specifiers in `import … from`, `export … from`, `import(…)` and `require(…)`. */
const SPECIFIER = /(?:\bfrom\s+|\brequire\(\s*|\bimport\(\s*|^import\s+)['"](\.{1,2}\/[^'"]*)['"]/gm;

/** The TypeScript and JavaScript source files under the given repository-relative paths (tests and fixtures aside). */
export function sourceFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (path: string): void => {
    const absolute = join(ROOT, path);
    if (!existsSync(absolute)) return;
    if (statSync(absolute).isDirectory()) {
      for (const entry of readdirSync(absolute)) if (entry !== 'node_modules') walk(join(path, entry));
    } else if (/\.(ts|js)$/.test(path) && !path.endsWith('.d.ts')) {
      files.push(path);
    }
  };
  for (const path of paths) walk(path);
  return files.sort();
}

/** Each file's relative imports, resolved to repository-relative files (`x` → `x.ts`, `x.js` or `x/index.ts`). */
export function importGraph(files: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const resolved = resolve(join(dirname(file), match[1]!));
      if (resolved !== undefined) targets.add(resolved);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

function resolve(specifier: string): string | undefined {
  const base = normalize(specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js')]) {
    const absolute = join(ROOT, candidate);
    if (existsSync(absolute) && statSync(absolute).isFile()) return relative(ROOT, absolute);
  }
  return undefined;
}

/** A module: the declared folder (or file) a path falls in, the longest that matches. */
export function moduleOf(file: string, modules: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const module of modules) {
    if ((file === module || file.startsWith(`${module}/`)) && (best === undefined || module.length > best.length)) best = module;
  }
  return best;
}

/** An import that does not run down to a lower layer, as `from → to (layer a → layer b)`. */
export function importsNotRunningDown(graph: ImportGraph, layers: readonly (readonly string[])[]): string[] {
  const modules = layers.flat();
  const layerOf = new Map(layers.flatMap((members, index) => members.map((module) => [module, index] as const)));
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = moduleOf(file, modules);
    for (const target of targets) {
      const to = moduleOf(target, modules);
      if (from === undefined || to === undefined || from === to) continue;
      if (layerOf.get(to)! >= layerOf.get(from)!) {
        problems.push(`${file} → ${target} (${from}, layer ${layerOf.get(from)} → ${to}, layer ${layerOf.get(to)})`);
      }
    }
  }
  return problems;
}

/** The import cycles among files: each a strongly connected set of two or more files, or a file importing itself. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative over the (small) graph.
  let index = 0;
  const indices = new Map<string, number>();
  const lowLinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    indices.set(file, index);
    lowLinks.set(file, index);
    index += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!indices.has(target)) {
        visit(target);
        lowLinks.set(file, Math.min(lowLinks.get(file)!, lowLinks.get(target)!));
      } else if (onStack.has(target)) {
        lowLinks.set(file, Math.min(lowLinks.get(file)!, indices.get(target)!));
      }
    }
    if (lowLinks.get(file) === indices.get(file)) {
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.push(member);
      } while (member !== file);
      if (members.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(members.sort());
    }
  };
  for (const file of graph.keys()) if (!indices.has(file)) visit(file);
  return cycles;
}

/** Every file reachable from `starts` by imports, the starts included. */
export function reachableFrom(graph: ImportGraph, starts: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...starts];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    pending.push(...(graph.get(file) ?? []));
  }
  return seen;
}
