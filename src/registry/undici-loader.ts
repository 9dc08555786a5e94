// undici, loaded on the first request rather than when the registry module is imported: it is the
// largest module berth loads (~60 ms of a CLI start-up here), and most commands that open the image
// services (`run` of a present image, `ps`, `images`) never talk to a registry.

import type * as Undici from 'undici';
import { InternalError } from '../errdefs/index.ts';

let loaded: typeof Undici | undefined;

export async function loadUndici(): Promise<typeof Undici> {
  if (loaded === undefined) {
    const m = await import('undici');
    // From the sources Node gives undici's named exports; from the bundle (scripts/build.ts) a
    // CommonJS module's exports arrive as `default` only.
    loaded = typeof m.Agent === 'function' ? m : (m as unknown as { default: typeof Undici }).default;
  }
  return loaded;
}

/** undici after loadUndici() has resolved once; code on the request path only. */
export function undiciNow(): typeof Undici {
  if (loaded === undefined) throw new InternalError('registry: undici used before it was loaded');
  return loaded;
}
