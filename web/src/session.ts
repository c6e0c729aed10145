// Who is logged in and what they may do; loaded once after login and after a reload.
import { call } from './api';
import type { Identity, PermissionList } from './types';

export interface Session {
  identity: Identity;
  permissions: PermissionList;
}

export async function loadSession(): Promise<Session> {
  const [identity, permissions] = await Promise.all([
    call<Identity>('GET', '/auth/whoami'),
    call<PermissionList>('GET', '/auth/rbac/can-i'),
  ]);
  return { identity, permissions };
}

export async function logIn(username: string, password: string): Promise<Session> {
  await call('POST', '/auth/login', { username, password });
  return loadSession();
}

export async function logOut(): Promise<void> {
  await call('POST', '/auth/logout');
}

// The namespaces whose clusters the overview lists: all of them ("_all") for a binding to every
// namespace, else each bound one (a namespace-bound user may not list "_all").
export function listedNamespaces(identity: Identity): string[] {
  if (identity.roles.some((binding) => binding.namespace === '*')) return ['_all'];
  return [...new Set(identity.roles.map((binding) => binding.namespace))].sort();
}
