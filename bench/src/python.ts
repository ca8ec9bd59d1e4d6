import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root (bench/src/../..). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** tools/reference/: the Python reference scripts. */
export const REFERENCE_DIR = join(REPO_ROOT, 'tools', 'reference');
/** Python with torch + transformers 5 (tools/reference/.venv). */
export const TORCH_PYTHON = join(REFERENCE_DIR, '.venv', 'bin', 'python');
/** Python with torch + transformers 4.57 + adapters (tools/reference/.venv-adapters). */
export const ADAPTERS_PYTHON = join(REFERENCE_DIR, '.venv-adapters', 'bin', 'python');

/** Every reply carries these when something went wrong on the Python side. */
interface ErrorReply {
  error?: string;
  trace?: string;
}

/**
 * A Python benchmark script kept running between requests (the line protocol
 * of tools/reference/bench_worker.py): the model is built once, and timing
 * requests can be interleaved with the TypeScript side's rounds so both see
 * the same machine load. While it waits for a request it is idle.
 */
export class PythonWorker {
  private readonly pending: ((line: string) => void)[] = [];
  private readonly queued: string[] = [];
  private stderrTail: string[] = [];
  private exited: string | null = null;

  private constructor(private readonly proc: ChildProcess, readonly what: string) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('@@')) return; // library chatter
      const waiter = this.pending.shift();
      if (waiter) waiter(line.slice(2));
      else this.queued.push(line.slice(2));
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 40) this.stderrTail = this.stderrTail.slice(-40);
    });
    proc.on('exit', (code, signal) => {
      this.exited = `${what} exited (${signal ?? `code ${code}`}): ${this.lastError()}`;
      for (const w of this.pending.splice(0)) w(JSON.stringify({ error: this.exited }));
    });
    proc.on('error', (e) => {
      this.exited = `${what} could not run: ${e.message}`;
      for (const w of this.pending.splice(0)) w(JSON.stringify({ error: this.exited }));
    });
  }

  /** The last meaningful stderr line (a Python exception's message, usually). */
  private lastError(): string {
    const lines = this.stderrTail.filter((l) => l.trim() && !/^\s*(Warning|warnings\.warn|USDT|ERROR:.*gpuGetDeviceCount)/.test(l));
    return lines.at(-1)?.trim() ?? 'no error output';
  }

  private nextLine(): Promise<string> {
    const q = this.queued.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (this.exited) return Promise.resolve(JSON.stringify({ error: this.exited }));
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /**
   * Starts `python script args… --worker` and waits for its ready line.
   * Returns the worker and the ready line's fields, or a sentence saying why
   * the Python column is skipped (no venv, an import failing, a crash).
   */
  static async start<Info extends object>(python: string, script: string, args: string[], what: string): Promise<{ worker: PythonWorker; info: Info } | string> {
    if (!existsSync(python)) return `skipped: ${python} does not exist (create it as tools/reference/README.md says to fill this column)`;
    const scriptPath = join(REFERENCE_DIR, script);
    const proc = spawn(python, [scriptPath, ...args, '--worker'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const worker = new PythonWorker(proc, what);
    const ready = JSON.parse(await worker.nextLine()) as Info & ErrorReply & { ready?: boolean };
    if (!ready.ready) {
      worker.close();
      return `skipped: \`${python} ${script}\` failed to start (${ready.error ?? 'no ready line'})`;
    }
    return { worker, info: ready };
  }

  /** Sends one request and waits for its reply; a Python-side error throws, naming the script. */
  async request<T>(msg: Record<string, unknown>): Promise<T> {
    if (this.exited) throw new Error(this.exited);
    this.proc.stdin!.write(`${JSON.stringify(msg)}\n`);
    const reply = JSON.parse(await this.nextLine()) as T & ErrorReply;
    if (reply.error) throw new Error(`${this.what}: ${reply.error}${reply.trace ? `\n${reply.trace}` : ''}`);
    return reply;
  }

  /** Asks the script to quit (and kills it if it does not within 5 s). */
  close(): void {
    if (this.exited) return;
    this.proc.stdin!.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    timer.unref();
    this.proc.on('exit', () => clearTimeout(timer));
  }
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
