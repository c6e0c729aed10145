// A cluster's log lines from its log store (GET /apis/pgstack.io/v1/.../sgclusters/{name}/logs,
// docs/logs.md): search by time, member, role, severity, type, text, and Postgres's user, database and
// SQLSTATE, newest first; older pages with the
// API's cursor; follow live by asking again from just before the newest line shown, as `pgstack logs -f`.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, clusterPath } from '../api';
import { ErrorBox } from '../components';
import { timeZone, utc } from '../format';
import { usePolling } from '../polling';
import { BASE, clusterUrl } from '../router';
import type { Cluster } from '../types';

export interface LogItem {
  logTime: string;
  logType: string;
  podName?: string | null;
  role?: string | null;
  errorLevel?: string | null;
  message?: string | null;
  cursor: string;
  sqlState?: string | null;
  userName?: string | null;
  databaseName?: string | null;
  processId?: number | null;
  sessionId?: string | null;
  sessionLineNum?: number | null;
  commandTag?: string | null;
  applicationName?: string | null;
  detail?: string | null;
  hint?: string | null;
  context?: string | null;
  query?: string | null;
  backendType?: string | null;
  transactionId?: number | null;
}

interface LogList {
  items: LogItem[];
  next?: string | null;
  sgDistributedLogs?: string;
}

// What the form asks for; kept in the page's URL so a search can be linked to.
interface Filters {
  since: string; // "15m", "1h", ... or "" for the from/to window below
  from: string; // datetime-local values, in the time zone the header shows
  to: string;
  member: string;
  role: string;
  level: string;
  type: string;
  text: string;
  // Postgres-only (the API then reads log_postgres alone).
  user: string;
  database: string;
  sqlState: string;
  session: string; // Postgres's session id (%c): one session's lines
}

const SINCE_CHOICES: [string, string][] = [
  ['15m', 'last 15 minutes'],
  ['1h', 'last hour'],
  ['6h', 'last 6 hours'],
  ['1d', 'last day'],
  ['7d', 'last 7 days'],
  ['', 'from … to …'],
];
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'fatal', 'panic'];
const TYPES = ['postgres', 'patroni', 'pgbouncer', 'pgbackrest', 'proxy', 'agent'];
const ROLES = ['primary', 'replica'];

// One filter of the search form: a labelled choice among `options`, or none of them.
function FilterSelect(props: {
  label: string;
  value: string;
  onChange: (event: Event) => void;
  testId: string;
  none: string;
  options: readonly string[];
  describe?: (option: string) => string;
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={props.onChange} data-testid={props.testId}>
        <option value="">{props.none}</option>
        {props.options.map((option) => (
          <option key={option} value={option}>
            {props.describe ? props.describe(option) : option}
          </option>
        ))}
      </select>
    </label>
  );
}
const EMPTY_FILTERS: Filters = {
  since: '1h',
  from: '',
  to: '',
  member: '',
  role: '',
  level: '',
  type: '',
  text: '',
  user: '',
  database: '',
  sqlState: '',
  session: '',
};
const PAGE = 100;
const FOLLOW_EVERY_MS = 2000;
const FOLLOW_OVERLAP_MS = 10_000; // lines reach the store late (Patroni waits 2 s, shippers lag differently)
const KEPT_WHILE_FOLLOWING = 2000;

function filtersFromUrl(): Filters {
  const query = new URLSearchParams(location.search);
  return {
    since: query.get('since') ?? '1h',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    member: query.get('member') ?? '',
    role: query.get('role') ?? '',
    level: query.get('level') ?? '',
    type: query.get('type') ?? '',
    text: query.get('text') ?? '',
    user: query.get('user') ?? '',
    database: query.get('database') ?? '',
    sqlState: query.get('sqlState') ?? '',
    session: query.get('session') ?? '',
  };
}

function filtersToUrl(filters: Filters): void {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  if (!filters.since) query.set('since', '');
  const search = query.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
}

// A datetime-local value as an instant: read in UTC or in the browser's zone, as the header shows times.
export function instantOf(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(timeZone() === 'utc' ? `${value}Z` : value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

// The API's parameters for a search (docs/logs.md "Parameters"); `extra` overrides them.
export function logParameters(filters: Filters, extra: Record<string, string> = {}): URLSearchParams {
  const query = new URLSearchParams({ records: String(PAGE) });
  if (filters.since) query.set('since', filters.since);
  else {
    const from = instantOf(filters.from);
    const to = instantOf(filters.to);
    if (from) query.set('from', from);
    if (to) query.set('to', to);
  }
  if (filters.member) query.set('podName', filters.member);
  if (filters.role) query.set('role', filters.role);
  if (filters.level) query.set('errorLevel', filters.level);
  if (filters.type) query.set('logType', filters.type);
  if (filters.text) query.set('text', filters.text);
  if (filters.user) query.set('userName', filters.user.trim());
  if (filters.database) query.set('databaseName', filters.database.trim());
  if (filters.sqlState) query.set('sqlState', filters.sqlState.trim().toUpperCase());
  if (filters.session) query.set('sessionId', filters.session.trim());
  for (const [key, value] of Object.entries(extra)) {
    if (value === '') query.delete(key);
    else query.set(key, value);
  }
  return query;
}

function logsPath(namespace: string, name: string, query: URLSearchParams): string {
  return `/apis/pgstack.io/v1/namespaces/${encodeURIComponent(namespace)}/sgclusters/${encodeURIComponent(name)}/logs?${query}`;
}

// A line's time to the millisecond, in the zone the header shows (named in the column's heading).
function lineTime(value: string): string {
  const shown = utc(value).replace(/\s?UTC.*$/, '');
  const millis = /\.(\d{3})/.exec(value)?.[1] ?? '000';
  return `${shown}.${millis}`;
}

function severityClass(level: string | null | undefined): string {
  const value = (level ?? '').toUpperCase();
  if (['ERROR', 'FATAL', 'PANIC', 'CRITICAL'].includes(value)) return 'sev-error';
  if (value === 'WARNING') return 'sev-warning';
  if (value.startsWith('DEBUG') || value === 'TRACE' || value === 'DETAIL' || value === 'NOISE') return 'sev-debug';
  return '';
}

// Newest first, each line once (by its cursor).
function merge(shown: LogItem[], arrived: LogItem[]): LogItem[] {
  const known = new Set(shown.map((item) => item.cursor));
  const fresh = arrived.filter((item) => !known.has(item.cursor));
  if (!fresh.length) return shown;
  const all = [...fresh, ...shown];
  all.sort((a, b) => (a.logTime < b.logTime ? 1 : a.logTime > b.logTime ? -1 : 0));
  return all.slice(0, KEPT_WHILE_FOLLOWING);
}

function Details({ item, onSession }: { item: LogItem; onSession: (session: string) => void }) {
  const fields: [string, string | number | null | undefined][] = [
    ['detail', item.detail],
    ['hint', item.hint],
    ['context', item.context],
    ['query', item.query],
    ['SQLSTATE', item.sqlState],
    ['user', item.userName],
    ['database', item.databaseName],
    ['application', item.applicationName],
    ['session', item.sessionId ? `${item.sessionId} line ${item.sessionLineNum ?? '?'}` : undefined],
    ['process', item.processId],
    ['command', item.commandTag],
    ['backend', item.backendType],
    ['transaction', item.transactionId || undefined],
  ];
  const shown = fields.filter(([, value]) => value !== undefined && value !== null && value !== '');
  return (
    <dl class="log-fields">
      {shown.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>
            <pre>{String(value)}</pre>
            {label === 'session' && item.sessionId && (
              <button type="button" class="small" data-testid="log-session-lines" onClick={() => onSession(item.sessionId ?? '')}>
                All lines of this session
              </button>
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function hasDetails(item: LogItem): boolean {
  return Boolean(item.detail || item.hint || item.context || item.query || item.sessionId || item.userName);
}

export function LogsPage({ namespace, name }: { namespace: string; name: string }) {
  const cluster = usePolling(() => call<Cluster>('GET', clusterPath(namespace, name)), 10_000, `${namespace}/${name}`);
  const [form, setForm] = useState<Filters>(filtersFromUrl);
  const [asked, setAsked] = useState<Filters>(form);
  const [searchId, setSearchId] = useState(0);
  const [items, setItems] = useState<LogItem[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [store, setStore] = useState('');
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [following, setFollowing] = useState(false);
  const [followError, setFollowError] = useState<unknown>(undefined);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const newest = useRef<string | undefined>(undefined);
  newest.current = items[0]?.logTime;

  // A search: the newest PAGE lines of the window.
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    filtersToUrl(asked);
    call<LogList>('GET', logsPath(namespace, name, logParameters(asked))).then(
      (list) => {
        if (!live) return;
        setItems(list.items);
        setNext(list.next ?? null);
        setStore(list.sgDistributedLogs ?? '');
        setOpen(new Set());
        setLoading(false);
      },
      (caught: unknown) => {
        if (!live) return;
        setItems([]);
        setNext(null);
        setError(caught);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [namespace, name, searchId]);

  // Following: every 2 s, the lines from 10 s before the newest shown (or since following began) up to
  // now, oldest first, paged with the cursor; those not shown yet go on top.
  useEffect(() => {
    if (!following) return;
    let live = true;
    const started = new Date(Date.now() - FOLLOW_OVERLAP_MS).toISOString();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const base = newest.current ? new Date(new Date(newest.current).getTime() - FOLLOW_OVERLAP_MS).toISOString() : started;
      try {
        let after = '';
        for (let page = 0; page < 5 && live; page += 1) {
          const query = logParameters(asked, { since: '', to: '', from: base, sort: 'asc', records: '500', after });
          const list = await call<LogList>('GET', logsPath(namespace, name, query));
          if (!live) return;
          setItems((shown) => merge(shown, list.items));
          if (!list.next) break;
          after = list.next;
        }
        setFollowError(undefined);
      } catch (caught) {
        if (live) setFollowError(caught);
      }
      if (live) timer = setTimeout(poll, FOLLOW_EVERY_MS);
    };
    void poll();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [following, searchId, namespace, name]);

  const older = async () => {
    if (!next) return;
    setLoading(true);
    try {
      const list = await call<LogList>('GET', logsPath(namespace, name, logParameters(asked, { after: next })));
      setItems((shown) => [...shown, ...list.items]);
      setNext(list.next ?? null);
    } catch (caught) {
      setError(caught);
    }
    setLoading(false);
  };

  const set = (key: keyof Filters) => (event: Event) =>
    setForm((current) => ({ ...current, [key]: (event.target as HTMLInputElement | HTMLSelectElement).value }));
  const members = cluster.data?.status?.members ?? [];
  // The proxy's and the agent's lines carry the host's name where a member's carry the member's.
  const hosts = new Set(members.map((m) => m.host ?? '').filter((host) => host !== ''));
  const memberNames = [...new Set([...members.map((m) => m.name), ...hosts, ...(form.member ? [form.member] : [])])].sort();
  // One session's lines over the last week (a session rarely lasts longer), every other filter cleared.
  const showSession = (session: string) => {
    const filters: Filters = { ...EMPTY_FILTERS, since: '7d', session };
    setForm(filters);
    setAsked(filters);
    setSearchId((id) => id + 1);
  };
  const zoneLabel = timeZone() === 'utc' ? 'UTC' : 'local time';
  const noStore = error instanceof ApiError && error.status === 409;

  return (
    <>
      <p class="crumbs">
        <a href={BASE}>Clusters</a> / {namespace} / <a href={clusterUrl(namespace, name)}>{name}</a>
      </p>
      <div class="title-row">
        <h1>Logs of {name}</h1>
        {store && <span class="muted">from log store {store}</span>}
      </div>

      <form
        class="filters"
        data-testid="log-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setAsked(form);
          setSearchId((id) => id + 1);
        }}
      >
        <label>
          Time
          <select value={form.since} onChange={set('since')} data-testid="log-since">
            {SINCE_CHOICES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {!form.since && (
          <>
            <label>
              From ({zoneLabel})
              <input type="datetime-local" step="1" value={form.from} onInput={set('from')} data-testid="log-from" />
            </label>
            <label>
              To ({zoneLabel}, empty: now)
              <input type="datetime-local" step="1" value={form.to} onInput={set('to')} data-testid="log-to" />
            </label>
          </>
        )}
        <FilterSelect
          label="Member or host"
          value={form.member}
          onChange={set('member')}
          testId="log-member"
          none="all"
          options={memberNames}
          describe={(option) => (hosts.has(option) ? `${option} (host: proxy, agent)` : option)}
        />
        <FilterSelect
          label="Severity"
          value={form.level}
          onChange={set('level')}
          testId="log-level"
          none="any"
          options={LEVELS}
          describe={(level) => `${level} and worse`}
        />
        <FilterSelect label="Role" value={form.role} onChange={set('role')} testId="log-role" none="any" options={ROLES} />
        <FilterSelect label="Type" value={form.type} onChange={set('type')} testId="log-type" none="all" options={TYPES} />
        <label title="Postgres lines only">
          User
          <input type="text" size={10} value={form.user} onInput={set('user')} data-testid="log-user" />
        </label>
        <label title="Postgres lines only">
          Database
          <input type="text" size={10} value={form.database} onInput={set('database')} data-testid="log-database" />
        </label>
        <label title="Postgres lines only, e.g. 42P01">
          SQLSTATE
          <input type="text" size={5} maxLength={5} value={form.sqlState} onInput={set('sqlState')} data-testid="log-sqlstate" />
        </label>
        <label title="Postgres lines only: the session id of a line's details">
          Session
          <input type="text" size={12} value={form.session} onInput={set('session')} data-testid="log-session" />
        </label>
        <label class="grow">
          Text
          <input
            type="search"
            value={form.text}
            onInput={set('text')}
            placeholder="in the message, detail, hint or query"
            data-testid="log-text"
          />
        </label>
        <div class="filter-buttons">
          <button type="submit" class="primary" data-testid="log-search">
            Search
          </button>
          <button
            type="button"
            aria-pressed={following}
            class={following ? 'following' : ''}
            data-testid="log-follow"
            title="Ask for new lines every 2 s"
            onClick={() => setFollowing((value) => !value)}
          >
            {following ? 'Following…' : 'Follow'}
          </button>
        </div>
      </form>

      {noStore ? (
        <p class="muted" data-testid="no-log-store">
          {error instanceof Error ? error.message : ''} Logs are searchable here once the cluster ships them to an
          SGDistributedLogs (<code>spec.distributedLogs.sgDistributedLogs</code>, docs/logs.md).
        </p>
      ) : (
        <ErrorBox error={error} />
      )}
      <ErrorBox error={followError} />

      <div class="table-scroll">
        <table class="logs" data-testid="log-lines">
          <thead>
            <tr>
              <th>Time ({zoneLabel})</th>
              <th>Member</th>
              <th>Type</th>
              <th>Severity</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {items.flatMap((item) => {
              const expanded = open.has(item.cursor);
              const rows = [
                <tr key={item.cursor} class={severityClass(item.errorLevel)} data-testid="log-line">
                  <td class="log-time">{lineTime(item.logTime)}</td>
                  <td>
                    {item.podName ?? '–'}
                    {item.role && <small class="muted"> {item.role}</small>}
                  </td>
                  <td>{item.logType}</td>
                  <td class="severity" data-testid="log-severity">
                    {item.errorLevel ?? ''}
                  </td>
                  <td class="log-message">
                    {hasDetails(item) && (
                      <button
                        type="button"
                        class="small expand"
                        aria-expanded={expanded}
                        data-testid="log-expand"
                        title={expanded ? 'Hide the details' : 'Show detail, query, user, session…'}
                        onClick={() =>
                          setOpen((current) => {
                            const changed = new Set(current);
                            if (changed.has(item.cursor)) changed.delete(item.cursor);
                            else changed.add(item.cursor);
                            return changed;
                          })
                        }
                      >
                        {expanded ? '−' : '+'}
                      </button>
                    )}
                    {item.sqlState && item.sqlState !== '00000' && <code class="sqlstate">{item.sqlState}</code>}
                    <span data-testid="log-message">{item.message ?? ''}</span>
                  </td>
                </tr>,
              ];
              if (expanded)
                rows.push(
                  <tr key={`${item.cursor}-details`} class="log-details" data-testid="log-details">
                    <td colSpan={5}>
                      <Details item={item} onSession={showSession} />
                    </td>
                  </tr>,
                );
              return rows;
            })}
          </tbody>
        </table>
        {!items.length && !loading && !error && (
          <p class="muted empty" data-testid="no-log-lines">
            No lines match in this window.
          </p>
        )}
      </div>
      <p class="muted small" data-testid="log-summary">
        {loading
          ? 'Loading…'
          : `${items.length} line${items.length === 1 ? '' : 's'}, newest first${following ? '; following, every 2 s' : ''}.`}{' '}
        {next && !following && (
          <button type="button" class="small" data-testid="log-older" onClick={older} disabled={loading}>
            Older lines
          </button>
        )}
      </p>
    </>
  );
}
