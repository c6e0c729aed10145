// The restore wizard's pure decisions (src/recovery-window.ts), without a browser: a window with a gap
// (WAL missing from the repository) as GET .../recoverywindow returns it.
import { expect, test } from '@playwright/test';
import { backupFor, gapBands, outOfGaps, seconds, unreachable, type RecoveryWindow } from '../src/recovery-window';

const window: RecoveryWindow = {
  earliest: '2026-12-08T00:00:00Z',
  latest: '2026-12-08T10:00:00Z',
  latestReason: 'now',
  backups: [
    {
      name: 'b1',
      finishedAt: '2026-12-08T00:00:00Z',
      reachableUntil: '2026-12-08T04:00:00Z',
      reachableReason: 'WAL segment ********0000000000000010 (on no timeline) is missing from the repository',
    },
    { name: 'b2', finishedAt: '2026-12-08T05:00:00Z' },
  ],
  gaps: [{ from: '2026-12-08T04:00:00Z', to: '2026-12-08T05:00:00Z', reason: 'WAL segment ********0000000000000010 is missing' }],
};
const earliest = seconds(window.earliest!);
const latest = seconds(window.latest!);

test('a time inside the gap is refused with its reason; on either side it starts from the backup that reaches it', () => {
  expect(unreachable(window, '2026-12-08T04:30:00Z')).toContain('inside a gap: WAL segment');
  expect(unreachable(window, '2026-12-08T03:59:59Z')).toBeUndefined();
  expect(backupFor(window, '2026-12-08T03:59:59Z')).toBe('b1');
  expect(backupFor(window, '2026-12-08T05:00:01Z')).toBe('b2');
  expect(unreachable(window, '2026-12-07T23:00:00Z')).toContain('before the oldest backup finished');
  expect(unreachable(window, 'yesterday')).toContain('is not a time');
});

test('the slider never rests inside a gap: it moves to the nearer reachable second', () => {
  expect(outOfGaps(window, seconds('2026-12-08T04:10:00Z'), earliest, latest)).toBe(seconds('2026-12-08T03:59:59Z'));
  expect(outOfGaps(window, seconds('2026-12-08T04:50:00Z'), earliest, latest)).toBe(seconds('2026-12-08T05:00:01Z'));
  expect(outOfGaps(window, seconds('2026-12-08T02:00:00Z'), earliest, latest)).toBe(seconds('2026-12-08T02:00:00Z'));
  // A gap at the window's start: only after it is reachable.
  const startsWithGap = { ...window, gaps: [{ from: window.earliest!, to: '2026-12-08T01:00:00Z', reason: 'r' }] };
  expect(outOfGaps(startsWithGap, earliest, earliest, latest)).toBe(seconds('2026-12-08T01:00:01Z'));
});

test('the gaps are drawn at their place on the track, a short one still visible', () => {
  const [band] = gapBands(window, earliest, latest);
  expect(band?.left).toBeCloseTo(40);
  expect(band?.width).toBeCloseTo(10);
  const short = { ...window, gaps: [{ from: '2026-12-08T04:00:00Z', to: '2026-12-08T04:00:01Z', reason: 'r' }] };
  expect(gapBands(short, earliest, latest)[0]?.width).toBeGreaterThanOrEqual(0.4);
  expect(gapBands(window, latest, latest)).toEqual([]);
});
