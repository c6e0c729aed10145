// One cluster: health, actions the caller's role allows, members, conditions, connection strings.
import { useState } from 'preact/hooks';
import { ApiError, call, clusterPath } from '../api';
import { ConfirmDialog, CopyButton, ErrorBox, GuardedButton, HealthBadge } from '../components';
import { applicationCredentials, connectionUris, type Credentials } from '../connection';
import { ago, bytes, utc } from '../format';
import { summarize } from '../health';
import { check } from '../permissions';
import { usePolling } from '../polling';
import { BASE, clusterUrl, navigate } from '../router';
import type { Session } from '../session';
import type { Cluster, StatusMetrics } from '../types';

type Action = 'switchover' | 'restart' | 'delete';

// One switchover or failover, or the end of the restore that made the cluster (GET .../history, docs/api.md).
interface HistoryEntry {
  at: string;
  kind: 'switchover' | 'failover' | 'failed switchover' | 'restore';
  timeline?: number | null;
  from?: string | null;
  to?: string | null;
  requestedBy?: string | null;
  unavailableSeconds?: number | null;
  unavailableMeasuredBy?: 'proxy' | 'switchover request' | null;
  reason: string;
}

// How the Unavailable column's figure was measured (cluster_history.h).
function unavailableHint(entry: HistoryEntry): string {
  if (entry.kind === 'restore') return 'the cluster was new: there were no writes to interrupt';
  if (entry.unavailableMeasuredBy === 'proxy')
    return "measured by the cluster's proxy: from the first failed check of the old primary until the new one was routable (1 s resolution)";
  if (entry.unavailableMeasuredBy === 'switchover request')
    return 'no proxy measured it: from the request until the new primary was reported, an upper bound of the write outage';
  return 'no proxy was running or answering when it happened';
}

// Conditions that report a problem when True; the others report one when False.
const PROBLEM_WHEN_TRUE = new Set(['Degraded', 'PendingRestart', 'AlertsFiring', 'LogsBehind']);

function conditionClass(type: string, value: string): string {
  if (value !== 'True' && value !== 'False') return '';
  return (value === 'True') !== PROBLEM_WHEN_TRUE.has(type) ? 'cond-good' : 'cond-bad';
}

// A replica's replay delay as the leading controller last read it from Prometheus (status.metrics); "–" for a
// primary, or when monitoring says nothing (its reason is under the members table).
function lagSeconds(metrics: StatusMetrics | undefined, role: string | undefined, member: string): string {
  const value = metrics?.lagSeconds?.[member];
  if (role !== 'replica' || value === undefined || value === null) return '–';
  return value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(1)} s`;
}

export function ClusterPage({ session, namespace, name }: { session: Session; namespace: string; name: string }) {
  const cluster = usePolling(() => call<Cluster>('GET', clusterPath(namespace, name)), 3000, `${namespace}/${name}`);
  const [action, setAction] = useState<Action | undefined>(undefined);
  const [outcome, setOutcome] = useState<string>('');
  const [candidate, setCandidate] = useState('');
  const history = usePolling(() => call<{ items: HistoryEntry[] }>('GET', `${clusterPath(namespace, name)}/history`).then((list) => list.items), 10000, `history-${namespace}/${name}`);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [credentials, setCredentials] = useState<Credentials | undefined>(undefined);
  const [credentialsError, setCredentialsError] = useState<unknown>(undefined);
  const may = (verb: string, resource: string) => check(session.permissions, verb, resource, namespace);
  const checks = {
    switchover: may('create', 'sgclusters/switchover'),
    restart: may('create', 'sgclusters/restart'),
    delete: may('delete', 'sgclusters'),
    edit: may('update', 'sgclusters'),
    credentials: may('get', 'sgclusters/credentials'),
  };

  if (cluster.error instanceof ApiError && cluster.error.status === 404)
    return (
      <>
        <h1>{name}</h1>
        <p data-testid="not-found">
          There is no SGCluster {name} in namespace {namespace}. <a href={BASE}>All clusters</a>
        </p>
      </>
    );
  const data = cluster.data;
  const status = data?.status;
  const health = data ? summarize(data) : undefined;

  const run = async (chosen: Action) => {
    setAction(undefined);
    setActionError(undefined);
    setOutcome('');
    try {
      if (chosen === 'delete') {
        await call('DELETE', clusterPath(namespace, name));
        navigate(BASE);
        return;
      }
      const body = chosen === 'switchover' && candidate ? { candidate } : undefined;
      const reply = await call<Record<string, unknown>>('POST', `${clusterPath(namespace, name)}/${chosen}`, body);
      setOutcome(chosen === 'switchover' ? `Switched over from ${reply['from']} to ${reply['to']}.` : String(reply['message'] ?? 'Queued.'));
      cluster.reload();
    } catch (caught) {
      setActionError(caught);
    }
  };

  const revealPassword = async () => {
    setCredentialsError(undefined);
    try {
      const body = await call<Record<string, unknown>>('GET', `${clusterPath(namespace, name)}/credentials`);
      const found = applicationCredentials(body);
      if (!found) throw new Error('the credentials have no application user');
      setCredentials(found);
    } catch (caught) {
      setCredentialsError(caught);
    }
  };

  return (
    <>
      <p class="crumbs">
        <a href={BASE}>Clusters</a> / {namespace}
      </p>
      <div class="title-row">
        <h1 data-testid="cluster-name">{name}</h1>
        {health && <HealthBadge health={health.health} label={health.label} />}
        <span class="muted">
          {status?.postgresVersion ? `PostgreSQL ${status.postgresVersion}` : ''}
          {status?.observedAt ? ` · observed ${ago(status.observedAt)}` : ''}
        </span>
      </div>
      {health && health.reasons.length > 0 && <p class="reasons">{health.reasons.join('; ')}</p>}
      {status?.metrics && (
        <p class="muted" data-testid="cluster-figures">
          {status.metrics.reason
            ? `No figures: ${status.metrics.reason}`
            : `${status.metrics.tps === null || status.metrics.tps === undefined ? '–' : status.metrics.tps.toFixed(1)} transactions/s · ` +
              `${status.metrics.connections ?? '–'} of ${status.metrics.maxConnections ?? '–'} connections`}
        </p>
      )}
      <nav class="subpages" aria-label="More about this cluster">
        <a href={clusterUrl(namespace, name, 'backups')} data-testid="link-backups">
          Backups
        </a>
        <a href={clusterUrl(namespace, name, 'logs')} data-testid="link-logs">
          Logs
        </a>
        <a href={clusterUrl(namespace, name, 'metrics')} data-testid="link-metrics">
          Metrics
        </a>
        <a href={clusterUrl(namespace, name, 'operations')} data-testid="link-operations">
          Operations
        </a>
      </nav>
      <ErrorBox error={cluster.error} />

      <section class="actions-bar" aria-label="Actions">
        <GuardedButton check={checks.edit} testId="action-edit" onClick={() => navigate(`${clusterUrl(namespace, name)}/edit`)}>
          Edit
        </GuardedButton>
        <GuardedButton check={checks.switchover} testId="action-switchover" onClick={() => setAction('switchover')}>
          Switchover
        </GuardedButton>
        <GuardedButton check={checks.restart} testId="action-restart" onClick={() => setAction('restart')}>
          Rolling restart
        </GuardedButton>
        <GuardedButton check={checks.delete} testId="action-delete" danger onClick={() => setAction('delete')}>
          Delete
        </GuardedButton>
      </section>
      {outcome && (
        <p class="ok" role="status" data-testid="action-outcome">
          {outcome}
        </p>
      )}
      <ErrorBox error={actionError} />
      {action === 'switchover' && (
        <ConfirmDialog
          title={`Switch over ${name}?`}
          body={
            <>
              <p>Patroni promotes the chosen replica; clients of the primary reconnect.</p>
              <label>
                New primary
                <select value={candidate} data-testid="switchover-candidate" onChange={(event) => setCandidate((event.target as HTMLSelectElement).value)}>
                  <option value="">the healthiest replica (running, least lag)</option>
                  {(status?.members ?? [])
                    .filter((member) => member.role !== 'primary' && (member.state === 'running' || member.state === 'streaming'))
                    .map((member) => (
                      <option value={member.name}>{member.name}</option>
                    ))}
                </select>
              </label>
            </>
          }
          confirmLabel="Switch over"
          onConfirm={() => run('switchover')}
          onCancel={() => setAction(undefined)}
        />
      )}
      {action === 'restart' && (
        <ConfirmDialog
          title={`Restart ${name}?`}
          body={<p>Replicas first, then a switchover, then the old primary (an SGDbOps of op restart).</p>}
          confirmLabel="Restart"
          onConfirm={() => run('restart')}
          onCancel={() => setAction(undefined)}
        />
      )}
      {action === 'delete' && (
        <ConfirmDialog
          title={`Delete ${name}?`}
          body={<p>Its members stop; their data directories stay on the hosts.</p>}
          confirmLabel="Delete"
          typed={name}
          danger
          onConfirm={() => run('delete')}
          onCancel={() => setAction(undefined)}
        />
      )}

      <h2>Members</h2>
      {status?.members?.length ? (
        <div class="table-scroll">
          <table data-testid="members">
            <thead>
              <tr>
                <th>Member</th>
                <th>Role</th>
                <th>State</th>
                <th>Timeline</th>
                <th>Lag</th>
                <th>Lag (time)</th>
                <th>Pending restart</th>
                <th>Host</th>
                <th>Endpoints</th>
              </tr>
            </thead>
            <tbody>
              {status.members.map((member) => (
                <tr key={member.name} data-testid={`member-${member.name}`}>
                  <td>{member.name}</td>
                  <td>
                    <span class={`role role-${member.role ?? 'unknown'}`}>{member.role ?? 'unknown'}</span>
                  </td>
                  <td>{member.state ?? '–'}</td>
                  <td>{member.timeline ?? '–'}</td>
                  <td title={member.lagBytes === undefined ? 'unknown' : `${member.lagBytes} bytes`}>{bytes(member.lagBytes)}</td>
                  <td data-testid={`lag-seconds-${member.name}`}>{lagSeconds(status.metrics, member.role, member.name)}</td>
                  <td>{member.pendingRestart ? <span class="warn">yes</span> : 'no'}</td>
                  <td>{member.host ?? '–'}</td>
                  <td>
                    <span class="endpoints">
                      {member.endpoints?.postgres && <span>postgres {member.endpoints.postgres}</span>}
                      {member.endpoints?.pgbouncer && <span>pgbouncer {member.endpoints.pgbouncer}</span>}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">{data ? 'No members reported yet.' : 'Loading…'}</p>
      )}

      <h2>Connection</h2>
      <div class="connect">
        {connectionUris(status?.endpoints, credentials).map(({ label, uri }, index) => (
          <div class="uri" key={label}>
            <span class="label">{label}</span>
            <code data-testid={`uri-${index}`}>{uri}</code>
            <CopyButton text={uri} testId={`copy-${index}`} />
          </div>
        ))}
        {!status?.endpoints?.readWrite?.length && !status?.endpoints?.proxyReadWrite?.length && (
          <p class="muted">No endpoints reported yet.</p>
        )}
        {credentials ? (
          <p class="muted small">
            User <code>{credentials.user}</code>, database <code>{credentials.database}</code>; the password is in the URIs above.{' '}
            <button type="button" class="small" data-testid="hide-password" onClick={() => setCredentials(undefined)}>
              Hide
            </button>
          </p>
        ) : (
          <GuardedButton check={checks.credentials} testId="reveal-password" onClick={revealPassword}>
            Show user and password
          </GuardedButton>
        )}
        <ErrorBox error={credentialsError} />
      </div>

      <h2>Conditions</h2>
      <div class="table-scroll">
        <table data-testid="conditions">
          <thead>
            <tr>
              <th>Type</th>
              <th>Status</th>
              <th>Reason</th>
              <th>Message</th>
              <th>Since</th>
            </tr>
          </thead>
          <tbody>
            {(status?.conditions ?? []).map((c) => (
              <tr key={c.type} data-testid={`condition-${c.type}`}>
                <td>{c.type}</td>
                <td class={conditionClass(c.type, c.status)}>{c.status}</td>
                <td>{c.reason ?? ''}</td>
                <td class="message">{c.message ?? ''}</td>
                <td title={utc(c.lastTransitionTime)}>{ago(c.lastTransitionTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Switchovers and failovers</h2>
      <ErrorBox error={history.error} />
      {history.data?.length ? (
        <div class="table-scroll">
          <table data-testid="history">
            <thead>
              <tr>
                <th>When</th>
                <th>What</th>
                <th>From → to</th>
                <th>Timeline</th>
                <th>Asked by</th>
                <th>Unavailable</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {history.data.map((entry) => (
                <tr key={`${entry.at}-${entry.kind}`} class={entry.kind === 'switchover' || entry.kind === 'restore' ? '' : 'refused'}>
                  <td title={utc(entry.at)}>{ago(entry.at)}</td>
                  <td>{entry.kind}</td>
                  <td>
                    {entry.from ?? '?'} → {entry.to ?? '?'}
                  </td>
                  <td>{entry.timeline ?? '–'}</td>
                  <td>{entry.requestedBy ?? 'nobody: Patroni on its own'}</td>
                  <td title={unavailableHint(entry)} data-testid="history-unavailable">
                    {entry.kind === 'restore'
                      ? '–'
                      : entry.unavailableSeconds === null || entry.unavailableSeconds === undefined
                        ? 'not measured'
                        : `${entry.unavailableSeconds.toFixed(1)} s${entry.unavailableMeasuredBy === 'proxy' ? '' : ' at most'}`}
                  </td>
                  <td class="message">{entry.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted" data-testid="no-history">
          {history.data ? 'None: the first primary still leads.' : 'Loading…'}
        </p>
      )}

      {status?.alerts?.length ? (
        <>
          <h2>Alerts firing</h2>
          <ul data-testid="alerts">
            {status.alerts.map((alert) => (
              <li key={`${alert.name}-${alert.subject}`}>
                <strong>{alert.name}</strong> {alert.severity} {alert.subject} since {utc(alert.since)}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </>
  );
}
