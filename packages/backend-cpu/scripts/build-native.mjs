// Builds the native addon with cmake-js. Run as the package's `install`
// script it never fails the install: where there is no compiler or CMake the
// reason goes to build/native-build-error.txt, and at load time the backend
// reports `available: false` with that reason (core then stays on 'cpu-ref').
// `--strict` (the build:native script) fails loudly instead.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const errorFile = join(root, 'build', 'native-build-error.txt');
const strict = process.argv.includes('--strict');

function fail(reason) {
  mkdirSync(dirname(errorFile), { recursive: true });
  writeFileSync(errorFile, `${reason.trim()}\n`);
  if (strict) {
    console.error(`@adapterkit/backend-cpu: native build failed: ${reason}`);
    process.exit(1);
  }
  console.warn(`@adapterkit/backend-cpu: native addon not built (the 'cpu' backend will report available: false): ${reason.split('\n')[0]}`);
  process.exit(0);
}

if (process.env.ADAPTERKIT_CPU_SKIP_NATIVE === '1') fail('skipped: ADAPTERKIT_CPU_SKIP_NATIVE=1 was set during install');

let cli;
try {
  cli = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch (e) {
  fail(`cmake-js is not installed (${e instanceof Error ? e.message : String(e)})`);
}

const args = [cli, 'compile', '--directory', root, '--out', join(root, 'build')];
if (process.env.ADAPTERKIT_CPU_PARALLEL) args.push('--parallel', process.env.ADAPTERKIT_CPU_PARALLEL);
const res = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
if (res.error || res.status !== 0) {
  const tail = output.split('\n').filter((l) => l.trim()).slice(-25).join('\n');
  const why = res.error ? res.error.message : `cmake-js exited with status ${res.status}`;
  fail(`${why}\n${tail}`);
}
rmSync(errorFile, { force: true });
if (strict) process.stdout.write(output.split('\n').slice(-5).join('\n'));
console.log('@adapterkit/backend-cpu: native addon built (build/Release/adapterkit_cpu.node)');
