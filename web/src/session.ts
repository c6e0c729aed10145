// Who is logged in and what they may do; loaded once after login and after a reload.
import { ApiError, call } from './api';
import type { Identity, PermissionList } from './types';

export interface Session {
  identity: Identity;
  permissions: PermissionList;
}

// The session cookie is HttpOnly, so the page cannot see whether it has one. This note (no secret in it)
// says that it logged in and has not logged out or been refused since: without it the login page shows
// at once, and a visitor's console logs no 401 from asking the API who they are.
const kLoggedInNote = 'pgstack.loggedIn';

export function forgetLogin(): void {
  localStorage.removeItem(kLoggedInNote);
}

export async function loadSession(): Promise<Session> {
  if (localStorage.getItem(kLoggedInNote) === null) throw new ApiError(401, 'not logged in');
  // One after the other: an expired session is one 401, not two.
  const identity = await call<Identity>('GET', '/auth/whoami');
  const permissions = await call<PermissionList>('GET', '/auth/rbac/can-i');
  return { identity, permissions };
}

export async function logIn(username: string, password: string): Promise<Session> {
  await call('POST', '/auth/login', { username, password });
  localStorage.setItem(kLoggedInNote, '1');
  return loadSession();
}

export async function logOut(): Promise<void> {
  forgetLogin();
  await call('POST', '/auth/logout');
}

// The namespaces whose clusters the overview lists: all of them ("_all") for a binding to every
// namespace, else each bound one (a namespace-bound user may not list "_all").
export function listedNamespaces(identity: Identity): string[] {
  if (identity.roles.some((binding) => binding.namespace === '*')) return ['_all'];
  return [...new Set(identity.roles.map((binding) => binding.namespace))].sort();
}
