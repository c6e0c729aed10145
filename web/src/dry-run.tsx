// The server's dry run (?dryRun=All, docs/api.md) as the editors show it: what a replace changes, whether
// Postgres needs a restart, and the object as it would be stored.
import type { Json } from './api';

export interface Change {
  path: string;
  op: 'add' | 'remove' | 'replace';
  from?: unknown;
  to?: unknown;
}

export interface DryRun {
  operation: 'create' | 'update';
  changes: Change[];
  restartRequired: boolean;
  restartReasons: string[];
}

export type Answer = Json & { dryRun: DryRun };

export function object(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

// What the server answered, as a manifest to edit again: without the dry run's report, the status and
// what the server sets itself (a replace keeps resourceVersion: it is sent back as the precondition).
export function manifestFrom(answer: Json, keepVersion: boolean): Json {
  const manifest = structuredClone(answer);
  delete manifest['dryRun'];
  delete manifest['status'];
  const metadata = object(manifest['metadata']);
  delete metadata['uid'];
  delete metadata['creationTimestamp'];
  if (!keepVersion) delete metadata['resourceVersion'];
  return manifest;
}

function show(value: unknown): string {
  return value === undefined ? '–' : JSON.stringify(value);
}

export function DryRunReport({ answer, noun }: { answer: Answer; noun: string }) {
  const { dryRun } = answer;
  return (
    <section class="dry-run" data-testid="dry-run-result">
      <h2>The server accepts this {dryRun.operation === 'create' ? `new ${noun}` : 'change'}</h2>
      {dryRun.operation === 'update' && (
        <>
          {dryRun.changes.length === 0 ? (
            <p data-testid="no-changes">Nothing changes.</p>
          ) : (
            <table data-testid="diff">
              <thead>
                <tr>
                  <th>Field</th>
                  <th>Now</th>
                  <th>After</th>
                </tr>
              </thead>
              <tbody>
                {dryRun.changes.map((change) => (
                  <tr data-testid={`diff-${change.path}`} class={`diff-${change.op}`}>
                    <td>
                      <code>{change.path}</code>
                    </td>
                    <td>
                      <code>{show(change.from)}</code>
                    </td>
                    <td>
                      <code>{show(change.to)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {dryRun.restartRequired ? (
            <div class="restart warn" data-testid="restart-required">
              <strong>Postgres needs a restart</strong> for this change to take effect (a rolling restart from the cluster page):
              <ul>
                {dryRun.restartReasons.map((reason) => (
                  <li>{reason}</li>
                ))}
              </ul>
            </div>
          ) : (
            <p class="ok" data-testid="restart-not-required">
              No restart of Postgres is needed.
            </p>
          )}
        </>
      )}
      <details>
        <summary>The object as it would be stored (defaults applied)</summary>
        <pre data-testid="stored-preview">{JSON.stringify(manifestFrom(answer, true), null, 2)}</pre>
      </details>
    </section>
  );
}
