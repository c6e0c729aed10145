// A cluster's backups (its SGBackups, docs/api.md "Backups"): phase, times, size, WAL range and
// timeline, verification; "Backup now" creates an SGBackup as `pgstack backup` does, "Verify" asks for a
// restore test (POST .../sgbackups/{name}/verify). Archiving and the backup conditions from the status.
import { useState } from 'preact/hooks';
import { ApiError, call, clusterPath } from '../api';
import { ErrorBox, GuardedButton } from '../components';
import { ago, bytes, utc } from '../format';
import { condition } from '../health';
import { check } from '../permissions';
import { usePolling } from '../polling';
import { BASE, clusterUrl, navigate } from '../router';
import type { Session } from '../session';
import type { Cluster } from '../types';

interface Verification {
  phase?: string;
  requestedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  timeToUsableSeconds?: number;
  message?: string;
}

export interface Backup {
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  spec: { sgCluster?: string; type?: string; managedLifecycle?: boolean };
  status?: {
    phase?: string;
    type?: string;
    source?: string;
    label?: string;
    startedAt?: string;
    finishedAt?: string;
    durationSeconds?: number;
    sizeBytes?: number;
    storedBytes?: number;
    lsn?: { start?: string; stop?: string };
    wal?: { start?: string; stop?: string };
    timeline?: number;
    message?: string;
    verification?: Verification;
  };
}

interface Archiving {
  archivedCount?: number;
  lastArchivedWal?: string;
  lastArchivedTime?: string;
  failedCount?: number;
  lastFailedWal?: string;
  lastFailureMessage?: string;
  failing?: boolean;
}

type ClusterWithBackups = Cluster & {
  spec: { configurations?: { backups?: { sgObjectStorage?: string; cronSchedule?: string }[] } };
  status?: { archiving?: Archiving };
};

function backupsPath(namespace: string, name?: string): string {
  const base = `/apis/stackgres.io/v1/namespaces/${encodeURIComponent(namespace)}/sgbackups`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

// `<cluster>-<YYYYMMDDHHMMSS>` in UTC, the name `pgstack backup` and the schedule give a backup.
export function backupName(cluster: string, at: Date): string {
  return `${cluster}-${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '–';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

async function loadBackups(namespace: string, cluster: string): Promise<Backup[]> {
  const list = await call<{ items: Backup[] }>('GET', backupsPath(namespace));
  const when = (backup: Backup) => backup.status?.startedAt ?? backup.metadata.creationTimestamp ?? '';
  return list.items
    .filter((backup) => backup.spec?.sgCluster === cluster)
    .sort((a, b) => when(b).localeCompare(when(a)) || b.metadata.name.localeCompare(a.metadata.name));
}

function phaseClass(phase: string | undefined): string {
  if (phase === 'Completed' || phase === 'Passed') return 'badge badge-ready';
  if (phase === 'Failed') return 'badge badge-down';
  return 'badge badge-pending';
}

function VerificationCell({ verification }: { verification: Verification | undefined }) {
  if (!verification?.phase) return <span class="muted">not yet</span>;
  return (
    <span class="stack">
      <span class={phaseClass(verification.phase)} data-testid="verification-phase">
        {verification.phase}
      </span>
      {verification.phase === 'Passed' && verification.timeToUsableSeconds !== undefined && (
        <small class="muted">usable after {duration(verification.timeToUsableSeconds)}</small>
      )}
      {verification.finishedAt && <small class="muted" title={utc(verification.finishedAt)}>{ago(verification.finishedAt)}</small>}
      {verification.message && <small class="message">{verification.message}</small>}
    </span>
  );
}

export function BackupsPage({ session, namespace, name }: { session: Session; namespace: string; name: string }) {
  const backups = usePolling(() => loadBackups(namespace, name), 3000, `${namespace}/${name}`);
  const cluster = usePolling(() => call<ClusterWithBackups>('GET', clusterPath(namespace, name)), 5000, `${namespace}/${name}`);
  const [type, setType] = useState('');
  const [outcome, setOutcome] = useState('');
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const checks = {
    create: check(session.permissions, 'create', 'sgbackups', namespace),
    verify: check(session.permissions, 'create', 'sgbackups/verify', namespace),
  };

  // As `pgstack backup`: names are per second, so one asked for in the same second as another takes the
  // next free suffix.
  const backupNow = async () => {
    setBusy(true);
    setOutcome('');
    setActionError(undefined);
    const base = backupName(name, new Date());
    const spec: Record<string, string> = { sgCluster: name };
    if (type) spec['type'] = type;
    try {
      for (let attempt = 1; ; attempt += 1) {
        const backup = attempt === 1 ? base : `${base}-${attempt}`;
        try {
          await call('POST', backupsPath(namespace), {
            apiVersion: 'stackgres.io/v1',
            kind: 'SGBackup',
            metadata: { name: backup, namespace },
            spec,
          });
          setOutcome(`Backup ${backup} requested; the agent on the primary's host takes it.`);
          break;
        } catch (caught) {
          if (!(caught instanceof ApiError && caught.status === 409) || attempt >= 9) throw caught;
        }
      }
      backups.reload();
    } catch (caught) {
      setActionError(caught);
    }
    setBusy(false);
  };

  const verify = async (backup: string) => {
    setOutcome('');
    setActionError(undefined);
    try {
      const reply = await call<{ message?: string }>('POST', `${backupsPath(namespace, backup)}/verify`);
      setOutcome(reply.message ?? `Verification of ${backup} requested.`);
      backups.reload();
    } catch (caught) {
      setActionError(caught);
    }
  };

  if (cluster.error instanceof ApiError && cluster.error.status === 404)
    return (
      <>
        <h1>Backups of {name}</h1>
        <p data-testid="not-found">
          There is no SGCluster {name} in namespace {namespace}. <a href={BASE}>All clusters</a>
        </p>
      </>
    );
  const data = cluster.data;
  const configured = data?.spec.configurations?.backups?.[0];
  const archiving = data?.status?.archiving;
  const verified = data ? condition(data, 'BackupsVerified') : undefined;
  const storage = data ? condition(data, 'BackupStorageUsable') : undefined;

  return (
    <>
      <p class="crumbs">
        <a href={BASE}>Clusters</a> / {namespace} / <a href={clusterUrl(namespace, name)}>{name}</a>
      </p>
      <h1>Backups of {name}</h1>
      <ErrorBox error={cluster.error} />

      {data && (
        <dl class="facts" data-testid="backup-facts">
          <div>
            <dt>Repository</dt>
            <dd>
              {configured ? (
                <>
                  SGObjectStorage <code>{configured.sgObjectStorage}</code>
                  {configured.cronSchedule && (
                    <>
                      , schedule <code>{configured.cronSchedule}</code> UTC
                    </>
                  )}
                  {storage?.status === 'False' && <span class="cond-bad"> unusable: {storage.message}</span>}
                </>
              ) : (
                <span class="warn" data-testid="no-backup-config">
                  none: the cluster has no <code>spec.configurations.backups</code>, so a backup is refused
                </span>
              )}
            </dd>
          </div>
          {archiving && (
            <div data-testid="archiving">
              <dt>WAL archiving</dt>
              <dd>
                {archiving.lastArchivedWal ? (
                  <>
                    last <code>{archiving.lastArchivedWal}</code> {ago(archiving.lastArchivedTime)}, {archiving.archivedCount ?? 0} archived
                  </>
                ) : (
                  'nothing archived yet'
                )}
                {archiving.failing && (
                  <span class="cond-bad">
                    {' '}
                    failing at {archiving.lastFailedWal}: {archiving.lastFailureMessage}
                  </span>
                )}
              </dd>
            </div>
          )}
          {verified && (
            <div>
              <dt>Verified</dt>
              <dd class={verified.status === 'True' ? 'cond-good' : 'cond-bad'}>{verified.message ?? verified.reason}</dd>
            </div>
          )}
        </dl>
      )}

      <section class="actions-bar" aria-label="Actions">
        <label class="inline">
          Type
          <select
            value={type}
            disabled={!checks.create.allowed}
            onChange={(event) => setType((event.target as HTMLSelectElement).value)}
            data-testid="backup-type"
          >
            <option value="">auto (incr after a full)</option>
            <option value="full">full</option>
            <option value="diff">diff</option>
            <option value="incr">incr</option>
          </select>
        </label>
        <GuardedButton check={checks.create} testId="backup-now" onClick={() => !busy && void backupNow()}>
          Backup now
        </GuardedButton>
        <GuardedButton
          check={check(session.permissions, 'create', 'sgclusters', namespace)}
          testId="restore-wizard"
          onClick={() => navigate(clusterUrl(namespace, name, 'restore'))}
        >
          Restore into a new cluster…
        </GuardedButton>
        {!checks.verify.allowed && (
          <span class="missing small" data-testid="verify-missing">
            Verify needs {checks.verify.permission}
          </span>
        )}
      </section>
      {outcome && (
        <p class="ok" role="status" data-testid="backup-outcome">
          {outcome}
        </p>
      )}
      <ErrorBox error={actionError} />
      <ErrorBox error={backups.error} />

      {backups.data?.length ? (
        <div class="table-scroll">
          <table data-testid="backups">
            <thead>
              <tr>
                <th>Backup</th>
                <th>Phase</th>
                <th>Started</th>
                <th>Size</th>
                <th>WAL</th>
                <th>Verification</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {backups.data.map((backup) => {
                const status = backup.status;
                const phase = status?.phase ?? 'Pending';
                const verifying = status?.verification?.phase === 'Running' || status?.verification?.phase === 'Pending';
                const verifiable = phase === 'Completed' && !verifying;
                return (
                  <tr key={backup.metadata.name} data-testid={`backup-${backup.metadata.name}`}>
                    <td>
                      {backup.metadata.name}
                      <small class="muted block" data-testid="backup-kind">
                        {status?.type ?? backup.spec.type ?? 'type not known yet'}
                        {status?.source && ` from the ${status.source}`}
                        {status?.label && `, ${status.label}`}
                      </small>
                    </td>
                    <td>
                      <span class={phaseClass(phase)} data-testid="backup-phase">
                        {phase}
                      </span>
                      {status?.durationSeconds !== undefined && <small class="muted block">in {duration(status.durationSeconds)}</small>}
                      {status?.message && <small class="message block">{status.message}</small>}
                    </td>
                    <td title={status?.finishedAt ? `finished ${utc(status.finishedAt)}` : undefined}>
                      {utc(status?.startedAt)}
                      {status?.startedAt && <small class="muted block">{ago(status.startedAt)}</small>}
                    </td>
                    <td title={status?.sizeBytes === undefined ? undefined : `${status.sizeBytes} bytes`}>
                      {bytes(status?.sizeBytes)}
                      {status?.storedBytes !== undefined && <small class="muted block">stored {bytes(status.storedBytes)}</small>}
                    </td>
                    <td class="wal">
                      {status?.wal?.start ? (
                        <>
                          <code class="block">{status.wal.start}</code>
                          {status.wal.stop && status.wal.stop !== status.wal.start && (
                            <span class="block">
                              to <code>{status.wal.stop}</code>
                            </span>
                          )}
                          <small class="muted block">timeline {status.timeline ?? '?'}</small>
                          {status.lsn?.start && (
                            <small class="muted block">
                              LSN {status.lsn.start} … {status.lsn.stop ?? '?'}
                            </small>
                          )}
                        </>
                      ) : (
                        '–'
                      )}
                    </td>
                    <td class="verification">
                      <VerificationCell verification={status?.verification} />
                    </td>
                    <td>
                      <button
                        type="button"
                        class="small"
                        disabled={!checks.verify.allowed || !verifiable}
                        title={
                          !checks.verify.allowed
                            ? `missing permission: ${checks.verify.permission}`
                            : verifiable
                              ? 'Restore this backup into a scratch instance and check it'
                              : verifying
                                ? 'A verification is under way'
                                : 'Only a Completed backup can be verified'
                        }
                        data-testid="backup-verify"
                        onClick={() => verify(backup.metadata.name)}
                      >
                        Verify
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted" data-testid="no-backups">
          {backups.data ? 'No backups of this cluster yet.' : 'Loading…'}
        </p>
      )}
      {backups.loadedAt && (
        <p class="muted small">Updated {utc(new Date(backups.loadedAt).toISOString())}, every 3 s.</p>
      )}
    </>
  );
}
