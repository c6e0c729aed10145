// The shapes the console reads, as docs/api.md gives them (model::ClusterStatus on the server).

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Member {
  name: string;
  host?: string;
  role?: string;
  state?: string;
  timeline?: number;
  lagBytes?: number;
  pendingRestart?: boolean;
  endpoints?: { postgres?: string; pgbouncer?: string; patroni?: string };
}

export interface Endpoints {
  readWrite?: string[];
  readOnly?: string[];
  readWriteDirect?: string[];
  readOnlyDirect?: string[];
  proxyReadWrite?: string[];
  proxyReadOnly?: string[];
}

export interface Alert {
  name: string;
  severity?: string;
  subject?: string;
  since?: string;
}

// What the leading controller last read from Prometheus for the cluster, or why there is nothing.
export interface StatusMetrics {
  tps?: number | null;
  connections?: number | null;
  maxConnections?: number | null;
  lagSeconds?: Record<string, number | null>;
  observedAt?: string;
  reason?: string;
}

export interface ClusterStatus {
  postgresVersion?: string;
  instances?: number;
  observedAt?: string;
  primary?: string;
  members?: Member[];
  endpoints?: Endpoints;
  conditions?: Condition[];
  backups?: { last?: string; lastCompletedAt?: string; count?: number };
  alerts?: Alert[];
  metrics?: StatusMetrics;
}

export interface Cluster {
  metadata: { name: string; namespace: string; resourceVersion?: string; creationTimestamp?: string };
  spec: { instances?: number; postgres?: { version?: string } };
  status?: ClusterStatus;
}

export interface RoleBinding {
  role: string;
  namespace: string;
}

export interface Identity {
  user: string;
  roles: RoleBinding[];
}

export interface PermissionList {
  unnamespaced: Record<string, string[]>;
  namespaced: { namespace: string; resources: Record<string, string[]> }[];
}
