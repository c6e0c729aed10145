// The other kinds: instance profiles, Postgres and pooling configurations, object storages, scripts and
// Secrets (key names only). Listed per namespace; created, edited and deleted with the manifest editor and
// the server's dry run, as clusters are. A delete the server refuses (409: a cluster uses it) says who uses it.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, send, type FieldError, type Json } from '../api';
import { ConfirmDialog, ErrorBox, FieldErrors, GuardedButton } from '../components';
import { DryRunReport, manifestFrom, type Answer } from '../dry-run';
import { ago, utc } from '../format';
import { KINDS, SECRETS_PLURAL, kindOf, resourcePath, secretPath, type KindInfo } from '../kinds';
import { check } from '../permissions';
import { usePolling } from '../polling';
import { BASE, navigate } from '../router';
import { listedNamespaces, type Session } from '../session';

interface Item {
  metadata: { name: string; namespace: string; resourceVersion?: string; creationTimestamp?: string };
  keys?: string[]; // a Secret's key names
}

export function resourcesUrl(): string {
  return `${BASE}configurations`;
}

export function resourceEditUrl(plural: string, namespace: string, name?: string): string {
  const base = `${BASE}namespaces/${encodeURIComponent(namespace)}/${plural}`;
  return name === undefined ? `${base}/new` : `${base}/${encodeURIComponent(name)}/edit`;
}

// The namespaces a new resource may go to: those the caller is bound in, or for a binding to every
// namespace, those that hold something already (and "default").
function namespaceChoices(session: Session, seen: string[]): string[] {
  const bound = listedNamespaces(session.identity);
  return bound[0] === '_all' ? [...new Set(['default', ...seen])].sort() : bound;
}

async function loadAll(namespaces: string[]): Promise<Record<string, Item[]>> {
  const plurals = [...KINDS.map((info) => info.plural), SECRETS_PLURAL];
  const lists = await Promise.all(
    plurals.map(async (plural) => {
      const info = kindOf(plural);
      const items = await Promise.all(
        namespaces.map((ns) => call<{ items: Item[] }>('GET', info ? resourcePath(info, ns) : secretPath(ns)).then((list) => list.items)),
      );
      return [plural, items.flat().sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name))] as const;
    }),
  );
  return Object.fromEntries(lists);
}

export function ResourcesPage({ session }: { session: Session }) {
  const namespaces = listedNamespaces(session.identity);
  const listed = usePolling(() => loadAll(namespaces), 10000, namespaces.join(','));
  const seen = [...new Set(Object.values(listed.data ?? {}).flatMap((items) => items.map((item) => item.metadata.namespace)))];
  const target = namespaceChoices(session, seen)[0] ?? 'default';
  const sections = [...KINDS.map((info) => ({ plural: info.plural, label: info.label, kind: info.kind })), { plural: SECRETS_PLURAL, label: 'Secrets', kind: 'Secret' }];
  return (
    <>
      <h1>Configurations</h1>
      <p class="muted">What clusters refer to by name. A change to one that a cluster uses reaches the cluster at its next reconcile.</p>
      <ErrorBox error={listed.error} />
      {sections.map(({ plural, label, kind }) => {
        const items = listed.data?.[plural];
        return (
          <section key={plural} data-testid={`kind-${plural}`}>
            <div class="title-row section-head">
              <h2>{label}</h2>
              <GuardedButton check={check(session.permissions, 'create', plural, target)} testId={`new-${plural}`} onClick={() => navigate(resourceEditUrl(plural, target))}>
                New {kind}
              </GuardedButton>
            </div>
            {!items ? (
              <p class="muted">Loading…</p>
            ) : items.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <div class="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Namespace</th>
                      {plural === SECRETS_PLURAL ? <th>Keys</th> : <th>Created</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((item) => (
                      <tr key={`${item.metadata.namespace}/${item.metadata.name}`} data-testid={`${plural}-${item.metadata.name}`}>
                        <td>
                          <a href={resourceEditUrl(plural, item.metadata.namespace, item.metadata.name)}>{item.metadata.name}</a>
                        </td>
                        <td>{item.metadata.namespace}</td>
                        {plural === SECRETS_PLURAL ? (
                          <td>{(item.keys ?? []).join(', ')}</td>
                        ) : (
                          <td title={utc(item.metadata.creationTimestamp)}>{ago(item.metadata.creationTimestamp)}</td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        );
      })}
    </>
  );
}

// Delete with the name typed to confirm; the server's refusal (409: used by a cluster) stays on the page.
function DeleteControl(props: { session: Session; plural: string; namespace: string; name: string; path: string }) {
  const [asking, setAsking] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const remove = async () => {
    setAsking(false);
    setFailure(undefined);
    try {
      await call('DELETE', props.path);
      navigate(resourcesUrl());
    } catch (error) {
      setFailure(error);
    }
  };
  return (
    <>
      <GuardedButton check={check(props.session.permissions, 'delete', props.plural, props.namespace)} danger testId="delete" onClick={() => setAsking(true)}>
        Delete
      </GuardedButton>
      <ErrorBox error={failure} />
      {asking && (
        <ConfirmDialog
          title={`Delete ${props.name}?`}
          body={<p>The server refuses while a cluster uses it.</p>}
          confirmLabel="Delete"
          typed={props.name}
          danger
          onConfirm={() => void remove()}
          onCancel={() => setAsking(false)}
        />
      )}
    </>
  );
}

function NamespaceSelect(props: { value: string; choices: string[]; disabled: boolean; onChange: (ns: string) => void }) {
  return (
    <label class="field">
      <span>Namespace</span>
      <select value={props.value} disabled={props.disabled} data-testid="input-namespace" onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}>
        {[...new Set([props.value, ...props.choices])].map((ns) => (
          <option value={ns}>{ns}</option>
        ))}
      </select>
    </label>
  );
}

function Crumbs({ label }: { label: string }) {
  return (
    <p class="crumbs">
      <a href={resourcesUrl()}>Configurations</a> / {label}
    </p>
  );
}

export function ResourceEditorPage(props: { session: Session; plural: string; namespace: string; name?: string }) {
  const info = kindOf(props.plural);
  if (props.plural === SECRETS_PLURAL) return <SecretEditorPage {...props} />;
  if (!info)
    return (
      <>
        <h1>Not found</h1>
        <p>There is no kind {props.plural}.</p>
      </>
    );
  return <ManifestEditor {...props} info={info} />;
}

function ManifestEditor(props: { session: Session; info: KindInfo; namespace: string; name?: string }) {
  const { session, info } = props;
  const editing = props.name !== undefined;
  const [namespace, setNamespace] = useState(props.namespace);
  const [text, setText] = useState<string | undefined>(editing ? undefined : JSON.stringify(info.template(props.namespace), null, 2));
  const [answer, setAnswer] = useState<{ body: string; result: Answer } | undefined>();
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!props.name) return;
    call<Json>('GET', resourcePath(info, namespace, props.name)).then(
      (stored) => setText(JSON.stringify(manifestFrom(stored, true), null, 2)),
      (error: unknown) => setFailure(error),
    );
  }, [info, namespace, props.name]);

  const allowed = check(session.permissions, editing ? 'update' : 'create', info.plural, namespace);
  const body = () => {
    const written = text ?? '';
    return { text: written, type: written.trimStart().startsWith('{') ? 'application/json' : 'application/yaml' };
  };
  const target = (dryRun: boolean) => resourcePath(info, namespace, props.name) + (dryRun ? '?dryRun=All' : '');
  const report = (error: unknown) => {
    setAnswer(undefined);
    const fields = error instanceof ApiError ? error.errors : [];
    setErrors(fields);
    setFailure(fields.length > 0 ? undefined : error);
  };
  const write = async (dryRun: boolean) => {
    const sent = body();
    setBusy(true);
    try {
      const result = await send<Answer>(editing ? 'PUT' : 'POST', target(dryRun), sent);
      setErrors([]);
      setFailure(undefined);
      if (dryRun) setAnswer({ body: sent.text, result });
      else navigate(resourcesUrl());
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  };
  const current = answer !== undefined && answer.body === body().text;
  const title = editing ? `${info.kind} ${props.name}` : `New ${info.kind}`;

  return (
    <>
      <Crumbs label={info.label} />
      <h1>{title}</h1>
      {text === undefined ? (
        <>
          <ErrorBox error={failure} />
          {!failure && <p>Loading…</p>}
        </>
      ) : (
        <form
          class="editor-form"
          data-testid="resource-form"
          onSubmit={(event) => {
            event.preventDefault();
            void write(true);
          }}
        >
          <NamespaceSelect value={namespace} choices={namespaceChoices(session, [])} disabled={editing} onChange={(ns) => {
            setAnswer(undefined);
            setNamespace(ns);
          }} />
          <label class="field manifest">
            <span>The manifest, in YAML or JSON (its metadata.namespace, when given, must be the namespace above)</span>
            <textarea
              rows={20}
              spellcheck={false}
              value={text}
              data-testid="manifest-text"
              onInput={(event) => {
                setAnswer(undefined);
                setText((event.target as HTMLTextAreaElement).value);
              }}
            />
          </label>
          <FieldErrors errors={errors} />
          <ErrorBox error={failure} />
          <div class="actions">
            <GuardedButton check={allowed} disabled={busy} testId="dry-run" onClick={() => void write(true)}>
              {busy ? 'Checking…' : 'Check (dry run)'}
            </GuardedButton>
            <GuardedButton check={allowed} disabled={busy || !current} testId="apply" onClick={() => void write(false)}>
              {editing ? 'Apply' : 'Create'}
            </GuardedButton>
            {editing && props.name && (
              <DeleteControl session={session} plural={info.plural} namespace={namespace} name={props.name} path={resourcePath(info, namespace, props.name)} />
            )}
            {!current && <small class="muted">{editing ? 'Apply' : 'Create'} is possible once the server's dry run accepted what is shown.</small>}
          </div>
        </form>
      )}
      {answer && current && <DryRunReport answer={answer.result} noun={info.kind} />}
    </>
  );
}

interface KeyRow {
  key: string;
  value: string;
}

// A Secret: its key names are shown, never its values; a replace sends every key again (as Kubernetes'
// PUT does), so editing asks for each value anew.
function SecretEditorPage(props: { session: Session; namespace: string; name?: string }) {
  const { session } = props;
  const editing = props.name !== undefined;
  const [namespace, setNamespace] = useState(props.namespace);
  const [name, setName] = useState(props.name ?? '');
  const [rows, setRows] = useState<KeyRow[] | undefined>(editing ? undefined : [{ key: '', value: '' }]);
  const [version, setVersion] = useState<string | undefined>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!props.name) return;
    call<Item>('GET', secretPath(namespace, props.name)).then(
      (stored) => {
        setRows((stored.keys ?? []).map((key) => ({ key, value: '' })));
        setVersion(stored.metadata.resourceVersion);
      },
      (error: unknown) => setFailure(error),
    );
  }, [namespace, props.name]);

  const allowed = check(session.permissions, editing ? 'update' : 'create', SECRETS_PLURAL, namespace);
  const setRow = (index: number, change: Partial<KeyRow>) =>
    setRows((current) => (current ?? []).map((row, at) => (at === index ? { ...row, ...change } : row)));
  const save = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      const stringData = Object.fromEntries((rows ?? []).filter((row) => row.key !== '').map((row) => [row.key, row.value]));
      const metadata: Json = { name, namespace };
      if (version) metadata['resourceVersion'] = version;
      await call(editing ? 'PUT' : 'POST', secretPath(namespace, props.name), { apiVersion: 'v1', kind: 'Secret', metadata, stringData });
      navigate(resourcesUrl());
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Crumbs label="Secrets" />
      <h1>{editing ? `Secret ${props.name}` : 'New Secret'}</h1>
      {!rows ? (
        <>
          <ErrorBox error={failure} />
          {!failure && <p>Loading…</p>}
        </>
      ) : (
        <form
          class="editor-form"
          data-testid="secret-form"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <div class="fields">
            <label class="field">
              <span>Name</span>
              <input value={name} readOnly={editing} data-testid="input-name" onInput={(event) => setName((event.target as HTMLInputElement).value)} />
            </label>
            <NamespaceSelect value={namespace} choices={namespaceChoices(session, [])} disabled={editing} onChange={setNamespace} />
          </div>
          {editing && <p class="muted">Values are never shown. Saving replaces every key: enter each value again.</p>}
          <table data-testid="secret-keys">
            <thead>
              <tr>
                <th>Key</th>
                <th>Value</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((row, index) => (
                <tr key={index}>
                  <td>
                    <input value={row.key} aria-label={`key ${index + 1}`} data-testid={`secret-key-${index}`} onInput={(event) => setRow(index, { key: (event.target as HTMLInputElement).value })} />
                  </td>
                  <td>
                    <input
                      type="password"
                      autoComplete="off"
                      value={row.value}
                      aria-label={`value of key ${index + 1}`}
                      data-testid={`secret-value-${index}`}
                      onInput={(event) => setRow(index, { value: (event.target as HTMLInputElement).value })}
                    />
                  </td>
                  <td>
                    <button type="button" class="small" onClick={() => setRows(rows.filter((_, at) => at !== index))}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="small" data-testid="secret-add-key" onClick={() => setRows([...rows, { key: '', value: '' }])}>
            Add a key
          </button>
          <ErrorBox error={failure} />
          <div class="actions">
            <GuardedButton check={allowed} disabled={busy} testId="apply" onClick={() => void save()}>
              {editing ? 'Replace' : 'Create'}
            </GuardedButton>
            {editing && props.name && (
              <DeleteControl session={session} plural={SECRETS_PLURAL} namespace={namespace} name={props.name} path={secretPath(namespace, props.name)} />
            )}
          </div>
        </form>
      )}
    </>
  );
}
