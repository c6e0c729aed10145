// Restore into a new cluster: the window a restore can really reach (GET .../recoverywindow: from the oldest
// completed backup to now while the primary archives, else to the last archived segment, with the gaps), a
// point in time chosen on a slider or typed, the backup it starts from (the newest that finished before it),
// and the manifest that will be applied, checked by the server's dry run first. Never offers a time outside
// the window.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, clusterPath, type FieldError, type Json } from '../api';
import { ErrorBox, FieldErrors, GuardedButton } from '../components';
import { object } from '../dry-run';
import { utc } from '../format';
import { check } from '../permissions';
import { usePolling } from '../polling';
import { BASE, clusterUrl, navigate } from '../router';
import { backupFor, gapBands, iso, outOfGaps, seconds, unreachable, type RecoveryWindow } from '../recovery-window';
import type { Session } from '../session';

type Target = { kind: 'latest' } | { kind: 'time'; at: string };

// The new cluster: the source's spec (its size, version, configurations) without its own initial data or
// managed SQL (the restored data already has what they made), restoring from the chosen backup.
export function restoreManifest(source: Json, name: string, backup: string, target: Target): Json {
  const spec = structuredClone(object(source['spec']));
  delete spec['initialData'];
  delete spec['managedSql'];
  const fromBackup: Json = { name: backup };
  if (target.kind === 'time') fromBackup['pointInTimeRecovery'] = { restoreToTimestamp: target.at };
  spec['initialData'] = { restore: { fromBackup } };
  const namespace = String(object(source['metadata'])['namespace'] ?? 'default');
  return { apiVersion: 'stackgres.io/v1', kind: 'SGCluster', metadata: { name, namespace }, spec };
}

export function RestorePage({ session, namespace, name }: { session: Session; namespace: string; name: string }) {
  const recovery = usePolling(
    () => call<RecoveryWindow>('GET', `${clusterPath(namespace, name)}/recoverywindow`),
    15000,
    `${namespace}/${name}`,
  );
  const [source, setSource] = useState<Json | undefined>();
  const [newName, setNewName] = useState(`${name}-restored`);
  const [target, setTarget] = useState<Target>({ kind: 'time', at: '' });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [accepted, setAccepted] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const allowed = check(session.permissions, 'create', 'sgclusters', namespace);

  useEffect(() => {
    call<Json>('GET', clusterPath(namespace, name)).then(setSource, setFailure);
  }, [namespace, name]);

  const data = recovery.data;
  // Start at the latest reachable time once the window is known.
  useEffect(() => {
    if (data?.latest && target.kind === 'time' && target.at === '') setTarget({ kind: 'time', at: data.latest });
  }, [data?.latest]);

  const problem = data && target.kind === 'time' ? unreachable(data, target.at) : undefined;
  const backup = data ? backupFor(data, target.kind === 'time' ? target.at : undefined) : undefined;
  const manifest = source && backup && !problem ? restoreManifest(source, newName, backup, target) : undefined;
  const body = manifest ? JSON.stringify(manifest) : '';

  const submit = async (dryRun: boolean) => {
    if (!manifest) return;
    setBusy(true);
    setErrors([]);
    setFailure(undefined);
    try {
      await call('POST', clusterPath(namespace) + (dryRun ? '?dryRun=All' : ''), manifest);
      if (dryRun) setAccepted(body);
      else navigate(clusterUrl(namespace, newName));
    } catch (error) {
      setAccepted(undefined);
      if (error instanceof ApiError && error.errors.length) setErrors(error.errors);
      else setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  const earliest = data?.earliest ? seconds(data.earliest) : 0;
  const latest = data?.latest ? seconds(data.latest) : 0;
  return (
    <>
      <p class="crumbs">
        <a href={BASE}>Clusters</a> / <a href={clusterUrl(namespace, name)}>{name}</a> / <a href={clusterUrl(namespace, name, 'backups')}>backups</a> / restore
      </p>
      <h1>Restore {name} into a new cluster</h1>
      <ErrorBox error={recovery.error} />
      {!data ? (
        <p class="muted">Loading…</p>
      ) : !data.earliest || !data.latest ? (
        <p class="warn" data-testid="no-window">
          {data.latestReason}
        </p>
      ) : (
        <>
          <section class="window" data-testid="recovery-window">
            <h2>What can be reached</h2>
            <p>
              From <strong data-testid="window-earliest">{utc(data.earliest)}</strong> (the end of the oldest backup that can be restored) to{' '}
              <strong data-testid="window-latest">{utc(data.latest)}</strong>: {data.latestReason}.
            </p>
            {data.gaps.length > 0 && (
              <ul class="warn" data-testid="window-gaps">
                {data.gaps.map((gap) => (
                  <li>
                    Not reachable from {utc(gap.from)} to {utc(gap.to)}: {gap.reason}
                  </li>
                ))}
              </ul>
            )}
            <p class="muted">
              Backups a restore can start from:{' '}
              {data.backups
                .map(
                  (entry) =>
                    `${entry.name} (${utc(entry.finishedAt)}${entry.verification === 'Passed' ? ', verified' : ''}${
                      entry.reachableUntil ? `; reaches only until ${utc(entry.reachableUntil)}: ${entry.reachableReason ?? ''}` : ''
                    })`,
                )
                .join('; ')}
            </p>
          </section>

          <form
            class="editor-form"
            data-testid="restore-form"
            onSubmit={(event) => {
              event.preventDefault();
              void submit(true);
            }}
          >
            <div class="fields">
              <label class="field">
                <span>New cluster's name</span>
                <input value={newName} data-testid="restore-name" onInput={(event) => setNewName((event.target as HTMLInputElement).value)} />
              </label>
            </div>
            <fieldset class="target">
              <legend>Restore to</legend>
              <label class="inline">
                <input type="radio" name="target" checked={target.kind === 'latest'} data-testid="target-latest" onChange={() => setTarget({ kind: 'latest' })} />
                everything archived (the newest backup, then all WAL after it)
              </label>
              <label class="inline">
                <input
                  type="radio"
                  name="target"
                  checked={target.kind === 'time'}
                  data-testid="target-time"
                  onChange={() => setTarget({ kind: 'time', at: data.latest ?? '' })}
                />
                a point in time
              </label>
              {target.kind === 'time' && (
                <div class="pitr">
                  <input
                    type="range"
                    min={earliest}
                    max={latest}
                    step={1}
                    value={Number.isFinite(seconds(target.at)) ? seconds(target.at) : latest}
                    aria-label="point in time"
                    data-testid="target-slider"
                    onInput={(event) => {
                      const slider = event.target as HTMLInputElement;
                      const value = outOfGaps(data, Number(slider.value), earliest, latest);
                      slider.value = String(value);
                      setTarget({ kind: 'time', at: iso(value) });
                    }}
                  />
                  {data.gaps.length > 0 && (
                    <div class="pitr-track" data-testid="slider-gaps" aria-hidden="true">
                      {gapBands(data, earliest, latest).map((band) => (
                        <span key={band.left} class="pitr-gap" title={band.title} style={{ left: `${band.left}%`, width: `${band.width}%` }} />
                      ))}
                    </div>
                  )}
                  <label class="field">
                    <span>Time (UTC, ISO 8601)</span>
                    <input value={target.at} data-testid="target-at" onInput={(event) => setTarget({ kind: 'time', at: (event.target as HTMLInputElement).value })} />
                    <small class="muted">
                      {utc(target.at)} {problem ? '' : `· starts from ${backup ?? '–'}`}
                    </small>
                  </label>
                  {problem && (
                    <p class="error" role="alert" data-testid="target-problem">
                      Cannot be reached: {problem}
                    </p>
                  )}
                </div>
              )}
            </fieldset>
            <FieldErrors errors={errors} />
            <ErrorBox error={failure} />
            <div class="actions">
              <GuardedButton check={allowed} disabled={busy || !manifest} testId="dry-run" onClick={() => void submit(true)}>
                Check (dry run)
              </GuardedButton>
              <GuardedButton check={allowed} disabled={busy || !manifest || accepted !== body} testId="restore" onClick={() => void submit(false)}>
                Restore
              </GuardedButton>
              {accepted === body && manifest ? (
                <span class="ok" role="status" data-testid="restore-accepted">
                  The server accepts this restore.
                </span>
              ) : (
                <small class="muted">Restore is possible once the server's dry run accepted what is shown.</small>
              )}
            </div>
          </form>
          {manifest && (
            <details open>
              <summary>The manifest that will be applied</summary>
              <pre data-testid="restore-manifest">{JSON.stringify(manifest, null, 2)}</pre>
            </details>
          )}
        </>
      )}
    </>
  );
}
