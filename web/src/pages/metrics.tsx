// A cluster's live figures and charts, from Prometheus through the metrics summary (docs/api.md "Metrics",
// GET .../metrics/summary): TPS, connections, WAL rate, replication lag per replica, each member's figures
// and the top queries by time (pg_stat_statements and pgstack-proxy). Loaded on demand with uPlot, so
// the first load of the console does not carry the charts.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call } from '../api';
import { ErrorBox } from '../components';
import { bytes, timeZone } from '../format';
import { usePolling } from '../polling';
import { BASE, clusterUrl, navigate } from '../router';

type Point = [number, number | null];

interface MemberFigures {
  name: string;
  role?: string;
  up?: boolean | null;
  tps?: number | null;
  connections?: number | null;
  maxConnections?: number | null;
  lagSeconds?: number | null;
  lagBytes?: number | null;
}

interface HostFigures {
  name: string;
  cpuBusy?: number | null;
  memoryUsed?: number | null;
  diskUsed?: number | null;
}

interface TopQuery {
  source: string;
  id: string;
  database?: string;
  user?: string;
  secondsPerSecond?: number | null;
  callsPerSecond?: number | null;
  meanSeconds?: number | null;
}

interface ProxyFigures {
  latencySeconds?: { p50?: number | null; p95?: number | null; p99?: number | null };
  statementsPerSecond?: Record<string, number>;
  errors?: { severity: string; sqlstateClass: string; count: number }[];
}

// SQLSTATE classes (PostgreSQL's errcodes appendix), to say what an error count is about.
const SQLSTATE_CLASSES: Record<string, string> = {
  '08': 'connection exception',
  '0A': 'feature not supported',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '25': 'invalid transaction state',
  '28': 'invalid authorization',
  '3D': 'invalid catalog name',
  '40': 'transaction rollback (serialization failure, deadlock)',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention (cancel, shutdown)',
  '58': 'system error',
  P0: 'PL/pgSQL error',
  XX: 'internal error',
};

function ProxySection({ proxy }: { proxy: ProxyFigures | undefined }) {
  const latency = proxy?.latencySeconds ?? {};
  const statements = proxy?.statementsPerSecond ?? {};
  const readWrite = statements['rw'] ?? 0;
  const readOnly = statements['ro'] ?? 0;
  const total = readWrite + readOnly;
  const ms = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `${(value * 1000).toFixed(value < 0.01 ? 2 : 1)} ms`);
  return (
    <section data-testid="proxy-figures">
      <h2>Through pgstack-proxy</h2>
      <p class="muted small">Query latency as the proxy measured it and statements by endpoint over the last 5 minutes; errors by SQLSTATE class over the last hour.</p>
      <dl class="figures">
        <div>
          <dt>Latency p50</dt>
          <dd data-testid="proxy-p50">{ms(latency.p50)}</dd>
        </div>
        <div>
          <dt>p95</dt>
          <dd data-testid="proxy-p95">{ms(latency.p95)}</dd>
        </div>
        <div>
          <dt>p99</dt>
          <dd data-testid="proxy-p99">{ms(latency.p99)}</dd>
        </div>
        <div>
          <dt>Read-write / read-only</dt>
          <dd data-testid="proxy-split">{total > 0 ? `${Math.round((readWrite / total) * 100)}% / ${Math.round((readOnly / total) * 100)}%` : '–'}</dd>
        </div>
      </dl>
      {proxy?.errors?.length ? (
        <div class="table-scroll">
          <table data-testid="proxy-errors">
            <thead>
              <tr>
                <th>SQLSTATE class</th>
                <th>Severity</th>
                <th>Errors (1 h)</th>
              </tr>
            </thead>
            <tbody>
              {proxy.errors.map((error) => (
                <tr key={`${error.severity}-${error.sqlstateClass}`}>
                  <td>
                    <code>{error.sqlstateClass}</code> {SQLSTATE_CLASSES[error.sqlstateClass] ?? ''}
                  </td>
                  <td>{error.severity}</td>
                  <td>{error.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted" data-testid="proxy-no-errors">
          No errors through the proxy in the last hour.
        </p>
      )}
    </section>
  );
}

export interface ClusterMetrics {
  time: number;
  minutes: number;
  step: number;
  tps?: number | null;
  connections?: { used?: number | null; max?: number | null; byState?: Record<string, number> };
  walBytesPerSecond?: number | null;
  cacheHitRatio?: number | null;
  members?: MemberFigures[];
  topQueries?: TopQuery[];
  hosts?: HostFigures[];
  proxy?: ProxyFigures;
  history?: {
    tps?: Point[];
    connections?: Point[];
    walBytesPerSecond?: Point[];
    lagSeconds?: Record<string, Point[]>;
    hostCpuBusy?: Record<string, Point[]>;
    hostMemoryUsed?: Record<string, Point[]>;
  };
  errors?: string[];
}

// The windows offered (the API takes 1 to 1440 minutes; about 60 points each).
const WINDOWS: { minutes: number; label: string }[] = [
  { minutes: 10, label: 'last 10 minutes' },
  { minutes: 60, label: 'last hour' },
  { minutes: 360, label: 'last 6 hours' },
  { minutes: 1440, label: 'last day' },
];
const PALETTE = ['#2f7ed8', '#d9534f', '#5cb85c', '#f0ad4e', '#9b59b6', '#17a2b8'];

const number = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
const percent = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(1)} %`;
const seconds = (value: number | null | undefined): string => {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value < 0.001) return `${(value * 1e6).toFixed(0)} µs`;
  if (value < 1) return `${(value * 1000).toFixed(1)} ms`;
  return `${value.toFixed(2)} s`;
};

// Series on one time axis for uPlot: the union of their times, null where a series has no point.
export function alignSeries(series: Point[][]): (number | null)[][] {
  const times = [...new Set(series.flatMap((points) => points.map(([time]) => time)))].sort((a, b) => a - b);
  const columns = series.map((points) => {
    const byTime = new Map(points.map(([time, value]) => [time, value]));
    return times.map((time) => byTime.get(time) ?? null);
  });
  return [times, ...columns];
}

// The x axis spans the window asked for (from, to: seconds), not just the points there are: a Prometheus that
// started a minute ago draws a short line at the right, not a dot stretched over the whole chart.
function Chart(props: {
  title: string;
  testId: string;
  series: { label: string; points: Point[] }[];
  format: (v: number) => string;
  from: number;
  to: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const xRange = useRef<[number, number]>([props.from, props.to]);
  xRange.current = [props.from, props.to];
  const labels = props.series.map((s) => s.label).join('\n');
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const data = alignSeries(props.series.map((s) => s.points)) as uPlot.AlignedData;
    if (plot.current && plot.current.series.length === props.series.length + 1) {
      plot.current.setData(data);
      return;
    }
    plot.current?.destroy();
    const axis = { stroke: '#888', grid: { stroke: 'rgba(128,128,128,0.2)' }, ticks: { stroke: 'rgba(128,128,128,0.3)' } };
    plot.current = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: 180,
        ...(timeZone() === 'utc' ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') } : {}),
        scales: { x: { time: true, range: (): uPlot.Range.MinMax => xRange.current } },
        series: [
          {},
          ...props.series.map((s, index) => ({
            label: s.label,
            stroke: PALETTE[index % PALETTE.length] ?? '#2f7ed8',
            width: 1.5,
            value: (_: uPlot, v: number | null) => (v === null ? '–' : props.format(v)),
          })),
        ],
        axes: [axis, { ...axis, size: 70, values: (_: uPlot, ticks: number[]) => ticks.map((v) => props.format(v)) }],
      },
      data,
      element,
    );
  }, [props.series, labels, props.from, props.to]);
  useEffect(() => {
    const resize = () => {
      if (plot.current && host.current) plot.current.setSize({ width: Math.max(host.current.clientWidth, 280), height: 180 });
    };
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);
  const empty = props.series.every((s) => s.points.length === 0);
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      {empty && <p class="muted small">No points in this window yet.</p>}
      <div ref={host} class="chart-plot" />
    </figure>
  );
}

function windowFromUrl(): number {
  const asked = Number(new URLSearchParams(location.search).get('minutes'));
  return WINDOWS.some((w) => w.minutes === asked) ? asked : 60;
}

export function MetricsPage({ namespace, name }: { namespace: string; name: string }) {
  const [minutes, setMinutes] = useState(windowFromUrl);
  const metrics = usePolling(
    () =>
      call<ClusterMetrics>(
        'GET',
        `/apis/pgstack.io/v1/namespaces/${encodeURIComponent(namespace)}/sgclusters/${encodeURIComponent(name)}/metrics/summary?minutes=${minutes}`,
      ),
    5000,
    `${namespace}/${name}/${minutes}`,
  );
  const choose = (chosen: number) => {
    setMinutes(chosen);
    navigate(`${clusterUrl(namespace, name, 'metrics')}?minutes=${chosen}`, true);
  };
  const notConfigured =
    metrics.error instanceof ApiError && metrics.error.status === 503 && metrics.error.message.startsWith('monitoring is not configured');
  const data = metrics.data;
  const byName = (series: Record<string, Point[]> | undefined) => Object.entries(series ?? {}).map(([label, points]) => ({ label, points }));
  const lag = byName(data?.history?.lagSeconds);
  const hostCpu = byName(data?.history?.hostCpuBusy);
  const hostMemory = byName(data?.history?.hostMemoryUsed);
  const span = data ? { from: data.time - data.minutes * 60, to: data.time } : { from: 0, to: 0 };
  return (
    <>
      <p class="crumbs">
        <a href={BASE}>Clusters</a> / {namespace} / <a href={clusterUrl(namespace, name)}>{name}</a>
      </p>
      <div class="title-row">
        <h1>{name}: metrics</h1>
        <label class="inline">
          Window{' '}
          <select data-testid="metrics-window" value={minutes} onChange={(event) => choose(Number((event.target as HTMLSelectElement).value))}>
            {WINDOWS.map((w) => (
              <option key={w.minutes} value={w.minutes}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">from Prometheus, refreshed every 5 s</span>
      </div>
      {notConfigured ? (
        <p data-testid="metrics-not-configured">
          Monitoring is not configured: the controller runs without <code>--prometheus</code>, so there are no figures.
          `pgstack up` starts a Prometheus and passes it (docs/monitoring.md).
        </p>
      ) : (
        <ErrorBox error={metrics.error} />
      )}
      {data && (
        <>
          <dl class="figures" data-testid="metrics-figures">
            <div>
              <dt>Transactions/s</dt>
              <dd data-testid="metrics-tps">{number(data.tps)}</dd>
            </div>
            <div>
              <dt>Connections</dt>
              <dd data-testid="metrics-connections">
                {number(data.connections?.used, 0)} / {number(data.connections?.max, 0)}
              </dd>
            </div>
            <div>
              <dt>WAL written</dt>
              <dd>{data.walBytesPerSecond === null || data.walBytesPerSecond === undefined ? '–' : `${bytes(Math.round(data.walBytesPerSecond))}/s`}</dd>
            </div>
            <div>
              <dt>Cache hit ratio</dt>
              <dd>{data.cacheHitRatio === null || data.cacheHitRatio === undefined ? '–' : `${(data.cacheHitRatio * 100).toFixed(2)} %`}</dd>
            </div>
          </dl>
          <div class="charts">
            <Chart
              title="Transactions per second"
              testId="chart-tps"
              series={[{ label: 'TPS', points: data.history?.tps ?? [] }]}
              format={(v) => v.toFixed(1)}
              {...span}
            />
            <Chart
              title="Connections"
              testId="chart-connections"
              series={[{ label: 'connections', points: data.history?.connections ?? [] }]}
              format={(v) => v.toFixed(0)}
              {...span}
            />
            <Chart
              title="WAL written per second"
              testId="chart-wal"
              series={[{ label: 'WAL', points: data.history?.walBytesPerSecond ?? [] }]}
              format={(v) => bytes(Math.round(v))}
              {...span}
            />
            {lag.length ? (
              <Chart title="Replication lag (replay delay)" testId="chart-lag" series={lag} format={seconds} {...span} />
            ) : (
              <figure class="chart" data-testid="chart-lag">
                <figcaption>Replication lag (replay delay)</figcaption>
                <p class="muted">No replica reports a lag: the cluster has none, or Prometheus has not scraped one yet.</p>
              </figure>
            )}
            <Chart title="CPU busy, by host" testId="chart-host-cpu" series={hostCpu} format={percent} {...span} />
            <Chart title="Memory used, by host" testId="chart-host-memory" series={hostMemory} format={percent} {...span} />
          </div>
          <h2>Hosts</h2>
          <p class="muted small">The hosts the members run on, from their node_exporter.</p>
          {data.hosts?.length ? (
            <div class="table-scroll">
              <table data-testid="metrics-hosts">
                <thead>
                  <tr>
                    <th>Host</th>
                    <th>CPU busy</th>
                    <th>Memory used</th>
                    <th>Fullest filesystem</th>
                  </tr>
                </thead>
                <tbody>
                  {data.hosts.map((host) => (
                    <tr key={host.name} data-testid={`metrics-host-${host.name}`}>
                      <td>{host.name}</td>
                      <td>{percent(host.cpuBusy)}</td>
                      <td>{percent(host.memoryUsed)}</td>
                      <td class={(host.diskUsed ?? 0) > 0.9 ? 'warn' : ''}>{percent(host.diskUsed)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p class="muted">No host figures: the hosts' node_exporter is not scraped (an agent with --node-exporter-listen off).</p>
          )}
          <h2>Members</h2>
          <div class="table-scroll">
            <table data-testid="metrics-members">
              <thead>
                <tr>
                  <th>Member</th>
                  <th>Role</th>
                  <th>Postgres</th>
                  <th>TPS</th>
                  <th>Connections</th>
                  <th>Lag (time)</th>
                  <th>Lag (bytes)</th>
                </tr>
              </thead>
              <tbody>
                {(data.members ?? []).map((member) => (
                  <tr key={member.name} data-testid={`metrics-member-${member.name}`}>
                    <td>{member.name}</td>
                    <td>
                      <span class={`role role-${member.role ?? 'unknown'}`}>{member.role ?? 'unknown'}</span>
                    </td>
                    <td>{member.up === true ? 'up' : member.up === false ? <span class="warn">down</span> : '–'}</td>
                    <td>{number(member.tps)}</td>
                    <td>
                      {number(member.connections, 0)} / {number(member.maxConnections, 0)}
                    </td>
                    <td>{member.role === 'replica' ? seconds(member.lagSeconds) : '–'}</td>
                    <td>{member.role === 'replica' ? bytes(member.lagBytes ?? undefined) : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ProxySection proxy={data.proxy} />
          <h2>Top queries by time</h2>
          <p class="muted small">
            The last 5 minutes: pg_stat_statements on the members (by queryid; its text is in the view on the member),
            and pgstack-proxy's normalized statements.
          </p>
          {data.topQueries?.length ? (
            <div class="table-scroll">
              <table data-testid="top-queries">
                <thead>
                  <tr>
                    <th>Query</th>
                    <th>Source</th>
                    <th>Database</th>
                    <th>User</th>
                    <th>Time/s</th>
                    <th>Calls/s</th>
                    <th>Mean</th>
                  </tr>
                </thead>
                <tbody>
                  {data.topQueries.map((query) => (
                    <tr key={`${query.source}-${query.id}-${query.database}-${query.user}`}>
                      <td class="message">
                        <code>{query.id}</code>
                      </td>
                      <td>{query.source}</td>
                      <td>{query.database ?? ''}</td>
                      <td>{query.user ?? ''}</td>
                      <td>{seconds(query.secondsPerSecond)}</td>
                      <td>{number(query.callsPerSecond)}</td>
                      <td>{seconds(query.meanSeconds)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p class="muted">No queries in the last 5 minutes.</p>
          )}
          {data.errors?.length ? (
            <ul class="problems" data-testid="metrics-errors">
              {data.errors.map((error) => (
                <li key={error}>{error}</li>
              ))}
            </ul>
          ) : null}
        </>
      )}
    </>
  );
}
