import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { logIn, type Session } from '../session';

export function LoginPage({ onLoggedIn }: { onLoggedIn: (session: Session) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main class="login">
      <form
        data-testid="login-form"
        onSubmit={async (event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget as HTMLFormElement);
          setBusy(true);
          setError('');
          try {
            onLoggedIn(await logIn(String(form.get('username') ?? ''), String(form.get('password') ?? '')));
          } catch (caught) {
            setError(
              caught instanceof ApiError && caught.status === 401
                ? 'Wrong user name or password.'
                : caught instanceof Error
                  ? caught.message
                  : String(caught),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>pgstack</h1>
        <label>
          User name
          <input name="username" autocomplete="username" required autoFocus data-testid="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required data-testid="password" />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy} data-testid="login-submit">
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p class="hint">
          No password yet? The admin who ran <code>pgstack up</code> sets one with <code>pgstack user set-password NAME</code>.
        </p>
      </form>
    </main>
  );
}
