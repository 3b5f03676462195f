import { readFileSync } from 'node:fs';

/**
 * The process's limit on open files (RLIMIT_NOFILE, soft), from /proc/self/limits; undefined
 * where that file does not exist (not Linux) or says "unlimited". Node has no getrlimit.
 */
export const openFileLimit = (limitsFile = '/proc/self/limits'): number | undefined => {
  let limits: string;
  try {
    limits = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits)?.[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
};

/**
 * Descriptors kept back from client connections for everything else a process opens: database
 * and Redis connections, log and data files, PGlite's files, /proc reads of the health checks.
 */
export const RESERVED_FILES = 1_000;

/**
 * How many client connections (HTTP keep-alive and WebSocket) a server accepts by default: the
 * open-file limit less the reserve. Past it, a new connection is closed at once; without a cap, a
 * fleet of WebSockets could take the last descriptor and the next file the process opens (a
 * /proc read for its memory figure, say) would throw EMFILE and end it.
 */
export const defaultMaxConnections = (limit: number | undefined): number | undefined =>
  limit === undefined ? undefined : Math.max(limit - RESERVED_FILES, Math.ceil(limit / 2));
