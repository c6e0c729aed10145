// A cluster's health in one word and the reasons behind it, from its status (pure).
import type { Cluster, Condition, Member } from './types';

export type Health = 'ready' | 'degraded' | 'down' | 'pending';

export interface HealthSummary {
  health: Health;
  label: string;
  reasons: string[]; // why, one line each: the Ready condition's message, members not running, alerts
}

const RUNNING_STATES = new Set(['running', 'streaming']);

export function condition(cluster: Cluster, type: string): Condition | undefined {
  return cluster.status?.conditions?.find((c) => c.type === type);
}

export function membersNotRunning(members: Member[] | undefined): Member[] {
  return (members ?? []).filter((m) => !RUNNING_STATES.has(m.state ?? ''));
}

export function summarize(cluster: Cluster): HealthSummary {
  const status = cluster.status;
  if (!status || !status.conditions) return { health: 'pending', label: 'Pending', reasons: ['no status observed yet'] };
  const ready = condition(cluster, 'Ready');
  const reasons: string[] = [];
  const notRunning = membersNotRunning(status.members);
  for (const member of notRunning) reasons.push(`${member.name} is ${member.state ?? 'unknown'}`);
  const alerts = status.alerts ?? [];
  if (alerts.length)
    reasons.push(`${alerts.length} alert${alerts.length > 1 ? 's' : ''} firing: ${alerts.map((a) => a.name).join(', ')}`);
  // An info alert (PostgresRestarted, PostgresPendingRestart) tells of something that happened or waits,
  // not of something wrong now: it stays in the cluster page's list of alerts, and a Ready cluster stays Ready.
  const serious = alerts.filter((alert) => alert.severity !== 'info');
  if (ready?.status === 'True') {
    if (notRunning.length || serious.length) return { health: 'degraded', label: 'Degraded', reasons };
    return { health: 'ready', label: 'Ready', reasons: ready.message ? [ready.message] : [] };
  }
  if (ready?.message) reasons.unshift(ready.message);
  const primaryUp = (status.members ?? []).some((m) => m.role === 'primary' && RUNNING_STATES.has(m.state ?? ''));
  if (!ready) return { health: 'pending', label: 'Pending', reasons };
  return { health: primaryUp ? 'degraded' : 'down', label: primaryUp ? 'Degraded' : 'Not ready', reasons };
}
