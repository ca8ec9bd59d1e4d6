/** A small loss plot on a <canvas>: each step's loss (light) and its moving average (dark). */

export function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[], totalSteps: number): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 44, r: 12, t: 10, b: 26 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const top = Math.max(0.8, ...losses) * 1.05;
  const x = (step: number) => pad.l + (pw * step) / Math.max(1, totalSteps);
  const y = (loss: number) => pad.t + ph * (1 - Math.min(loss, top) / top);

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#666';
  g.strokeStyle = '#ddd';
  g.lineWidth = 1;
  for (const v of ticks(top, 4)) {
    g.beginPath();
    g.moveTo(pad.l, y(v));
    g.lineTo(w - pad.r, y(v));
    g.stroke();
    g.textAlign = 'right';
    g.fillText(v.toFixed(2), pad.l - 6, y(v) + 4);
  }
  g.textAlign = 'center';
  for (const s of ticks(totalSteps, 5)) g.fillText(String(Math.round(s)), x(s), h - 8);
  // ln 2: the loss of a 2-class classifier that knows nothing.
  g.strokeStyle = '#e0a040';
  g.setLineDash([4, 4]);
  g.beginPath();
  g.moveTo(pad.l, y(Math.LN2));
  g.lineTo(w - pad.r, y(Math.LN2));
  g.stroke();
  g.setLineDash([]);

  line(g, losses.map((l, i) => [x(i + 1), y(l)]), '#9ab8e8', 1);
  line(g, movingAverage(losses, 10).map((l, i) => [x(i + 1), y(l)]), '#1a56c4', 2);
}

function line(g: CanvasRenderingContext2D, pts: [number, number][], color: string, width: number): void {
  if (pts.length === 0) return;
  g.strokeStyle = color;
  g.lineWidth = width;
  g.beginPath();
  pts.forEach(([px, py], i) => (i ? g.lineTo(px, py) : g.moveTo(px, py)));
  g.stroke();
}

/** Trailing mean over up to `k` values. */
export function movingAverage(v: readonly number[], k: number): number[] {
  let sum = 0;
  return v.map((x, i) => {
    sum += x - (i >= k ? v[i - k]! : 0);
    return sum / Math.min(i + 1, k);
  });
}

/** Round tick values from 0 to `max`. */
function ticks(max: number, n: number): number[] {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(v);
  return out;
}
