// Paths of the app under /ui/ (the controller answers index.html for each, so a deep link works).
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui/';

export type AdminTab = 'users' | 'tokens' | 'audit';
export type ClusterSubpage = 'logs' | 'backups' | 'metrics' | 'operations' | 'restore';

export type Route =
  | { page: 'overview' }
  | { page: 'login' }
  | { page: 'cluster'; namespace: string; name: string }
  | { page: ClusterSubpage; namespace: string; name: string }
  | { page: 'resources' }
  | { page: 'editResource'; plural: string; namespace: string; name?: string }
  | { page: 'admin'; tab: AdminTab }
  | { page: 'newCluster' }
  | { page: 'editCluster'; namespace: string; name: string }
  | { page: 'notFound'; path: string };

export function parse(pathname: string): Route {
  if (pathname === BASE || pathname === '/ui') return { page: 'overview' };
  if (pathname === `${BASE}login`) return { page: 'login' };
  if (pathname === `${BASE}new/sgcluster`) return { page: 'newCluster' };
  if (pathname === `${BASE}configurations`) return { page: 'resources' };
  const admin = /^\/ui\/admin(?:\/(users|tokens|audit))?\/?$/.exec(pathname);
  if (admin) return { page: 'admin', tab: (admin[1] as AdminTab | undefined) ?? 'users' };
  const edit = /^\/ui\/namespaces\/([^/]+)\/sgclusters\/([^/]+)\/edit\/?$/.exec(pathname);
  if (edit && edit[1] && edit[2])
    return { page: 'editCluster', namespace: decodeURIComponent(edit[1]), name: decodeURIComponent(edit[2]) };
  const cluster = /^\/ui\/namespaces\/([^/]+)\/sgclusters\/([^/]+)(?:\/(logs|backups|metrics|operations|restore))?\/?$/.exec(pathname);
  if (cluster && cluster[1] && cluster[2]) {
    const namespace = decodeURIComponent(cluster[1]);
    const name = decodeURIComponent(cluster[2]);
    const sub = cluster[3] as ClusterSubpage | undefined;
    return sub ? { page: sub, namespace, name } : { page: 'cluster', namespace, name };
  }
  // Another kind's editor: .../{plural}/new, .../{plural}/{name}/edit.
  const resource = /^\/ui\/namespaces\/([^/]+)\/([a-z]+)\/(?:new|([^/]+)\/edit)\/?$/.exec(pathname);
  if (resource && resource[1] && resource[2] && resource[2] !== 'sgclusters') {
    const namespace = decodeURIComponent(resource[1]);
    return resource[3]
      ? { page: 'editResource', plural: resource[2], namespace, name: decodeURIComponent(resource[3]) }
      : { page: 'editResource', plural: resource[2], namespace };
  }
  return { page: 'notFound', path: pathname };
}

export function clusterUrl(namespace: string, name: string, sub?: ClusterSubpage): string {
  const url = `${BASE}namespaces/${encodeURIComponent(namespace)}/sgclusters/${encodeURIComponent(name)}`;
  return sub ? `${url}/${sub}` : url;
}

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

// Links inside the app change the history instead of reloading; modified clicks open as usual.
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || anchor.target) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}
