// A time series chart with uPlot (canvas, small and fast), sized to its container and redrawn when the
// data or the width changes. Its figure says in words what it shows, for those who cannot see it.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  color: string;
}

export interface ChartProps {
  title: string;
  /** ms since the epoch, ascending. */
  timestamps: number[];
  series: ChartSeries[];
  unit: string;
  /** What the page says while fewer than two samples exist. */
  waiting?: string;
  testId?: string;
}

function summary(p: ChartProps): string {
  const parts = p.series.map((s) => {
    const vals = s.values.filter((v): v is number => v !== null);
    const last = vals.at(-1);
    const max = vals.length > 0 ? Math.max(...vals) : undefined;
    return `${s.label}: latest ${last ?? 'none'}, highest ${max ?? 'none'} ${p.unit}`;
  });
  return `${p.title}, ${p.timestamps.length} samples. ${parts.join('; ')}.`;
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const enough = props.timestamps.length >= 2;
  // Redrawn when the figures change, not whenever the page renders (a keystroke in a form).
  const key = JSON.stringify([props.timestamps, props.series.map((s) => [s.label, s.values])]);

  useEffect(() => {
    const el = box.current;
    if (!el || !enough) return undefined;
    const data: uPlot.AlignedData = [props.timestamps.map((t) => t / 1000), ...props.series.map((s) => s.values)];
    const width = Math.max(240, el.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: 200,
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { show: false } }))],
      axes: [{ stroke: '#374151', grid: { stroke: '#e5e7eb' } }, { stroke: '#374151', grid: { stroke: '#e5e7eb' }, size: 60 }],
      scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      legend: { live: true },
      hooks: {
        // The browser test waits for this: the chart has drawn its data.
        draw: [(u) => u.root.parentElement?.setAttribute('data-drawn', String(u.data[0].length))],
      },
    };
    if (plot.current) {
      plot.current.destroy();
      plot.current = null;
    }
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height: 200 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [enough, key]);

  return (
    <figure class="chart" data-testid={props.testId} data-points={props.timestamps.length}>
      <figcaption>{props.title}</figcaption>
      {enough ? <div ref={box} role="img" aria-label={summary(props)} /> : <p class="empty">{props.waiting ?? 'Collecting samples…'}</p>}
    </figure>
  );
}
