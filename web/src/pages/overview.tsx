// Every SGCluster the caller may list: health, primary, members, version, last backup, endpoints.
import { call, clusterPath } from '../api';
import { ErrorBox, GuardedButton, HealthBadge } from '../components';
import { ago, utc } from '../format';
import { condition, summarize } from '../health';
import { usePolling } from '../polling';
import { check } from '../permissions';
import { BASE, clusterUrl, navigate } from '../router';
import { listedNamespaces, type Session } from '../session';
import type { Cluster } from '../types';

async function loadClusters(namespaces: string[]): Promise<Cluster[]> {
  const lists = await Promise.all(namespaces.map((ns) => call<{ items: Cluster[] }>('GET', clusterPath(ns))));
  return lists
    .flatMap((list) => list.items)
    .sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
}

function Endpoints({ cluster }: { cluster: Cluster }) {
  const endpoints = cluster.status?.endpoints;
  const readWrite = endpoints?.proxyReadWrite?.length ? endpoints.proxyReadWrite : endpoints?.readWrite;
  const readOnly = endpoints?.proxyReadOnly?.length ? endpoints.proxyReadOnly : endpoints?.readOnly;
  if (!readWrite?.length) return <span class="muted">–</span>;
  return (
    <span class="endpoints">
      <span title="read-write">rw {readWrite.join(', ')}</span>
      {readOnly?.length ? <span title="read-only">ro {readOnly.join(', ')}</span> : null}
    </span>
  );
}

function LastBackup({ cluster }: { cluster: Cluster }) {
  const backups = cluster.status?.backups;
  if (!backups?.lastCompletedAt) return <span class="muted">{backups?.count ? `${backups.count}, none completed` : 'none'}</span>;
  const verified = condition(cluster, 'BackupsVerified');
  return (
    <span title={backups.last}>
      {ago(backups.lastCompletedAt)}
      {verified && (
        <small class={verified.status === 'True' ? 'ok' : 'warn'}>
          {verified.status === 'True' ? ' verified' : ` ${verified.reason ?? 'not verified'}`}
        </small>
      )}
    </span>
  );
}

export function OverviewPage({ session }: { session: Session }) {
  const namespaces = listedNamespaces(session.identity);
  const clusters = usePolling(() => loadClusters(namespaces), 5000, namespaces.join(','));
  // Enabled when the caller may create a cluster in some namespace (the form chooses which).
  const creates = (namespaces[0] === '_all' ? ['default'] : namespaces).map((ns) =>
    check(session.permissions, 'create', 'sgclusters', ns),
  );
  const mayCreate = creates.find((entry) => entry.allowed) ?? creates[0] ?? check(undefined, 'create', 'sgclusters', 'default');
  return (
    <>
      <div class="title-row">
        <h1>Clusters</h1>
        <GuardedButton check={mayCreate} testId="new-cluster" onClick={() => navigate(`${BASE}new/sgcluster`)}>
          New cluster
        </GuardedButton>
      </div>
      <ErrorBox error={clusters.error} />
      {clusters.data === undefined && !clusters.error && <p>Loading…</p>}
      {clusters.data?.length === 0 && (
        <p data-testid="no-clusters">
          No clusters yet. Create one with New cluster, or with <code>pgstack apply -f cluster.yaml</code>.
        </p>
      )}
      {clusters.data && clusters.data.length > 0 && (
        <div class="table-scroll">
          <table data-testid="clusters">
            <thead>
              <tr>
                <th>Cluster</th>
                <th>Health</th>
                <th>Primary</th>
                <th>Members</th>
                <th>Postgres</th>
                <th>Last backup</th>
                <th>Endpoints</th>
              </tr>
            </thead>
            <tbody>
              {clusters.data.map((cluster) => {
                const health = summarize(cluster);
                const status = cluster.status;
                const members = status?.members ?? [];
                const running = members.filter((m) => m.state === 'running' || m.state === 'streaming').length;
                return (
                  <tr key={`${cluster.metadata.namespace}/${cluster.metadata.name}`} data-testid={`cluster-${cluster.metadata.name}`}>
                    <td>
                      <a href={clusterUrl(cluster.metadata.namespace, cluster.metadata.name)}>{cluster.metadata.name}</a>
                      <small class="muted"> {cluster.metadata.namespace}</small>
                    </td>
                    <td>
                      <HealthBadge health={health.health} label={health.label} />
                      {health.reasons.length > 0 && health.health !== 'ready' && <small class="reasons">{health.reasons.join('; ')}</small>}
                    </td>
                    <td>{status?.primary ?? <span class="muted">none</span>}</td>
                    <td data-testid="members-count">
                      {running}/{status?.instances ?? cluster.spec.instances ?? '?'}
                    </td>
                    <td>{status?.postgresVersion ?? cluster.spec.postgres?.version ?? '–'}</td>
                    <td>
                      <LastBackup cluster={cluster} />
                    </td>
                    <td>
                      <Endpoints cluster={cluster} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {clusters.loadedAt && (
        <p class="muted small" data-testid="updated">
          Updated {utc(new Date(clusters.loadedAt).toISOString())}, every 5 s.
        </p>
      )}
    </>
  );
}
