import cliProgress from 'cli-progress';

/** What the progress display shows after each step. */
export interface ProgressValues {
  step: number;
  total: number;
  loss?: number;
  lr?: number;
  examplesPerSecond?: number;
  epoch?: number;
}

/** A progress display: a terminal bar, or nothing (plain log lines are printed elsewhere). */
export interface Progress {
  /** Whether this is a live bar (plain lines should then not be printed between updates). */
  readonly live: boolean;
  update(v: ProgressValues): void;
  /** Prints a line without breaking the bar. */
  log(line: string): void;
  stop(): void;
}

function fmt(v: number | undefined, digits: number, exp = false): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return exp ? v.toExponential(digits) : v.toFixed(digits);
}

/**
 * A cli-progress bar on stderr showing steps, loss, learning rate and
 * examples/s; when stderr is not a TTY (CI, pipes) or `disabled`, no bar
 * is drawn and `log` writes plain lines.
 */
export function createProgress(opts: { disabled?: boolean; print?: (line: string) => void; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const print = opts.print ?? ((l: string) => console.log(l));
  if (opts.disabled || !stream.isTTY) {
    return { live: false, update: () => {}, log: print, stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'train |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {eps} ex/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    live: true,
    update(v) {
      const payload = { loss: fmt(v.loss, 4), lr: fmt(v.lr, 2, true), eps: fmt(v.examplesPerSecond, 1), epoch: fmt(v.epoch, 2) };
      if (!started) {
        bar.start(v.total, v.step, payload);
        started = true;
      } else {
        bar.setTotal(v.total);
        bar.update(v.step, payload);
      }
    },
    log(line) {
      // Move below the bar, print, and let the next update redraw it.
      if (started) stream.write('\n');
      print(line);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
