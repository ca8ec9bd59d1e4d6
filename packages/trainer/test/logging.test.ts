import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlLog, createProgress, curvesFromLog, niceTicks, renderCurvesSvg } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-logging-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('JSONL log', () => {
  it('appends entries; on resume drops entries after the checkpoint step and torn lines', async () => {
    const log = await JsonlLog.open(tmp, { fresh: true });
    for (const step of [1, 2, 3, 4]) await log.write({ step, loss: 1 / step });
    writeFileSync(log.path, `${readFileSync(log.path, 'utf8')}{"step": 5, "lo`);
    const resumed = await JsonlLog.open(tmp, { truncateAfterStep: 2 });
    await resumed.write({ step: 3, loss: 0.3 });
    expect((await JsonlLog.read(resumed.path)).map((e) => e.step)).toEqual([1, 2, 3]);
  });
});

describe('training curves SVG', () => {
  it('round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97)).toEqual([20, 40, 60, 80]);
  });
  it('draws train/eval loss and metrics from log entries, skipping non-finite values', () => {
    const entries = [
      { step: 10, loss: 0.7 },
      { step: 20, loss: 0.6, eval_loss: 0.65, eval_accuracy: 0.6, eval_runtime: 3 },
      { step: 30, loss: Number.NaN },
      { step: 40, loss: 0.4, eval_loss: 0.5, eval_accuracy: 0.75 },
    ];
    const panels = curvesFromLog(entries);
    expect(panels.map((p) => p.series.map((s) => s.name))).toEqual([['train loss', 'eval loss'], ['accuracy']]);
    const svg = renderCurvesSvg(panels, { title: 'run <1>' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('run &lt;1&gt;');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(3);
    expect(svg).not.toContain('NaN');
  });
});

describe('progress', () => {
  it('without a TTY there is no bar and log lines are printed plainly', () => {
    const lines: string[] = [];
    const p = createProgress({ print: (l) => lines.push(l), stream: { isTTY: false } as NodeJS.WriteStream });
    expect(p.live).toBe(false);
    p.update({ step: 1, total: 2, loss: 0.5 });
    p.log('step 1/2 | loss 0.5');
    p.stop();
    expect(lines).toEqual(['step 1/2 | loss 0.5']);
  });
});
