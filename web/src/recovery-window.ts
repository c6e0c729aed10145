// What a restore can reach (GET .../recoverywindow, docs/api.md) and the wizard's pure decisions over it:
// which backup a time starts from, why a time cannot be reached, where the gaps lie on the slider and where
// a slider position inside one moves. No DOM and no requests: e2e/recovery-window.spec.ts tests them.

export interface RecoveryWindow {
  earliest: string | null;
  latest: string | null;
  latestReason: string;
  backups: {
    name: string;
    finishedAt: string;
    type?: string;
    timeline?: number;
    verification?: string | null;
    // WAL missing from the repository after it ends what it can reach (null: the window's end).
    reachableUntil?: string | null;
    reachableReason?: string;
  }[];
  gaps: { from: string; to: string; reason: string }[];
}

export const seconds = (text: string) => Math.floor(new Date(text).getTime() / 1000);
export const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

// The backup a restore to `at` starts from: the newest that finished at or before it and whose WAL
// reaches it. Without a time (everything archived): the newest, replayed as far as its WAL goes.
export function backupFor(range: RecoveryWindow, at: string | undefined): string | undefined {
  const target = at === undefined ? Number.POSITIVE_INFINITY : seconds(at);
  let chosen: string | undefined;
  for (const backup of range.backups) {
    const reaches = at === undefined || !backup.reachableUntil || target < seconds(backup.reachableUntil);
    if (seconds(backup.finishedAt) <= target && reaches) chosen = backup.name;
  }
  return chosen;
}

// Why a typed time cannot be reached, or undefined when it can.
export function unreachable(range: RecoveryWindow, at: string): string | undefined {
  const target = seconds(at);
  if (!Number.isFinite(target)) return `"${at}" is not a time: write it as 2026-11-24T01:30:00Z`;
  if (!range.earliest || !range.latest) return 'nothing can be restored yet';
  if (target < seconds(range.earliest)) return `before the oldest backup finished (${range.earliest})`;
  if (target > seconds(range.latest)) return `after the latest reachable time (${range.latest}): ${range.latestReason}`;
  const gap = range.gaps.find((entry) => target >= seconds(entry.from) && target <= seconds(entry.to));
  return gap ? `inside a gap: ${gap.reason}` : undefined;
}

// The gaps as bands on the slider's track: left and width in percent of the window (at least a sliver, so
// a short gap in a long window still shows).
export function gapBands(range: RecoveryWindow, earliest: number, latest: number): { left: number; width: number; title: string }[] {
  const span = latest - earliest;
  if (span <= 0) return [];
  return range.gaps.map((gap) => {
    const from = Math.max(seconds(gap.from), earliest);
    const to = Math.min(seconds(gap.to), latest);
    return {
      left: ((from - earliest) / span) * 100,
      width: Math.max(((to - from) / span) * 100, 0.4),
      title: `not reachable from ${gap.from} to ${gap.to}: ${gap.reason}`,
    };
  });
}

// A slider position inside a gap moves to the nearer reachable second beside it: the slider never offers
// a time that cannot be reached (a typed one is refused with the reason instead).
export function outOfGaps(range: RecoveryWindow, value: number, earliest: number, latest: number): number {
  const gap = range.gaps.find((entry) => value >= seconds(entry.from) && value <= seconds(entry.to));
  if (!gap) return value;
  const before = seconds(gap.from) - 1;
  const after = seconds(gap.to) + 1;
  const beforeFits = before >= earliest;
  const afterFits = after <= latest;
  if (beforeFits && (!afterFits || value - before <= after - value)) return before;
  return afterFits ? after : value;
}

