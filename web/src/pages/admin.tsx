// Users, tokens and the audit trail (docs/security.md, docs/api.md "Authentication"). Everyone manages
// their own tokens and password; users, other users' tokens and the audit trail need the admin role in
// every namespace. A token's secret is shown once, when it is made, and never again.
import { useState } from 'preact/hooks';
import { call } from '../api';
import { ConfirmDialog, CopyButton, ErrorBox, GuardedButton } from '../components';
import { ago, utc } from '../format';
import type { Check } from '../permissions';
import { usePolling } from '../polling';
import { BASE, type AdminTab } from '../router';
import type { Session } from '../session';
import type { RoleBinding } from '../types';

interface User {
  name: string;
  roles: RoleBinding[];
  hasPassword: boolean;
  created?: string;
}

interface Token {
  id: string;
  user: string;
  description?: string;
  created?: string;
  expires?: string;
  lastUsed?: string;
}

interface AuditEntry {
  time: string;
  user?: string;
  authenticatedBy?: string;
  tokenId?: string;
  sourceAddress?: string;
  method?: string;
  path?: string;
  verb?: string;
  resource?: string;
  namespace?: string;
  status?: number;
}

const ROLES = ['viewer', 'operator', 'admin'];

// What the caller may do outside namespaces, in the words of the API's 403.
export function unnamespaced(session: Session, verb: string, resource: string): Check {
  return { allowed: (session.permissions.unnamespaced[resource] ?? []).includes(verb), permission: `${verb} ${resource}` };
}

// "operator in default, viewer in *" -> bindings; the error names the entry that is not one.
export function parseBindings(text: string): RoleBinding[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^([a-z]+)(?:\s+in\s+|\s*@\s*)(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(entry);
      if (!match || !ROLES.includes(match[1] ?? ''))
        throw new Error(`"${entry}": expected "<role> in <namespace>" with a role of ${ROLES.join(', ')} and a namespace or *`);
      return { role: match[1] ?? '', namespace: match[2] ?? '' };
    });
}

export function describeBindings(roles: RoleBinding[]): string {
  return roles.map((binding) => `${binding.role} in ${binding.namespace}`).join(', ');
}

export function AdminPage({ session, tab }: { session: Session; tab: AdminTab }) {
  const tabs: { id: AdminTab; label: string }[] = [
    { id: 'users', label: 'Users' },
    { id: 'tokens', label: 'Tokens' },
    { id: 'audit', label: 'Audit trail' },
  ];
  return (
    <>
      <h1>Access</h1>
      <nav class="subpages" aria-label="Access">
        {tabs.map((entry) => (
          <a href={`${BASE}admin/${entry.id}`} aria-current={entry.id === tab ? 'page' : undefined} data-testid={`admin-${entry.id}`}>
            {entry.label}
          </a>
        ))}
      </nav>
      {tab === 'users' && <UsersTab session={session} />}
      {tab === 'tokens' && <TokensTab session={session} />}
      {tab === 'audit' && <AuditTab session={session} />}
    </>
  );
}

function UsersTab({ session }: { session: Session }) {
  const mayList = unnamespaced(session, 'list', 'users');
  const users = usePolling(() => (mayList.allowed ? call<{ items: User[] }>('GET', '/apis/pgstack.io/v1/users').then((list) => list.items) : Promise.resolve([])), 10000, 'users');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState('viewer in default');
  const [failure, setFailure] = useState<unknown>();
  const [done, setDone] = useState('');
  const [editing, setEditing] = useState<{ user: string; roles: string } | undefined>();
  const [deleting, setDeleting] = useState<string | undefined>();
  const [ownPassword, setOwnPassword] = useState('');
  const mayCreate = unnamespaced(session, 'create', 'users');
  const mayUpdate = unnamespaced(session, 'update', 'users');
  const mayDelete = unnamespaced(session, 'delete', 'users');

  const attempt = async (action: () => Promise<unknown>, message: string) => {
    setFailure(undefined);
    setDone('');
    try {
      await action();
      setDone(message);
      users.reload();
    } catch (error) {
      setFailure(error);
    }
  };

  const createUser = () =>
    void attempt(async () => {
      const body: Record<string, unknown> = { name, roles: parseBindings(roles) };
      if (password) body['password'] = password;
      await call('POST', '/apis/pgstack.io/v1/users', body);
      setName('');
      setPassword('');
    }, `User ${name} created.`);

  return (
    <>
      <section aria-label="Your password">
        <h2>Your password</h2>
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void attempt(async () => {
              await call('PUT', `/apis/pgstack.io/v1/users/${encodeURIComponent(session.identity.user)}/password`, { password: ownPassword });
              setOwnPassword('');
            }, 'Your password is changed; your sessions have ended, log in again.');
          }}
        >
          <label>
            New password <small class="muted">(12 characters or more)</small>
            <input type="password" autoComplete="new-password" value={ownPassword} data-testid="own-password" onInput={(event) => setOwnPassword((event.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={ownPassword.length === 0} data-testid="own-password-submit">
            Change
          </button>
        </form>
      </section>
      {done && (
        <p class="ok" role="status" data-testid="users-outcome">
          {done}
        </p>
      )}
      <ErrorBox error={failure} />
      <h2>Users</h2>
      {!mayList.allowed ? (
        <p class="muted" data-testid="users-not-allowed">
          Listing users needs {mayList.permission} (the admin role in every namespace).
        </p>
      ) : (
        <>
          <ErrorBox error={users.error} />
          <div class="table-scroll">
            <table data-testid="users">
              <thead>
                <tr>
                  <th>User</th>
                  <th>Roles</th>
                  <th>Password</th>
                  <th>Created</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {(users.data ?? []).map((user) => (
                  <tr key={user.name} data-testid={`user-${user.name}`}>
                    <td>{user.name}</td>
                    <td>{describeBindings(user.roles)}</td>
                    <td>{user.hasPassword ? 'set' : 'none (tokens only)'}</td>
                    <td title={utc(user.created)}>{ago(user.created)}</td>
                    <td>
                      <div class="row-actions">
                      <GuardedButton check={mayUpdate} testId={`edit-roles-${user.name}`} onClick={() => setEditing({ user: user.name, roles: describeBindings(user.roles) })}>
                        Roles
                      </GuardedButton>
                      <GuardedButton check={mayDelete} danger testId={`delete-user-${user.name}`} onClick={() => setDeleting(user.name)}>
                        Delete
                      </GuardedButton>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>New user</h2>
          <form
            class="editor-form"
            data-testid="new-user"
            onSubmit={(event) => {
              event.preventDefault();
              createUser();
            }}
          >
            <div class="fields">
              <label class="field">
                <span>Name</span>
                <input value={name} data-testid="new-user-name" onInput={(event) => setName((event.target as HTMLInputElement).value)} />
              </label>
              <label class="field">
                <span>Password</span>
                <input type="password" autoComplete="new-password" value={password} data-testid="new-user-password" onInput={(event) => setPassword((event.target as HTMLInputElement).value)} />
                <small class="muted">12 characters or more; empty: the user logs in with tokens only</small>
              </label>
              <label class="field">
                <span>Roles</span>
                <input value={roles} data-testid="new-user-roles" onInput={(event) => setRoles((event.target as HTMLInputElement).value)} />
                <small class="muted">comma-separated "role in namespace": viewer, operator or admin; * is every namespace</small>
              </label>
            </div>
            <div class="actions">
              <GuardedButton check={mayCreate} disabled={name === ''} testId="new-user-submit" onClick={createUser}>
                Create user
              </GuardedButton>
            </div>
          </form>
        </>
      )}
      {editing && (
        <ConfirmDialog
          title={`Roles of ${editing.user}`}
          body={
            <label class="field">
              <span>Roles (the user's sessions end; their tokens carry the new roles at once)</span>
              <input value={editing.roles} data-testid="roles-input" onInput={(event) => setEditing({ ...editing, roles: (event.target as HTMLInputElement).value })} />
            </label>
          }
          confirmLabel="Save roles"
          onConfirm={() => {
            const target = editing;
            setEditing(undefined);
            void attempt(
              () => call('PUT', `/apis/pgstack.io/v1/users/${encodeURIComponent(target.user)}/roles`, { roles: parseBindings(target.roles) }),
              `Roles of ${target.user} saved.`,
            );
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete user ${deleting}?`}
          body={<p>Their tokens are revoked and their sessions end.</p>}
          confirmLabel="Delete"
          typed={deleting}
          danger
          onConfirm={() => {
            const target = deleting;
            setDeleting(undefined);
            void attempt(() => call('DELETE', `/apis/pgstack.io/v1/users/${encodeURIComponent(target)}`), `User ${target} deleted.`);
          }}
          onCancel={() => setDeleting(undefined)}
        />
      )}
    </>
  );
}

function TokensTab({ session }: { session: Session }) {
  const mayListAll = unnamespaced(session, 'list', 'tokens');
  const [everyone, setEveryone] = useState(false);
  const tokens = usePolling(
    () => call<{ items: Token[] }>('GET', `/apis/pgstack.io/v1/tokens${everyone ? '?all=true' : ''}`).then((list) => list.items),
    10000,
    `tokens-${everyone}`,
  );
  const [description, setDescription] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<string | undefined>();
  const [failure, setFailure] = useState<unknown>();
  const [revoking, setRevoking] = useState<string | undefined>();
  const own: Check = { allowed: true, permission: '' };

  const create = async () => {
    setFailure(undefined);
    setCreated(undefined);
    try {
      const body: Record<string, string> = { description };
      if (expires) body['expires'] = new Date(expires).toISOString().replace(/\.\d+Z$/, 'Z');
      const answer = await call<{ token: string }>('POST', '/apis/pgstack.io/v1/tokens', body);
      setCreated(answer.token);
      setDescription('');
      tokens.reload();
    } catch (error) {
      setFailure(error);
    }
  };
  const revoke = async (id: string) => {
    setRevoking(undefined);
    setFailure(undefined);
    try {
      await call('DELETE', `/apis/pgstack.io/v1/tokens/${id}`);
      tokens.reload();
    } catch (error) {
      setFailure(error);
    }
  };

  return (
    <>
      <h2>New token</h2>
      <form
        class="inline-form"
        data-testid="new-token"
        onSubmit={(event) => {
          event.preventDefault();
          void create();
        }}
      >
        <label>
          Description
          <input value={description} data-testid="token-description" onInput={(event) => setDescription((event.target as HTMLInputElement).value)} />
        </label>
        <label>
          Expires <small class="muted">(empty: never)</small>
          <input type="datetime-local" value={expires} data-testid="token-expires" onInput={(event) => setExpires((event.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" data-testid="token-create">
          Create token for {session.identity.user}
        </button>
      </form>
      {created && (
        <div class="ok" role="status" data-testid="token-created">
          <p>Copy the token now: it is not shown again. Use it as <code>Authorization: Bearer …</code> or with <code>pgstack --token</code>.</p>
          <code data-testid="token-text">{created}</code> <CopyButton text={created} testId="token-copy" />
        </div>
      )}
      <ErrorBox error={failure} />
      <div class="title-row">
        <h2>{everyone ? 'Every token' : 'Your tokens'}</h2>
        {mayListAll.allowed && (
          <label class="inline">
            <input type="checkbox" checked={everyone} data-testid="tokens-all" onChange={(event) => setEveryone((event.target as HTMLInputElement).checked)} />
            every user's
          </label>
        )}
      </div>
      <ErrorBox error={tokens.error} />
      <div class="table-scroll">
        <table data-testid="tokens">
          <thead>
            <tr>
              <th>Id</th>
              <th>User</th>
              <th>Description</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(tokens.data ?? []).map((token) => (
              <tr key={token.id} data-testid={`token-${token.id}`}>
                <td>
                  <code>{token.id}</code>
                </td>
                <td>{token.user}</td>
                <td>{token.description ?? ''}</td>
                <td title={utc(token.created)}>{ago(token.created)}</td>
                <td>{token.expires ? utc(token.expires) : 'never'}</td>
                <td title={utc(token.lastUsed)}>{token.lastUsed ? ago(token.lastUsed) : 'never'}</td>
                <td>
                  <GuardedButton check={token.user === session.identity.user ? own : unnamespaced(session, 'delete', 'tokens')} danger testId={`revoke-${token.id}`} onClick={() => setRevoking(token.id)}>
                    Revoke
                  </GuardedButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {tokens.data?.length === 0 && <p class="muted">No tokens.</p>}
      {revoking && (
        <ConfirmDialog
          title={`Revoke token ${revoking}?`}
          body={<p>Requests with it are refused from now on.</p>}
          confirmLabel="Revoke"
          danger
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(undefined)}
        />
      )}
    </>
  );
}

function AuditTab({ session }: { session: Session }) {
  const mayList = unnamespaced(session, 'list', 'audit');
  const [filter, setFilter] = useState('');
  const [refusedOnly, setRefusedOnly] = useState(false);
  const entries = usePolling(
    () => (mayList.allowed ? call<{ items: AuditEntry[] }>('GET', '/apis/pgstack.io/v1/audit').then((list) => list.items.reverse()) : Promise.resolve([])),
    5000,
    'audit',
  );
  if (!mayList.allowed)
    return (
      <p class="muted" data-testid="audit-not-allowed">
        The audit trail needs {mayList.permission} (the admin role in every namespace).
      </p>
    );
  const needle = filter.toLowerCase();
  const shown = (entries.data ?? []).filter(
    (entry) =>
      (!refusedOnly || (entry.status ?? 0) >= 400) &&
      (!needle || [entry.user, entry.method, entry.path, entry.verb, entry.resource, entry.namespace, entry.sourceAddress].some((field) => (field ?? '').toLowerCase().includes(needle))),
  );
  return (
    <>
      <p class="muted">Every mutation (allowed or not), every login and every read of credentials or Secret values; the newest 2000 are kept. Newest first.</p>
      <div class="inline-form">
        <label>
          Filter
          <input value={filter} placeholder="user, path, resource…" data-testid="audit-filter" onInput={(event) => setFilter((event.target as HTMLInputElement).value)} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={refusedOnly} data-testid="audit-refused" onChange={(event) => setRefusedOnly((event.target as HTMLInputElement).checked)} />
          refused or failed only
        </label>
        <span class="muted">
          {shown.length} of {entries.data?.length ?? 0}
        </span>
      </div>
      <ErrorBox error={entries.error} />
      <div class="table-scroll">
        <table data-testid="audit">
          <thead>
            <tr>
              <th>Time</th>
              <th>User</th>
              <th>By</th>
              <th>From</th>
              <th>Request</th>
              <th>Permission</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, 500).map((entry, index) => (
              <tr key={`${entry.time}-${index}`} class={(entry.status ?? 0) >= 400 ? 'refused' : ''}>
                <td>{utc(entry.time)}</td>
                <td>{entry.user ?? ''}</td>
                <td>
                  {entry.authenticatedBy ?? ''}
                  {entry.tokenId ? ` ${entry.tokenId}` : ''}
                </td>
                <td>{entry.sourceAddress ?? ''}</td>
                <td>
                  <code>
                    {entry.method} {entry.path}
                  </code>
                </td>
                <td>{entry.verb ? `${entry.verb} ${entry.resource ?? ''}${entry.namespace ? ` in ${entry.namespace}` : ''}` : ''}</td>
                <td class={(entry.status ?? 0) >= 400 ? 'cond-bad' : ''}>{entry.status ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
