// New cluster and Edit cluster: a form for the common SGCluster fields and a YAML/JSON editor for the
// whole manifest. Both are checked by the server's dry run (?dryRun=All, docs/api.md) before anything
// changes: its errors appear at the field they name; for an edit, what changes and whether Postgres
// needs a restart are shown before Apply. Create/Apply send exactly what the dry run accepted.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, clusterPath, send, type FieldError, type Json } from '../api';
import { ErrorBox, FieldErrors, GuardedButton } from '../components';
import { manifestFrom, object, DryRunReport, type Answer } from '../dry-run';
import { check } from '../permissions';
import { clusterUrl, navigate } from '../router';
import { listedNamespaces, type Session } from '../session';

// The form's fields and the field paths the server's errors name.
const FIELDS = {
  name: 'metadata.name',
  namespace: 'metadata.namespace',
  instances: 'spec.instances',
  version: 'spec.postgres.version',
  volume: 'spec.pods.persistentVolume.size',
  profile: 'spec.sgInstanceProfile',
  postgresConfig: 'spec.configurations.sgPostgresConfig',
} as const;
type FieldName = keyof typeof FIELDS;

function newManifest(namespace: string): Json {
  return {
    apiVersion: 'stackgres.io/v1',
    kind: 'SGCluster',
    metadata: { name: '', namespace },
    spec: { instances: 1, postgres: { version: 'latest' }, pods: { persistentVolume: { size: '1Gi' } } },
  };
}

function get(document: Json, path: string): unknown {
  let at: unknown = document;
  for (const key of path.split('.')) at = object(at)[key];
  return at;
}

// A copy of `document` with `path` set (an empty string removes an optional reference).
function set(document: Json, path: string, value: unknown): Json {
  const copy = structuredClone(document);
  const keys = path.split('.');
  let at = copy;
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key] as Json;
  }
  const last = keys[keys.length - 1] ?? '';
  if (value === '' && (path === FIELDS.profile || path === FIELDS.postgresConfig)) delete at[last];
  else at[last] = value;
  return copy;
}

export function ClusterEditorPage(props: { session: Session; namespace?: string; name?: string }) {
  const { session } = props;
  const editing = props.name !== undefined;
  const namespaces = listedNamespaces(session.identity).filter((ns) => ns !== '_all');
  const [namespace, setNamespace] = useState(props.namespace ?? namespaces[0] ?? 'default');
  const [manifest, setManifest] = useState<Json | undefined>(editing ? undefined : newManifest(namespace));
  const [tab, setTab] = useState<'form' | 'editor'>('form');
  const [text, setText] = useState('');
  const [answer, setAnswer] = useState<{ body: string; result: Answer } | undefined>();
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [profiles, setProfiles] = useState<string[]>([]);
  const [postgresConfigs, setPostgresConfigs] = useState<string[]>([]);
  const [majors, setMajors] = useState<number[]>([]);

  useEffect(() => {
    if (!editing || !props.name) return;
    call<Json>('GET', clusterPath(namespace, props.name)).then(
      (stored) => setManifest(manifestFrom(stored, true)),
      (error: unknown) => setFailure(error),
    );
  }, [editing, namespace, props.name]);

  // The references the form offers: what exists in the namespace; the majors the hosts have.
  useEffect(() => {
    const names = (plural: string) =>
      call<{ items: Json[] }>('GET', `/apis/stackgres.io/v1/namespaces/${encodeURIComponent(namespace)}/${plural}`).then(
        (list) => list.items.map((item) => String(object(item['metadata'])['name'])),
        () => [],
      );
    names('sginstanceprofiles').then(setProfiles);
    names('sgpgconfigs').then(setPostgresConfigs);
    call<{ hosts: { postgresMajors?: number[] }[] }>('GET', '/apis/pgstack.io/v1/extensions').then(
      (list) => setMajors([...new Set(list.hosts.flatMap((host) => host.postgresMajors ?? []))].sort()),
      () => setMajors([]),
    );
  }, [namespace]);

  const verb = editing ? 'update' : 'create';
  const allowed = check(session.permissions, verb, 'sgclusters', namespace);

  // The body as it is sent: the form's manifest as JSON, or the editor's text as written.
  const body = (): { text: string; type: string } =>
    tab === 'editor'
      ? { text, type: text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml' }
      : { text: JSON.stringify(manifest), type: 'application/json' };
  const target = (dryRun: boolean) =>
    (editing && props.name ? clusterPath(namespace, props.name) : clusterPath(namespace)) + (dryRun ? '?dryRun=All' : '');

  const report = (error: unknown) => {
    setAnswer(undefined);
    if (error instanceof ApiError && error.errors.length > 0) {
      setErrors(error.errors);
      setFailure(undefined);
    } else {
      setErrors([]);
      setFailure(error);
    }
  };

  const dryRun = async (): Promise<Answer | undefined> => {
    const sent = body();
    setBusy(true);
    try {
      const result = await send<Answer>(editing ? 'PUT' : 'POST', target(true), sent);
      setAnswer({ body: sent.text, result });
      setErrors([]);
      setFailure(undefined);
      return result;
    } catch (error) {
      report(error);
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    if (!answer) return;
    setBusy(true);
    try {
      const sent = body();
      await send(editing ? 'PUT' : 'POST', target(false), sent);
      const name = String(object(answer.result['metadata'])['name']);
      navigate(clusterUrl(namespace, name));
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  };

  const switchTab = async (next: 'form' | 'editor') => {
    if (next === tab || !manifest) return;
    if (next === 'editor') {
      setText(JSON.stringify(manifest, null, 2));
      setTab('editor');
      return;
    }
    // Back to the form: JSON is read here; YAML is read by the server (its dry run answers the object).
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        setManifest(parsed as Json);
        setTab('form');
        return;
      }
    } catch {
      // not JSON: YAML, below
    }
    const result = await dryRun();
    if (result) {
      setManifest(manifestFrom(result, editing));
      setTab('form');
    }
  };

  const edit = (change: () => void) => {
    setAnswer(undefined);
    change();
  };
  const fieldErrors = (field: FieldName) =>
    errors.filter((error) => error.path === FIELDS[field] || error.path.startsWith(`${FIELDS[field]}.`));
  const formPaths = Object.values(FIELDS) as string[];
  const otherErrors =
    tab === 'form'
      ? errors.filter((error) => !formPaths.some((path) => error.path === path || error.path.startsWith(`${path}.`)))
      : errors;
  const current = answer !== undefined && answer.body === body().text;

  const field = (name: FieldName, label: string, input: ComponentChildren, hint?: string) => {
    const found = fieldErrors(name);
    return (
      <label class={found.length ? 'field invalid' : 'field'} data-testid={`field-${name}`}>
        <span>{label}</span>
        {input}
        {hint && <small class="muted">{hint}</small>}
        {found.map((error) => (
          <small class="field-error" role="alert" data-testid={`error-${name}`}>
            {error.message}
          </small>
        ))}
      </label>
    );
  };
  const textInput = (name: FieldName, value: string, onChange: (value: string) => void, extra: Json = {}) => (
    <input
      value={value}
      aria-invalid={fieldErrors(name).length > 0}
      data-testid={`input-${name}`}
      onInput={(event) => onChange((event.target as HTMLInputElement).value)}
      {...extra}
    />
  );

  const title = editing ? `Edit ${props.name}` : 'New cluster';
  if (!manifest)
    return (
      <>
        <h1>{title}</h1>
        <ErrorBox error={failure} />
        {!failure && <p>Loading…</p>}
      </>
    );
  const setPath = (path: string, value: unknown) => edit(() => setManifest(set(manifest, path, value)));

  return (
    <>
      <p class="crumbs">
        <a href="/ui/">Clusters</a>
        {editing && props.name && (
          <>
            {' / '}
            <a href={clusterUrl(namespace, props.name)}>{props.name}</a>
          </>
        )}
      </p>
      <h1>{title}</h1>
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'form'} data-testid="tab-form" disabled={busy} onClick={() => switchTab('form')}>
          Form
        </button>
        <button type="button" role="tab" aria-selected={tab === 'editor'} data-testid="tab-editor" disabled={busy} onClick={() => switchTab('editor')}>
          YAML / JSON
        </button>
      </div>
      <form
        class="editor-form"
        data-testid="cluster-form"
        onSubmit={(event) => {
          event.preventDefault();
          void dryRun();
        }}
      >
        {tab === 'form' && (
          <div class="fields">
            {field(
              'name',
              'Name',
              textInput('name', String(get(manifest, FIELDS.name) ?? ''), (value) => setPath(FIELDS.name, value), {
                readOnly: editing,
                placeholder: 'orders',
              }),
            )}
            {field(
              'namespace',
              'Namespace',
              <select
                value={namespace}
                disabled={editing}
                data-testid="input-namespace"
                onChange={(event) => {
                  const next = (event.target as HTMLSelectElement).value;
                  edit(() => {
                    setNamespace(next);
                    setManifest(set(manifest, FIELDS.namespace, next));
                  });
                }}
              >
                {[...new Set([namespace, ...namespaces])].map((ns) => (
                  <option value={ns}>{ns}</option>
                ))}
              </select>,
            )}
            {field(
              'instances',
              'Instances',
              textInput(
                'instances',
                String(get(manifest, FIELDS.instances) ?? ''),
                (value) => setPath(FIELDS.instances, /^\d+$/.test(value) ? Number(value) : value),
                { inputMode: 'numeric' },
              ),
              'members: one primary, the others replicas',
            )}
            {field(
              'version',
              'Postgres version',
              textInput('version', String(get(manifest, FIELDS.version) ?? ''), (value) => setPath(FIELDS.version, value), {
                list: 'postgres-majors',
              }),
              majors.length ? `installed on the hosts: ${majors.join(', ')} (or latest, or a minor such as 15.4)` : undefined,
            )}
            <datalist id="postgres-majors">
              {['latest', ...majors.map(String)].map((major) => (
                <option value={major} />
              ))}
            </datalist>
            {field(
              'volume',
              'Volume size',
              textInput('volume', String(get(manifest, FIELDS.volume) ?? ''), (value) => setPath(FIELDS.volume, value), {
                placeholder: '10Gi',
              }),
              'a quantity: 512Mi, 10Gi',
            )}
            {field(
              'profile',
              'Instance profile',
              <select
                value={String(get(manifest, FIELDS.profile) ?? '')}
                data-testid="input-profile"
                onChange={(event) => setPath(FIELDS.profile, (event.target as HTMLSelectElement).value)}
              >
                <option value="">default (1 CPU, 2Gi)</option>
                {[...new Set([...profiles, String(get(manifest, FIELDS.profile) ?? '')])].filter(Boolean).map((name) => (
                  <option value={name}>{name}</option>
                ))}
              </select>,
            )}
            {field(
              'postgresConfig',
              'Postgres configuration',
              <select
                value={String(get(manifest, FIELDS.postgresConfig) ?? '')}
                data-testid="input-postgresConfig"
                onChange={(event) => setPath(FIELDS.postgresConfig, (event.target as HTMLSelectElement).value)}
              >
                <option value="">none (tuned defaults)</option>
                {[...new Set([...postgresConfigs, String(get(manifest, FIELDS.postgresConfig) ?? '')])]
                  .filter(Boolean)
                  .map((name) => (
                    <option value={name}>{name}</option>
                  ))}
              </select>,
            )}
          </div>
        )}
        {tab === 'editor' && (
          <label class="field manifest">
            <span>The whole manifest, in YAML or JSON (docs/api.md)</span>
            <textarea
              rows={22}
              spellcheck={false}
              value={text}
              data-testid="manifest-text"
              onInput={(event) => edit(() => setText((event.target as HTMLTextAreaElement).value))}
            />
          </label>
        )}
        <FieldErrors errors={otherErrors} />
        <ErrorBox error={failure} />
        <div class="actions">
          <GuardedButton check={allowed} disabled={busy} testId="dry-run" onClick={() => void dryRun()}>
            {busy ? 'Checking…' : 'Check (dry run)'}
          </GuardedButton>
          <GuardedButton check={allowed} disabled={busy || !current} testId="apply" onClick={() => void apply()}>
            {editing ? 'Apply' : 'Create'}
          </GuardedButton>
          {!current && <small class="muted">{editing ? 'Apply' : 'Create'} is possible once the server's dry run accepted what is shown.</small>}
        </div>
      </form>
      {answer && current && <DryRunReport answer={answer.result} noun="cluster" />}
    </>
  );
}
