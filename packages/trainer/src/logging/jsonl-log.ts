import { writeFileAtomic } from '@adapterkit/core';

/**
 * The run log `log.jsonl`: one JSON object per logging step and per
 * evaluation. Lines are appended with one write each (O_APPEND), so a killed
 * run leaves whole lines; on resume, lines after the checkpoint's step are
 * dropped (rewritten atomically) so the log matches the resumed run.
 */
export class JsonlLog {
  private constructor(readonly path: string) {}

  /** Opens (creates) the log in `dir`. With `truncateAfterStep`, entries of later steps are removed first. */
  static async open(dir: string, opts: { truncateAfterStep?: number; fresh?: boolean } = {}): Promise<JsonlLog> {
    const { mkdir, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(dir, { recursive: true });
    const log = new JsonlLog(join(dir, 'log.jsonl'));
    if (opts.fresh) {
      await writeTextAtomic(log.path, '');
    } else if (opts.truncateAfterStep !== undefined) {
      let text = '';
      try {
        text = await readFile(log.path, 'utf8');
      } catch {
        // No log yet.
      }
      const kept = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .filter((l) => {
          try {
            return ((JSON.parse(l) as { step?: number }).step ?? 0) <= opts.truncateAfterStep!;
          } catch {
            return false; // a torn last line of a killed run
          }
        });
      await writeTextAtomic(log.path, kept.map((l) => `${l}\n`).join(''));
    }
    return log;
  }

  /** Appends one entry. */
  async write(entry: Record<string, unknown>): Promise<void> {
    const { appendFile } = await import('node:fs/promises');
    await appendFile(this.path, `${JSON.stringify(entry)}\n`, 'utf8');
  }

  /** Reads every entry back. */
  static async read(path: string): Promise<Record<string, unknown>[]> {
    const { readFile } = await import('node:fs/promises');
    return (await readFile(path, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** Writes a text file atomically (temp file in the same folder, fsync, rename). */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  await writeFileAtomic(path, async (fh) => {
    let done = 0;
    while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done, done)).bytesWritten;
  });
}
