/**
 * A Vite plugin that serves the model and the data set from the repository's
 * checkout, for the dev server (`vite`) and the preview server (`vite
 * preview`) alike — nothing is copied into the page's build or into git:
 *
 *   /model/<file>  →  <repo>/models/all-MiniLM-L6-v2/<file>  ($ADAPTERKIT_DEFAULT_MODEL overrides)
 *   /data/<path>   →  $ADAPTERKIT_DATA_DIR/<path>           (default <repo>/../shared/data)
 *
 * Only files inside those folders are served (no directory listings, no
 * `..`); a missing file is a 404 whose text names the path on disk.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The folders served, by URL prefix. */
export function defaultMounts(): Record<string, string> {
  return {
    '/model/': resolve(process.env.ADAPTERKIT_DEFAULT_MODEL ?? join(REPO, 'models', 'all-MiniLM-L6-v2')),
    '/data/': resolve(process.env.ADAPTERKIT_DATA_DIR ?? join(REPO, '..', 'shared', 'data')),
  };
}

const TYPES: Record<string, string> = { '.json': 'application/json', '.tsv': 'text/tab-separated-values; charset=utf-8', '.txt': 'text/plain; charset=utf-8' };

type Next = (err?: unknown) => void;

/** Connect middleware serving `mounts` (URL prefix → folder). */
export function serveFolders(mounts: Record<string, string>) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const prefix = Object.keys(mounts).find((p) => pathname.startsWith(p));
    if (!prefix || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const root = mounts[prefix]!;
    let file: string;
    try {
      file = resolve(root, decodeURIComponent(pathname.slice(prefix.length)));
    } catch {
      return reply(res, 400, `bad path ${pathname}`);
    }
    if (!file.startsWith(root + sep)) return reply(res, 403, `${pathname} is outside ${root}`);
    stat(file).then(
      (s) => {
        if (!s.isFile()) return reply(res, 404, `${file} is not a file`);
        res.statusCode = 200;
        res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
        res.setHeader('Content-Length', String(s.size));
        res.setHeader('Cache-Control', 'no-cache');
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).on('error', next).pipe(res);
      },
      () => reply(res, 404, `not found: ${file} (served for ${prefix}; set ADAPTERKIT_DATA_DIR / ADAPTERKIT_DEFAULT_MODEL to move it)`),
    );
  };
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

/** The plugin: the same middleware on the dev and the preview server. */
export function repoFiles(mounts: Record<string, string> = defaultMounts()): Plugin {
  const handler = serveFolders(mounts);
  return {
    name: 'adapterkit-repo-files',
    configureServer(server) {
      server.middlewares.use(handler);
    },
    configurePreviewServer(server) {
      server.middlewares.use(handler);
    },
  };
}
