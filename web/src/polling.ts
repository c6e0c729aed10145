import { useEffect, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  loadedAt: number | undefined;
  reload: () => void;
}

// Loads now and every `everyMs` while the page is open (and visible); the last good data stays on
// screen when a refresh fails, with the error beside it.
export function usePolling<T>(load: () => Promise<T>, everyMs: number, key: string): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loadedAt, setLoadedAt] = useState<number | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, [key]);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
        setLoadedAt(Date.now());
      },
      (caught: unknown) => live && setError(caught),
    );
    const timer = setTimeout(() => {
      if (document.visibilityState !== 'hidden') setTick((t) => t + 1);
      else setTimeout(() => setTick((t) => t + 1), everyMs);
    }, everyMs);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, tick]);
  return { data, error, loadedAt, reload: () => setTick((t) => t + 1) };
}
