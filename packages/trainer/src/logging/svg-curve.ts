/** A named series of (step, value) points. */
export interface CurveSeries {
  name: string;
  points: [number, number][];
  color?: string;
}

/** One chart panel: a title and its series sharing the y axis. */
export interface CurvePanel {
  title: string;
  series: CurveSeries[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** About five round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

/**
 * Renders line charts (one panel per row) as a standalone SVG: axes with
 * round ticks, a polyline and dots per series, and a legend. Non-finite
 * values are skipped. No dependencies.
 */
export function renderCurvesSvg(panels: readonly CurvePanel[], opts: { width?: number; panelHeight?: number; title?: string } = {}): string {
  const W = opts.width ?? 720;
  const PH = opts.panelHeight ?? 260;
  const M = { l: 64, r: 160, t: 36, b: 40 };
  const head = opts.title ? 28 : 0;
  const H = head + panels.length * PH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (opts.title) parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  panels.forEach((panel, pi) => {
    const top = head + pi * PH;
    const x0 = M.l;
    const x1 = W - M.r;
    const y0 = top + PH - M.b;
    const y1 = top + M.t;
    parts.push(`<text x="${(x0 + x1) / 2}" y="${top + 20}" text-anchor="middle" font-size="13">${escapeXml(panel.title)}</text>`);
    const pts = panel.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
    if (pts.length === 0) {
      parts.push(`<text x="${(x0 + x1) / 2}" y="${(y0 + y1) / 2}" text-anchor="middle" fill="#888">no data yet</text>`);
      return;
    }
    let [xmin, xmax] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
    let [ymin, ymax] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
    if (xmax === xmin) [xmin, xmax] = [xmin - 1, xmax + 1];
    if (ymax === ymin) [ymin, ymax] = [ymin - Math.abs(ymin || 1) * 0.1, ymax + Math.abs(ymax || 1) * 0.1];
    const pad = (ymax - ymin) * 0.05;
    ymin -= pad;
    ymax += pad;
    const sx = (x: number): number => x0 + ((x - xmin) / (xmax - xmin)) * (x1 - x0);
    const sy = (y: number): number => y0 - ((y - ymin) / (ymax - ymin)) * (y0 - y1);
    parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#333"/>`);
    for (const t of niceTicks(ymin, ymax)) {
      const y = sy(t).toFixed(1);
      parts.push(`<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`);
    }
    for (const t of niceTicks(xmin, xmax)) {
      const x = sx(t).toFixed(1);
      parts.push(`<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + 4}" stroke="#333"/><text x="${x}" y="${y0 + 16}" text-anchor="middle">${label(t)}</text>`);
    }
    parts.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 32}" text-anchor="middle">step</text>`);
    panel.series.forEach((s, si) => {
      const color = s.color ?? PALETTE[si % PALETTE.length]!;
      const finite = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      if (finite.length) {
        const d = finite.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
        parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
        if (finite.length <= 60) for (const [x, y] of finite) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
      }
      const ly = y1 + 8 + si * 16;
      parts.push(`<line x1="${x1 + 12}" x2="${x1 + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/><text x="${x1 + 36}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/**
 * The training curves of a log (log.jsonl entries): training loss and
 * evaluation loss in the first panel, other evaluation metrics in a second.
 */
export function curvesFromLog(entries: readonly Record<string, unknown>[]): CurvePanel[] {
  const trainLoss: [number, number][] = [];
  const evalLoss: [number, number][] = [];
  const metrics = new Map<string, [number, number][]>();
  for (const e of entries) {
    const step = e.step;
    if (typeof step !== 'number') continue;
    if (typeof e.loss === 'number') trainLoss.push([step, e.loss]);
    if (typeof e.eval_loss === 'number') evalLoss.push([step, e.eval_loss]);
    for (const [k, v] of Object.entries(e)) {
      if (!k.startsWith('eval_') || k === 'eval_loss' || typeof v !== 'number') continue;
      if (/runtime|per_second|samples|steps_per/.test(k)) continue;
      let s = metrics.get(k);
      if (!s) metrics.set(k, (s = []));
      s.push([step, v]);
    }
  }
  const panels: CurvePanel[] = [
    { title: 'loss', series: [{ name: 'train loss', points: trainLoss }, ...(evalLoss.length ? [{ name: 'eval loss', points: evalLoss }] : [])] },
  ];
  if (metrics.size) panels.push({ title: 'evaluation metrics', series: [...metrics].map(([name, points]) => ({ name: name.slice(5), points })) });
  return panels;
}
