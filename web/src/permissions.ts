// What the caller may do, from GET /auth/rbac/can-i (the server's own evaluation of the caller's roles,
// per namespace they are bound in, "*" for all). The server refuses anyway; this only disables controls
// and names what is missing, in the words of the API's 403 (auth::describe).
import type { PermissionList } from './types';

export interface Check {
  allowed: boolean;
  permission: string; // "create sgclusters/switchover in namespace \"default\""
}

export function check(list: PermissionList | undefined, verb: string, resource: string, namespace: string): Check {
  const permission = `${verb} ${resource} in namespace "${namespace}"`;
  if (!list) return { allowed: false, permission };
  const allowed = list.namespaced.some(
    (entry) =>
      (entry.namespace === '*' || entry.namespace === namespace) &&
      (entry.resources[resource] ?? []).includes(verb),
  );
  return { allowed, permission };
}
