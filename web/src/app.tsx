// The shell: session, header, routing between the pages.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, whenUnauthenticated } from './api';
import { ErrorBox } from './components';
import { setTimeZone, timeZone, type TimeZoneChoice } from './format';
import { BackupsPage } from './pages/backups';
import { ClusterPage } from './pages/cluster';
import { ClusterEditorPage } from './pages/cluster-editor';
import { LoginPage } from './pages/login';
import { AdminPage } from './pages/admin';
import { LogsPage } from './pages/logs';
import { OperationsPage } from './pages/operations';
import { ResourceEditorPage, ResourcesPage } from './pages/resources';
import { RestorePage } from './pages/restore';
import { OverviewPage } from './pages/overview';
import { BASE, navigate, onLinkClick, parse, useLocation } from './router';
import { forgetLogin, loadSession, logOut, type Session } from './session';

// The metrics page and uPlot come in their own chunk, fetched when the page is first opened: the first load
// stays small (docs/benchmarks.md, "Web console: first load").
type MetricsModule = typeof import('./pages/metrics');
function LazyMetricsPage({ namespace, name }: { namespace: string; name: string }) {
  const [module, setModule] = useState<MetricsModule | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    import('./pages/metrics').then(setModule, setError);
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!module) return <p class="muted">Loading…</p>;
  return <module.MetricsPage namespace={namespace} name={name} />;
}

// Users and the audit trail are for admins of every namespace; everyone else manages their own tokens.
function isAdmin(session: Session): boolean {
  return (session.permissions.unnamespaced['users'] ?? []).includes('list');
}

type State = { phase: 'loading' } | { phase: 'anonymous' } | { phase: 'in'; session: Session } | { phase: 'failed'; error: unknown };

export function App() {
  const path = useLocation();
  const route = parse(path);
  const [state, setState] = useState<State>({ phase: 'loading' });
  const [zone, setZone] = useState<TimeZoneChoice>(timeZone());

  const refresh = useCallback(() => {
    loadSession().then(
      (session) => setState({ phase: 'in', session }),
      (error: unknown) =>
        setState(error instanceof ApiError && error.status === 401 ? { phase: 'anonymous' } : { phase: 'failed', error }),
    );
  }, []);

  useEffect(() => {
    whenUnauthenticated(() => {
      forgetLogin();
      setState({ phase: 'anonymous' });
    });
    refresh();
  }, [refresh]);

  useEffect(() => {
    document.addEventListener('click', onLinkClick);
    return () => document.removeEventListener('click', onLinkClick);
  }, []);

  // The login page is where an anonymous visitor is; after logging in they go back where they were.
  useEffect(() => {
    if (state.phase === 'anonymous' && route.page !== 'login') {
      sessionStorage.setItem('pgstack.afterLogin', path);
      navigate(`${BASE}login`, true);
    }
    if (state.phase === 'in' && route.page === 'login') {
      const back = sessionStorage.getItem('pgstack.afterLogin');
      sessionStorage.removeItem('pgstack.afterLogin');
      navigate(back && back.startsWith(BASE) && back !== `${BASE}login` ? back : BASE, true);
    }
  }, [state.phase, route.page, path]);

  if (state.phase === 'loading') return <main class="page">Loading…</main>;
  if (state.phase === 'failed')
    return (
      <main class="page">
        <h1>pgstack</h1>
        <ErrorBox error={state.error} />
        <button type="button" onClick={refresh}>
          Retry
        </button>
      </main>
    );
  if (state.phase === 'anonymous' || route.page === 'login')
    return <LoginPage onLoggedIn={(session) => setState({ phase: 'in', session })} />;

  const { session } = state;
  return (
    <>
      <header class="topbar">
        <a class="brand" href={BASE}>
          pgstack
        </a>
        <nav>
          <a href={BASE} aria-current={route.page === 'overview' ? 'page' : undefined}>
            Clusters
          </a>
          <a href={`${BASE}configurations`} data-testid="nav-configurations" aria-current={route.page === 'resources' || route.page === 'editResource' ? 'page' : undefined}>
            Configurations
          </a>
          <a href={`${BASE}admin/${isAdmin(session) ? 'users' : 'tokens'}`} data-testid="nav-access" aria-current={route.page === 'admin' ? 'page' : undefined}>
            {isAdmin(session) ? 'Access' : 'Tokens'}
          </a>
        </nav>
        <span class="who" data-testid="who">
          {session.identity.user}
          <small>
            {session.identity.roles.map((binding) => `${binding.role} in ${binding.namespace === '*' ? 'all namespaces' : binding.namespace}`).join(', ')}
          </small>
        </span>
        <button
          type="button"
          class="small"
          data-testid="time-zone"
          title="Show times in UTC or in this browser's time zone"
          onClick={() => {
            const next = zone === 'utc' ? 'local' : 'utc';
            setTimeZone(next);
            setZone(next);
          }}
        >
          {zone === 'utc' ? 'UTC' : 'Local time'}
        </button>
        <button
          type="button"
          data-testid="logout"
          onClick={async () => {
            try {
              await logOut();
            } finally {
              setState({ phase: 'anonymous' });
            }
          }}
        >
          Log out
        </button>
      </header>
      <main class="page" key={zone}>
        {route.page === 'overview' && <OverviewPage session={session} />}
        {route.page === 'cluster' && <ClusterPage session={session} namespace={route.namespace} name={route.name} />}
        {route.page === 'logs' && <LogsPage namespace={route.namespace} name={route.name} />}
        {route.page === 'metrics' && <LazyMetricsPage namespace={route.namespace} name={route.name} />}
        {route.page === 'backups' && <BackupsPage session={session} namespace={route.namespace} name={route.name} />}
        {route.page === 'operations' && <OperationsPage session={session} namespace={route.namespace} name={route.name} />}
        {route.page === 'restore' && <RestorePage session={session} namespace={route.namespace} name={route.name} />}
        {route.page === 'resources' && <ResourcesPage session={session} />}
        {route.page === 'editResource' &&
          (route.name === undefined ? (
            <ResourceEditorPage key={route.plural} session={session} plural={route.plural} namespace={route.namespace} />
          ) : (
            <ResourceEditorPage key={`${route.plural}/${route.namespace}/${route.name}`} session={session} plural={route.plural} namespace={route.namespace} name={route.name} />
          ))}
        {route.page === 'admin' && <AdminPage session={session} tab={route.tab} />}
        {route.page === 'newCluster' && <ClusterEditorPage session={session} />}
        {route.page === 'editCluster' && (
          <ClusterEditorPage key={`${route.namespace}/${route.name}`} session={session} namespace={route.namespace} name={route.name} />
        )}
        {route.page === 'notFound' && (
          <>
            <h1>Not found</h1>
            <p>
              Nothing at <code>{route.path}</code>. <a href={BASE}>All clusters</a>
            </p>
          </>
        )}
      </main>
    </>
  );
}
