// The kinds besides SGCluster that the console lists, creates, edits and deletes with the same editor and
// the server's dry run (docs/api.md). Secrets are Kubernetes' core kind: key names only, no dry run.

export interface KindInfo {
  kind: string;
  plural: string;
  apiVersion: string; // as src/model/kinds.cpp registers it
  label: string;
  // What a new one starts from in the editor: the smallest manifest the server accepts.
  template: (namespace: string) => Record<string, unknown>;
}

const meta = (namespace: string) => ({ name: '', namespace });

export const KINDS: KindInfo[] = [
  {
    kind: 'SGInstanceProfile',
    plural: 'sginstanceprofiles',
    apiVersion: 'stackgres.io/v1',
    label: 'Instance profiles',
    template: (ns) => ({ apiVersion: 'stackgres.io/v1', kind: 'SGInstanceProfile', metadata: meta(ns), spec: { cpu: '1', memory: '2Gi' } }),
  },
  {
    kind: 'SGPostgresConfig',
    plural: 'sgpgconfigs',
    apiVersion: 'stackgres.io/v1',
    label: 'Postgres configurations',
    template: (ns) => ({
      apiVersion: 'stackgres.io/v1',
      kind: 'SGPostgresConfig',
      metadata: meta(ns),
      spec: { postgresVersion: '15', 'postgresql.conf': { work_mem: '16MB' } },
    }),
  },
  {
    kind: 'SGPoolingConfig',
    plural: 'sgpoolconfigs',
    apiVersion: 'stackgres.io/v1',
    label: 'Pooling configurations',
    template: (ns) => ({
      apiVersion: 'stackgres.io/v1',
      kind: 'SGPoolingConfig',
      metadata: meta(ns),
      spec: { pgBouncer: { 'pgbouncer.ini': { pgbouncer: { pool_mode: 'transaction', default_pool_size: '20' } } } },
    }),
  },
  {
    kind: 'SGObjectStorage',
    plural: 'sgobjectstorages',
    apiVersion: 'stackgres.io/v1beta1',
    label: 'Object storages',
    template: (ns) => ({
      apiVersion: 'stackgres.io/v1beta1',
      kind: 'SGObjectStorage',
      metadata: meta(ns),
      spec: { type: 's3Compatible', s3Compatible: { bucket: '', endpoint: '', awsCredentials: { secretKeySelectors: {} } } },
    }),
  },
  {
    kind: 'SGScript',
    plural: 'sgscripts',
    apiVersion: 'stackgres.io/v1',
    label: 'Scripts',
    template: (ns) => ({
      apiVersion: 'stackgres.io/v1',
      kind: 'SGScript',
      metadata: meta(ns),
      spec: { scripts: [{ name: 'create-table', database: 'postgres', script: 'CREATE TABLE IF NOT EXISTS t (id int)' }] },
    }),
  },
];

export const SECRETS_PLURAL = 'secrets';

export function kindOf(plural: string): KindInfo | undefined {
  return KINDS.find((info) => info.plural === plural);
}

export function resourcePath(info: KindInfo, namespace: string, name?: string): string {
  const base = `/apis/${info.apiVersion}/namespaces/${encodeURIComponent(namespace)}/${info.plural}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

export function secretPath(namespace: string, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}
