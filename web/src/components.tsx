// Small pieces shared by the pages.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { FieldError } from './api';
import type { Check } from './permissions';
import type { Health } from './health';

export function HealthBadge({ health, label }: { health: Health; label: string }) {
  return (
    <span class={`badge badge-${health}`} data-testid="health">
      {label}
    </span>
  );
}

// A control the caller's role may not allow: disabled, and it says which permission is missing.
export function GuardedButton(props: {
  check: Check;
  onClick: () => void;
  children: ComponentChildren;
  danger?: boolean;
  disabled?: boolean; // for another reason than a permission (busy, not checked yet)
  testId: string;
}) {
  const { check, onClick, children, danger, disabled, testId } = props;
  const missingId = `${testId}-missing`;
  return (
    <span class="guarded">
      <button
        type="button"
        class={danger ? 'danger' : ''}
        disabled={!check.allowed || disabled === true}
        aria-describedby={check.allowed ? undefined : missingId}
        title={check.allowed ? undefined : `missing permission: ${check.permission}`}
        data-testid={testId}
        onClick={onClick}
      >
        {children}
      </button>
      {!check.allowed && (
        <span class="missing" id={missingId} data-testid={missingId}>
          needs {check.permission}
        </span>
      )}
    </span>
  );
}

export function CopyButton({ text, testId }: { text: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="small"
      data-testid={testId}
      onClick={async () => {
        await navigator.clipboard.writeText(text);
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

// Asks before an action; with `typed`, the user must type that text (a cluster's name) to confirm.
export function ConfirmDialog(props: {
  title: string;
  body: ComponentChildren;
  confirmLabel: string;
  typed?: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const ready = props.typed === undefined || typed === props.typed;
  return (
    <dialog ref={dialog} onCancel={props.onCancel} data-testid="confirm-dialog">
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (ready) props.onConfirm();
        }}
      >
        <h2>{props.title}</h2>
        <div>{props.body}</div>
        {props.typed !== undefined && (
          <label>
            Type <code>{props.typed}</code> to confirm
            <input
              value={typed}
              autoFocus
              onInput={(event) => setTyped((event.target as HTMLInputElement).value)}
              data-testid="confirm-typed"
            />
          </label>
        )}
        <div class="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={!ready} data-testid="confirm-ok">
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid="error">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

// The server's errors (a 422's `errors`) that are not shown at a form field: each with the path it names.
export function FieldErrors({ errors }: { errors: FieldError[] }) {
  if (errors.length === 0) return null;
  return (
    <ul class="error field-errors" role="alert" data-testid="other-errors">
      {errors.map((error) => (
        <li>
          <code>{error.path}</code>: {error.message}
        </li>
      ))}
    </ul>
  );
}
