// libpq connection URIs from a cluster's status, as `pgstack connstr` builds them
// (src/cli/api_client.cpp): pgstack-proxy's endpoints first, else the members' PgBouncer, else
// Postgres; the user, database and password only once the credentials were asked for.
import type { Endpoints } from './types';

export interface Credentials {
  user: string;
  password: string;
  database: string;
}

function hostList(endpoints: string[]): string {
  return endpoints.join(',');
}

function userInfo(credentials: Credentials | undefined): string {
  if (!credentials) return '';
  return `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`;
}

export function connectionUris(endpoints: Endpoints | undefined, credentials?: Credentials): { label: string; uri: string }[] {
  if (!endpoints) return [];
  const database = credentials ? encodeURIComponent(credentials.database) : '';
  const out: { label: string; uri: string }[] = [];
  const add = (label: string, hosts: string[] | undefined, attributes: string) => {
    if (!hosts?.length) return;
    const query = attributes ? `?${attributes}` : '';
    out.push({ label, uri: `postgresql://${userInfo(credentials)}${hostList(hosts)}/${database}${query}` });
  };
  if (endpoints.proxyReadWrite?.length) {
    add('read-write (proxy)', endpoints.proxyReadWrite, 'target_session_attrs=read-write');
    add('read-only (proxy)', endpoints.proxyReadOnly, ''); // the proxy routes to replicas itself
  } else {
    add('read-write', endpoints.readWrite, 'target_session_attrs=read-write');
    add('read-only', endpoints.readOnly, 'target_session_attrs=prefer-standby');
  }
  add('read-write (Postgres, no pooler)', endpoints.readWriteDirect, 'target_session_attrs=read-write');
  return out;
}

// The application user from GET .../credentials ({"application": {"username","password","database"}}).
export function applicationCredentials(body: Record<string, unknown>): Credentials | undefined {
  const application = body['application'] as Record<string, unknown> | undefined;
  if (!application) return undefined;
  return {
    user: String(application['username'] ?? ''),
    password: String(application['password'] ?? ''),
    database: String(application['database'] ?? ''),
  };
}
