// The CRI socket: `unix:///run/berth/berth.sock`, mode 0600 (only root may drive the runtime, as
// with containerd's and CRI-O's sockets). A socket left by a berthd that died is replaced; one that
// a live server answers on is not, and neither is anything that is not a socket.

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { AlreadyExistsError, InvalidArgumentError, isErrno } from '../errdefs/index.ts';

/** How long to wait when asking an existing socket whether a server is behind it. */
export const SOCKET_PROBE_TIMEOUT_MS = 1000;

/** `unix:///abs/path` or a plain absolute path → the path. Other schemes are refused. */
export function parseListenAddress(address: string): string {
  const path = address.startsWith('unix://') ? address.slice('unix://'.length) : address;
  if (!isAbsolute(path) || path.includes('\0')) {
    throw new InvalidArgumentError(
      `listen address ${JSON.stringify(address)}: want unix:///absolute/path (the CRI is served on a unix socket)`,
    );
  }
  return path;
}

/** True when a server accepts connections on the socket at `path`. */
export function socketAnswers(path: string, timeoutMs = SOCKET_PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(true); // it accepted the connection attempt but is slow: treat it as alive
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      if (isErrno(err, 'ECONNREFUSED') || isErrno(err, 'ENOENT')) resolve(false);
      else reject(err);
    });
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (!isSocket) {
    throw new AlreadyExistsError(`${path} exists and is not a socket; refusing to replace it`);
  }
  if (await socketAnswers(path)) {
    throw new AlreadyExistsError(`${path}: another server is listening on it`, {
      hint: 'stop the other berthd, or pass --listen unix:///another/path',
    });
  }
  // Race: two berthds starting at once could both find the socket stale; the later unlink would
  // remove the earlier one's socket. A lock file in the state directory will close it when berthd
  // keeps state there (issue 5, recovery).
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/**
 * Binds `server` to the unix socket `path`, created with mode 0600 (the umask is narrowed while
 * the socket is bound, so it is never reachable with wider permissions; the chmod afterwards makes
 * sure). Missing parent directories are created with mode 0711, as /run/containerd is.
 */
export async function listenUnix(server: Server, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  await removeStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    // listen() on a path binds synchronously (no lookup), so the narrowed umask covers the bind.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, 0o600);
}
