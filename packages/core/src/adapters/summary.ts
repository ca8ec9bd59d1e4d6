import type { AdapterHost } from './host.js';

/** One row of `adapterSummary()`. */
export interface AdapterSummaryRow {
  name: string;
  architecture: string;
  numParams: number;
  /** Percent of the base model's parameters (adapters excluded). */
  percent: number;
  active: boolean;
  train: boolean;
}

/** Rows for every adapter plus a final 'Full model' row, as Python's adapter_summary(as_dict=True). */
export function adapterSummaryRows(host: AdapterHost): AdapterSummaryRow[] {
  const adapterParams = host.allAdapterParameterNames();
  const baseParams = host.info.base.namedParameters(host.info.basePrefix).filter(([k]) => !adapterParams.has(k));
  const baseCount = baseParams.reduce((s, [, p]) => s + p.size, 0);
  const active = new Set(host.activeAdapters?.flatten() ?? []);
  const rows: AdapterSummaryRow[] = host.adapterNames().map((name) => {
    const params = host.adapterParameters(name);
    const count = params.reduce((s, [, p]) => s + p.size, 0);
    const config = host.configs.get(name)!;
    return {
      name,
      architecture: config.architecture ?? 'bottleneck',
      numParams: count,
      percent: baseCount ? (count / baseCount) * 100 : 0,
      active: active.has(name),
      train: params.length > 0 && params.every(([, p]) => p.requiresGrad),
    };
  });
  rows.push({ name: 'Full model', architecture: '', numParams: baseCount, percent: 100, active: false, train: baseParams.some(([, p]) => p.requiresGrad) });
  return rows;
}

const pad = (s: string, n: number, right = false): string => (right ? s.padStart(n) : s.padEnd(n));

/** The text table Python prints: Name, Architecture, #Param, %Param, Active, Train (80 columns). */
export function formatAdapterSummary(rows: AdapterSummaryRow[]): string {
  const line = (c: string): string => c.repeat(80);
  const header = pad('Name', 25) + pad('Architecture', 15) + pad('#Param', 12, true) + pad('%Param', 12, true) + pad('Active', 8, true) + pad('Train', 8, true);
  const fmt = (r: AdapterSummaryRow, last: boolean): string =>
    pad(r.name, 25) + pad(r.architecture, 15) + pad(r.numParams.toLocaleString('en-US'), 12, true) + pad(r.percent.toFixed(3), 12, true) +
    pad(last ? '' : r.active ? '1' : '0', 8, true) + pad(r.train ? '1' : '0', 8, true);
  const body = rows.map((r, i) => fmt(r, i === rows.length - 1));
  body.splice(body.length - 1, 0, line('-'));
  return [line('='), header, line('-'), ...body, line('=')].join('\n');
}
