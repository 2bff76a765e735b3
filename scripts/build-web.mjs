// Builds the web app (before `npm start`, and before the e2e tests) when it has not been built yet
// or when any of its sources is newer than the build: its own, and those of the packages it
// bundles (core, client).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const web = path.resolve(import.meta.dirname, '../packages/web');
const built = path.join(web, 'dist', 'index.html');
if (!existsSync(path.join(web, 'index.html'))) process.exit(0); // no web app in this checkout

const newest = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce(
      (latest, entry) =>
        Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs),
      0,
    );
const packages = path.resolve(web, '..');
const sources = Math.max(
  newest(path.join(web, 'src')),
  newest(path.join(packages, 'core', 'src')),
  newest(path.join(packages, 'client', 'src')),
  ...['index.html', 'vite.config.ts'].map((file) => statSync(path.join(web, file)).mtimeMs),
);

if (!existsSync(built) || sources > statSync(built).mtimeMs) {
  console.log('building the web app (packages/web)…');
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: web, stdio: 'inherit' });
}
