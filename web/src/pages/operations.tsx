// A cluster's day-2 operations (SGDbOps, docs/api.md): the ones asked for, newest first, with their state and
// results (a benchmark's TPS and latency, the databases vacuumed or repacked, the members restarted), and a
// form that asks for one more. The controller's operations runner runs them one at a time per cluster.
import { useState } from 'preact/hooks';
import { ApiError, call, type FieldError, type Json } from '../api';
import { ConfirmDialog, ErrorBox, FieldErrors, GuardedButton } from '../components';
import { object } from '../dry-run';
import { ago, utc } from '../format';
import { check } from '../permissions';
import { usePolling } from '../polling';
import { BASE, clusterUrl } from '../router';
import type { Session } from '../session';
import type { Condition } from '../types';

interface Operation {
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  spec: { sgCluster: string; op: string; runAt?: string } & Json;
  status?: { conditions?: Condition[]; opStarted?: string; opRetries?: number } & Json;
}

type Op = 'vacuum' | 'repack' | 'benchmark' | 'restart';

function operationsPath(namespace: string, name?: string): string {
  const base = `/apis/stackgres.io/v1/namespaces/${encodeURIComponent(namespace)}/sgdbops`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

// The state from StackGres's conditions: the one True among Running/Completed/Failed, else waiting.
export function operationState(operation: Operation): { label: string; tone: 'ok' | 'warn' | 'bad' | 'muted'; reason: string } {
  const conditions = operation.status?.conditions ?? [];
  const on = conditions.find((c) => c.status === 'True' && ['Running', 'Completed', 'Failed'].includes(c.type));
  if (on?.type === 'Completed') return { label: 'Completed', tone: 'ok', reason: on.message ?? '' };
  if (on?.type === 'Failed') return { label: on.reason === 'OperationTimedOut' ? 'Timed out' : 'Failed', tone: 'bad', reason: on.message ?? '' };
  if (on?.type === 'Running') return { label: 'Running', tone: 'warn', reason: on.message ?? '' };
  const waiting = conditions.find((c) => c.type === 'Running');
  return { label: 'Waiting', tone: 'muted', reason: waiting?.message ?? waiting?.reason ?? 'not picked up yet' };
}

function measure(value: unknown): string {
  const entry = object(value);
  const number = entry['value'];
  return typeof number === 'number' ? `${number.toFixed(number < 10 ? 2 : 0)} ${String(entry['unit'] ?? '')}` : '–';
}

// One line of what the operation found or did.
export function operationResult(operation: Operation): string {
  const status = operation.status ?? {};
  const op = operation.spec.op;
  if (op === 'benchmark') {
    const pgbench = object(object(status['benchmark'])['pgbench']);
    if (!pgbench['transactionsProcessed']) return '';
    const tps = object(pgbench['transactionsPerSecond']);
    const latency = object(pgbench['latency']);
    return (
      `${measure(tps['excludingConnectionsEstablishing'])}, latency p50 ${measure(latency['p50'])}, p99 ${measure(latency['p99'])}, ` +
      `${String(pgbench['transactionsProcessed'])} transactions, ${String(pgbench['transactionsFailed'] ?? 0)} failed`
    );
  }
  if (op === 'vacuum' || op === 'repack') {
    const databases = object(status[op])['databases'];
    const done = Array.isArray(databases) ? databases.map((db) => String(object(db)['name'])) : [];
    return done.length ? `${done.length} database${done.length === 1 ? '' : 's'}: ${done.join(', ')}` : '';
  }
  const restart = object(status[op]);
  const restarted = restart['restartedInstances'];
  const failure = restart['failure'];
  if (typeof failure === 'string' && failure) return failure;
  return Array.isArray(restarted) && restarted.length ? `restarted ${restarted.join(', ')}` : '';
}

// The manifest the form asks for; pure, so the test of the page and the unit test agree on it.
export function operationManifest(cluster: string, op: Op, options: Record<string, string | boolean>, now = new Date()): Json {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-').toLowerCase();
  const spec: Json = { sgCluster: cluster, op };
  if (op === 'vacuum') spec['vacuum'] = { full: options['full'] === true, freeze: options['freeze'] === true, analyze: options['analyze'] !== false };
  if (op === 'repack') spec['repack'] = { noOrder: options['noOrder'] === true };
  if (op === 'restart') spec['restart'] = { method: String(options['method'] ?? 'InPlace'), onlyPendingRestart: options['onlyPendingRestart'] === true };
  if (op === 'benchmark') {
    const clients = Number(options['clients'] ?? 4);
    spec['benchmark'] = {
      type: 'pgbench',
      connectionType: String(options['connectionType'] ?? 'primary-service'),
      pgbench: {
        databaseSize: String(options['databaseSize'] ?? '64Mi'),
        duration: String(options['duration'] ?? 'PT30S'),
        concurrentClients: Number.isFinite(clients) ? clients : String(options['clients']),
        mode: String(options['mode'] ?? 'tpcb-like'),
      },
    };
  }
  return { apiVersion: 'stackgres.io/v1', kind: 'SGDbOps', metadata: { name: `${cluster}-${op}-${stamp}`.slice(0, 63).replace(/-+$/, '') }, spec };
}

export function OperationsPage({ session, namespace, name }: { session: Session; namespace: string; name: string }) {
  const listed = usePolling(
    () =>
      call<{ items: Operation[] }>('GET', operationsPath(namespace)).then((list) =>
        list.items
          .filter((item) => item.spec.sgCluster === name)
          .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')),
      ),
    3000,
    `${namespace}/${name}`,
  );
  const [op, setOp] = useState<Op>('vacuum');
  const [options, setOptions] = useState<Record<string, string | boolean>>({});
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [queued, setQueued] = useState('');
  const [deleting, setDeleting] = useState<string | undefined>();
  const mayCreate = check(session.permissions, 'create', 'sgdbops', namespace);
  const mayDelete = check(session.permissions, 'delete', 'sgdbops', namespace);

  const option = (key: string, fallback: string | boolean) => options[key] ?? fallback;
  const setOption = (key: string, value: string | boolean) => setOptions({ ...options, [key]: value });
  const submit = async () => {
    setErrors([]);
    setFailure(undefined);
    setQueued('');
    try {
      const created = await call<Operation>('POST', operationsPath(namespace), operationManifest(name, op, options));
      setQueued(created.metadata.name);
      listed.reload();
    } catch (error) {
      if (error instanceof ApiError && error.errors.length) setErrors(error.errors);
      else setFailure(error);
    }
  };
  const remove = async (operation: string) => {
    setDeleting(undefined);
    try {
      await call('DELETE', operationsPath(namespace, operation));
      listed.reload();
    } catch (error) {
      setFailure(error);
    }
  };

  const checkbox = (key: string, label: string, fallback: boolean) => (
    <label class="inline">
      <input type="checkbox" checked={option(key, fallback) === true} data-testid={`op-${key}`} onChange={(event) => setOption(key, (event.target as HTMLInputElement).checked)} />
      {label}
    </label>
  );
  const text = (key: string, label: string, fallback: string, hint: string) => (
    <label class="field">
      <span>{label}</span>
      <input value={String(option(key, fallback))} data-testid={`op-${key}`} onInput={(event) => setOption(key, (event.target as HTMLInputElement).value)} />
      <small class="muted">{hint}</small>
    </label>
  );
  const choice = (key: string, label: string, values: string[]) => (
    <label class="field">
      <span>{label}</span>
      <select value={String(option(key, values[0] ?? ''))} data-testid={`op-${key}`} onChange={(event) => setOption(key, (event.target as HTMLSelectElement).value)}>
        {values.map((value) => (
          <option value={value}>{value}</option>
        ))}
      </select>
    </label>
  );

  return (
    <>
      <p class="crumbs">
        <a href={BASE}>Clusters</a> / <a href={clusterUrl(namespace, name)}>{name}</a> / operations
      </p>
      <h1>Day-2 operations of {name}</h1>
      <ErrorBox error={listed.error} />
      <section aria-label="Run an operation">
        <h2>Run an operation</h2>
        <form
          class="editor-form"
          data-testid="operation-form"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <div class="fields">
            <label class="field">
              <span>Operation</span>
              <select value={op} data-testid="op-kind" onChange={(event) => {
                setOp((event.target as HTMLSelectElement).value as Op);
                setOptions({});
              }}>
                <option value="vacuum">vacuum: VACUUM every database</option>
                <option value="repack">repack: pg_repack every database</option>
                <option value="benchmark">benchmark: pgbench through the cluster's endpoint</option>
                <option value="restart">restart: a rolling restart</option>
              </select>
            </label>
            {op === 'vacuum' && (
              <div class="options">
                {checkbox('analyze', 'ANALYZE', true)}
                {checkbox('freeze', 'FREEZE', false)}
                {checkbox('full', 'FULL (rewrites each table under an exclusive lock)', false)}
              </div>
            )}
            {op === 'repack' && <div class="options">{checkbox('noOrder', 'no order (--no-order)', false)}</div>}
            {op === 'restart' && (
              <>
                {choice('method', 'Method', ['InPlace', 'ReducedImpact'])}
                <div class="options">{checkbox('onlyPendingRestart', 'only members pending a restart', false)}</div>
              </>
            )}
            {op === 'benchmark' && (
              <>
                {choice('mode', 'Workload', ['tpcb-like', 'select-only'])}
                {choice('connectionType', 'Through', ['primary-service', 'replicas-service'])}
                {text('clients', 'Clients', '4', 'concurrent pgbench clients')}
                {text('duration', 'Duration', 'PT30S', 'ISO 8601: PT30S, PT5M')}
                {text('databaseSize', 'Data size', '64Mi', 'pgbench scale = size / 16Mi')}
              </>
            )}
          </div>
          <FieldErrors errors={errors} />
          <ErrorBox error={failure} />
          <div class="actions">
            <GuardedButton check={mayCreate} testId="op-submit" onClick={() => void submit()}>
              Run
            </GuardedButton>
            {queued && (
              <span class="ok" role="status" data-testid="op-queued">
                Asked for {queued}.
              </span>
            )}
          </div>
        </form>
      </section>

      <h2>Operations</h2>
      {!listed.data ? (
        <p class="muted">Loading…</p>
      ) : listed.data.length === 0 ? (
        <p class="muted" data-testid="no-operations">
          None yet.
        </p>
      ) : (
        <div class="table-scroll">
          <table data-testid="operations">
            <thead>
              <tr>
                <th>Name</th>
                <th>Operation</th>
                <th>State</th>
                <th>Asked</th>
                <th>Started</th>
                <th>Result</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {listed.data.map((operation) => {
                const state = operationState(operation);
                return (
                  <tr key={operation.metadata.name} data-testid={`operation-${operation.metadata.name}`}>
                    <td>
                      <details>
                        <summary>{operation.metadata.name}</summary>
                        <pre>{JSON.stringify({ spec: operation.spec, status: operation.status }, null, 2)}</pre>
                      </details>
                    </td>
                    <td>{operation.spec.op}</td>
                    <td>
                      <span class={state.tone} data-testid="op-state" title={state.reason}>
                        {state.label}
                      </span>
                      {state.reason && <small class="muted block">{state.reason}</small>}
                    </td>
                    <td title={utc(operation.metadata.creationTimestamp)}>{ago(operation.metadata.creationTimestamp)}</td>
                    <td title={utc(operation.status?.opStarted)}>{ago(operation.status?.opStarted)}</td>
                    <td data-testid="op-result">{operationResult(operation)}</td>
                    <td>
                      <GuardedButton check={mayDelete} disabled={state.label === 'Running'} testId={`op-delete-${operation.metadata.name}`} onClick={() => setDeleting(operation.metadata.name)}>
                        Delete
                      </GuardedButton>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting}?`}
          body={<p>Its record and results go; an operation that has not started will not run.</p>}
          confirmLabel="Delete"
          onConfirm={() => void remove(deleting)}
          onCancel={() => setDeleting(undefined)}
        />
      )}
    </>
  );
}
