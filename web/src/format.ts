// Numbers and times as the console shows them. Times come from the API in UTC (RFC 3339) and are shown
// in UTC or in the browser's time zone, as the user chose (kept in localStorage).

const ZONE_KEY = 'pgstack.timeZone';
export type TimeZoneChoice = 'utc' | 'local';

export function timeZone(): TimeZoneChoice {
  return localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'utc';
}

export function setTimeZone(choice: TimeZoneChoice): void {
  localStorage.setItem(ZONE_KEY, choice);
}

export function bytes(value: number | undefined): string {
  if (value === undefined || value === null) return '–';
  if (value < 1024) return `${value} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${scaled.toFixed(scaled < 10 ? 1 : 0)} ${units[unit]}`;
}

export function utc(value: string | undefined): string {
  if (!value) return '–';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  if (timeZone() === 'utc') return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ` +
    `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}

export function ago(value: string | undefined, now = Date.now()): string {
  if (!value) return '';
  const seconds = Math.round((now - new Date(value).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 90) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}
