/**
 * Checkpoint directories: `checkpoint-<step>/` under the output folder,
 * written into a hidden temporary folder that is renamed into place last, so
 * a killed run never leaves a half-written checkpoint under the real name.
 */

/** Prefix of checkpoint folders (HF PREFIX_CHECKPOINT_DIR). */
export const CHECKPOINT_PREFIX = 'checkpoint';
const TEMP_PREFIX = '.tmp-checkpoint-';

/** The step of a checkpoint folder name, or undefined for other names. */
export function checkpointStep(name: string): number | undefined {
  const m = /^checkpoint-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Complete checkpoints in `outputDir`, oldest (lowest step) first. */
export async function listCheckpoints(outputDir: string): Promise<{ step: number; path: string }[]> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ step: checkpointStep(n), path: join(outputDir, n) }))
    .filter((c): c is { step: number; path: string } => c.step !== undefined)
    .sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint (HF get_last_checkpoint), or undefined. */
export async function lastCheckpoint(outputDir: string): Promise<string | undefined> {
  const all = await listCheckpoints(outputDir);
  return all[all.length - 1]?.path;
}

/** Removes temporary checkpoint folders left by killed runs. */
export async function removeStaleTemporaries(outputDir: string): Promise<void> {
  const { readdir, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[] = [];
  try {
    names = await readdir(outputDir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(TEMP_PREFIX)) await rm(join(outputDir, n), { recursive: true, force: true });
}

/**
 * Writes a checkpoint atomically: `fill(tempDir)` writes every file into a
 * fresh hidden folder, which is then fsynced and renamed to
 * `checkpoint-<step>`. An existing folder of that name is replaced (moved
 * aside, then deleted). On failure the temporary folder is removed.
 */
export async function writeCheckpointDir(outputDir: string, step: number, fill: (dir: string) => Promise<void>): Promise<string> {
  const { mkdir, rename, rm, open } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const final = join(outputDir, `${CHECKPOINT_PREFIX}-${step}`);
  const tmp = join(outputDir, `${TEMP_PREFIX}${step}-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await fsyncDir(tmp, open);
    let old: string | undefined;
    try {
      await rename(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      old = `${tmp}.old`;
      await rename(final, old);
      await rename(tmp, final);
    }
    await fsyncDir(outputDir, open);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  return final;
}

async function fsyncDir(dir: string, open: typeof import('node:fs/promises').open): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Not possible on every platform; the rename is still atomic.
  }
}

/**
 * Deletes the oldest checkpoints beyond `limit`, never the best one (HF
 * _rotate_checkpoints: the best is moved next to the newest; with limit 1
 * and a best that is not the newest, two are kept).
 */
export async function rotateCheckpoints(outputDir: string, limit: number | undefined, best: string | null): Promise<string[]> {
  if (limit === undefined) return [];
  const { rm } = await import('node:fs/promises');
  const { resolve } = await import('node:path');
  const paths = (await listCheckpoints(outputDir)).map((c) => c.path);
  if (best) {
    const i = paths.findIndex((p) => resolve(p) === resolve(best));
    if (i >= 0 && i < paths.length - 1) {
      const [b] = paths.splice(i, 1);
      paths.splice(paths.length - 1, 0, b!);
    }
  }
  let keep = limit;
  if (limit === 1 && best && paths.length && resolve(paths[paths.length - 1]!) !== resolve(best)) keep = 2;
  const remove = paths.slice(0, Math.max(0, paths.length - keep));
  for (const p of remove) await rm(p, { recursive: true, force: true });
  return remove;
}
