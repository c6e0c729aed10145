// The console's only way to the controller: the public REST API (docs/api.md), absolute paths, the
// session cookie sent by the browser, and on every mutation the header a cross-site form cannot set.

// One entry of a 422's `errors`: `path` is the field it names ("spec.instances").
export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly missingPermission?: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

export type Json = Record<string, unknown>;

// Called when the session is gone (401): the app shows the login page.
let onUnauthenticated: () => void = () => {};
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export async function call<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, body === undefined ? undefined : { text: JSON.stringify(body), type: 'application/json' });
}

// A body as the user wrote it (a manifest in YAML or JSON).
export async function send<T = Json>(method: string, path: string, body?: { text: string; type: string }): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = body.type;
  if (method !== 'GET' && method !== 'HEAD') headers['X-Pgstack-Csrf'] = '1';
  const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) init.body = body.text;
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(response.status, `${method} ${path}: HTTP ${response.status}, not JSON`);
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as Json;
    if (response.status === 401 && path !== '/auth/login') onUnauthenticated();
    const missing = problem['missingPermission'] as Json | undefined;
    const errors = Array.isArray(problem['errors']) ? (problem['errors'] as Json[]) : [];
    throw new ApiError(
      response.status,
      String(problem['detail'] ?? problem['title'] ?? `HTTP ${response.status}`),
      missing ? `${missing['verb']} ${missing['resource']}` : undefined,
      errors.map((error) => ({ path: String(error['path'] ?? ''), message: String(error['message'] ?? '') })),
    );
  }
  return parsed as T;
}

export function clusterPath(namespace: string, name?: string): string {
  const base = `/apis/stackgres.io/v1/namespaces/${encodeURIComponent(namespace)}/sgclusters`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}
